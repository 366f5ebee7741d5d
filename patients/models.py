import unicodedata
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.dates import validate_day

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
    birth_date = models.DateField(_("birth date"), validators=[validate_day])
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    diabetes_type = models.CharField(_("diabetes type"), max_length=8, choices=DiabetesType.choices)
    diagnosis_date = models.DateField(
        _("diagnosis date"), null=True, blank=True, validators=[validate_day]
    )
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("patient")

    def __str__(self) -> str:
        return f"{self.name} ({self.mrn})"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def care_consent_withdrawn(self) -> bool:
        """The patient's newest "care" consent decision is a withdrawal (shown to the team)."""
        latest = Consent.newest_first(self).filter(topic=Consent.Topic.CARE).first()
        return latest is not None and not latest.given


class Consent(models.Model):
    """One consent decision by (or for) a patient: what, which wording, given or withdrawn,
    when and by whom. Append-only: a change of mind is a new row, so the history stays; the
    patient's current answer on a topic is the newest row (``Consent.current_for``).

    ``text`` keeps the exact words the person agreed to (as shown, in their language), beside
    the ``version`` of that wording (``patients.consent.TOPICS``). Withdrawing is recorded and
    shown to the care team; it never erases data (erasure is the admin's "erase on request",
    ``workspace.erasure.patient_erase``). Withdrawing "follower_apps" also revokes the
    patient's read-scope device tokens (``patients.consent.consent_record``).
    """

    class Topic(models.TextChoices):
        CARE = "care", _("Processing my health data for my care")
        FOLLOWER_APPS = "follower_apps", _("Sharing my glucose data with follower apps I choose")
        REMOTE_MONITORING = "remote_monitoring", _("Remote monitoring of my glucose by my clinic")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    topic = models.CharField(_("what"), max_length=20, choices=Topic.choices)
    version = models.CharField(_("version of the wording"), max_length=20)
    text = models.TextField(_("wording agreed to"))
    given = models.BooleanField(_("given"), help_text="False: withdrawn.")
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(_("by"), max_length=150, blank=True)  # kept if the account goes

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("consent")
        indexes = [models.Index(fields=["patient", "topic", "-at"], name="consent_latest")]

    def __str__(self) -> str:
        state = "given" if self.given else "withdrawn"
        return f"{self.patient_id} {self.topic} v{self.version} {state} {self.at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Consent records are append-only: record a new decision.")
        super().save(*args, **kwargs)

    @classmethod
    def newest_first(cls, patient: Patient) -> models.QuerySet:
        """The patient's decisions, newest first: the first one on a topic is their current
        answer (the one rule, used by ``current_for`` and ``Patient.care_consent_withdrawn``)."""
        return cls.objects.filter(patient=patient).order_by("-at", "-pk")

    @classmethod
    def current_for(cls, patient: Patient) -> dict[str, "Consent"]:
        """The newest decision per topic: ``{"care": <Consent>, ...}`` (missing: never asked)."""
        current: dict[str, Consent] = {}
        for consent in cls.newest_first(patient):
            current.setdefault(consent.topic, consent)
        return current
