"""People, care centers and the audit trail.

Care centers live here rather than in ``visits`` because membership of a center is what
decides which patients a staff member may see (see ``accounts.access``).
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class CareCenter(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")

    class Meta:
        ordering = ["name"]
        verbose_name = _("care center")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    class Role(models.TextChoices):
        PATIENT = "patient", _("Patient")
        ENDOCRINOLOGIST = "endocrinologist", _("Endocrinologist")
        STAFF = "staff", _("Care-center staff")
        ADMIN = "admin", _("Administrator")
        # Clinicians who take visits besides endocrinologists (see accounts.access).
        NURSE = "nurse", _("Nurse / diabetes educator")
        DIETITIAN = "dietitian", _("Dietitian")

    class Unit(models.TextChoices):
        MG_DL = "mg/dL", "mg/dL"
        MMOL_L = "mmol/L", "mmol/L"

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.PATIENT)
    care_center = models.ForeignKey(
        CareCenter,
        verbose_name=_("care center"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    unit = models.CharField(_("glucose unit"), max_length=10, choices=Unit.choices, default="mg/dL")
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_patient(self) -> bool:
        return self.role == self.Role.PATIENT

    @property
    def is_endocrinologist(self) -> bool:
        return self.role == self.Role.ENDOCRINOLOGIST

    @property
    def is_care_staff(self) -> bool:
        """Care-center staff, and the nurses/educators and dietitians who work there.

        Nurses and dietitians take visits but get staff's access to patient data (their
        center's patients, no clinical detail): see ``accounts.access``.
        """
        return self.role in (self.Role.STAFF, self.Role.NURSE, self.Role.DIETITIAN)

    @property
    def is_clinician(self) -> bool:
        """Someone visits can be booked with."""
        return self.role in (self.Role.ENDOCRINOLOGIST, self.Role.NURSE, self.Role.DIETITIAN)

    @property
    def is_admin_role(self) -> bool:
        return self.role == self.Role.ADMIN or self.is_superuser


class AuditEvent(models.Model):
    """One view or change of a patient's clinical data by someone other than the patient."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    patient = models.ForeignKey(
        "patients.Patient", null=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    action = models.CharField(max_length=20)  # "view" | "change" | "export" | "create"
    what = models.CharField(max_length=200)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["patient", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.what}"
