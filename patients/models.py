import unicodedata
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# An MRN ends up in file names, CSV cells and URLs: letters, digits, '-', '_' and '.' only.
validate_mrn = RegexValidator(
    r"\A[A-Za-z0-9][A-Za-z0-9._-]*\Z",
    _("An MRN may hold letters, digits, '-', '_' and '.' only, starting with a letter or digit."),
)
# Characters that reorder or hide text (Trojan Source, CVE-2021-42574) or are not text at all.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def validate_plain_text(value: str) -> None:
    """Names and similar one-line text: no control, bidi-override or private-use characters.

    >>> validate_plain_text("Zhang Wei 张伟")
    >>> validate_plain_text("Eve\u202egnp.exe")
    Traceback (most recent call last):
    ...
    django.core.exceptions.ValidationError: ['Remove control or direction-override characters.']
    """
    for char in value:
        if char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn"):
            raise ValidationError(_("Remove control or direction-override characters."))


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Patient(models.Model):
    class DiabetesType(models.TextChoices):
        T1 = "T1", _("Type 1")
        T2 = "T2", _("Type 2")
        GDM = "GDM", _("Gestational")
        OTHER = "other", _("Other")

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "O", _("Other")
        UNKNOWN = "U", _("Unknown")

    mrn = models.CharField(_("MRN"), max_length=40, unique=True, validators=[validate_mrn])
    name = models.CharField(_("name"), max_length=200, validators=[validate_plain_text])
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    diabetes_type = models.CharField(_("diabetes type"), max_length=8, choices=DiabetesType.choices)
    diagnosis_date = models.DateField(_("diagnosis date"), null=True, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    unit = models.CharField(
        _("glucose unit"),
        max_length=10,
        choices=[("mg/dL", "mg/dL"), ("mmol/L", "mmol/L")],
        default="mg/dL",
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient",
        verbose_name=_("patient's own account"),
    )
    care_center = models.ForeignKey(
        "accounts.CareCenter",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patients",
        verbose_name=_("care center"),
    )
    endocrinologists = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_patients",
        limit_choices_to={"role": "endocrinologist"},
        verbose_name=_("endocrinologists"),
    )
    consent_given_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("patient")

    def __str__(self) -> str:
        return f"{self.name} ({self.mrn})"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)
