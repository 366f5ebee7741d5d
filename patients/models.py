import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


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

    mrn = models.CharField(_("MRN"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
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
