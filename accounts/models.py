"""People, care centers and the audit trail.

Care centers live here rather than in ``visits`` because membership of a center is what
decides which patients a staff member may see (see ``accounts.access``).
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F
from django.utils.crypto import salted_hmac
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

    session_generation = models.PositiveIntegerField(
        default=0, editable=False, help_text="Raised by “sign out everywhere”."
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def _get_session_auth_hash(self, secret=None):
        """Sessions stay valid while the password *and* the session generation are unchanged:
        raising the generation ("sign out everywhere") ends every session of this account."""
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def sign_out_everywhere(self) -> None:
        User.objects.filter(pk=self.pk).update(session_generation=F("session_generation") + 1)
        self.refresh_from_db(fields=["session_generation"])

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


class AuditEventQuerySet(models.QuerySet):
    """The audit trail is append-only: the ORM refuses bulk changes (PostgreSQL refuses them
    too: a trigger, migration 0004, and the app role's grants, ``accounts/db_roles.py``)."""

    def update(self, **kwargs):
        raise PermissionError("The audit trail is append-only.")

    def delete(self):
        raise PermissionError("The audit trail is append-only.")


class AuditEvent(models.Model):
    """One sign-in, denied request, or view/change/export of a patient's clinical data by
    someone other than the patient.

    Who it was is stored as it was at the time (``username``, ``role``): deleting the account
    later leaves the row intact. ``user`` and ``patient`` are plain references without a
    database constraint, so deleting (or erasing) either never rewrites an audit row.
    """

    class Action(models.TextChoices):
        VIEW = "view", _("view")
        CHANGE = "change", _("change")
        CREATE = "create", _("create")
        EXPORT = "export", _("export")
        ERASE = "erase", _("erase")
        DENIED = "denied", _("denied")
        SIGN_IN = "sign-in", _("sign-in")
        SIGN_OUT = "sign-out", _("sign-out")

    class Outcome(models.TextChoices):
        OK = "ok", _("ok")
        DENIED = "denied", _("denied")
        FAILED = "failed", _("failed")

    at = models.DateTimeField(_("when (UTC)"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    username = models.CharField(_("who"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=20, blank=True)
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="audit_events",
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    what = models.CharField(_("what"), max_length=200)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.OK
    )
    ip = models.GenericIPAddressField(_("from (IP)"), null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["patient", "-at"])]
        verbose_name = _("audit event")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.what}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit trail is append-only.")
