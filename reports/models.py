"""Health reports: immutable snapshots of a period's glucose metrics, and their notifications.

A report stores what it showed — metrics, targets in force, evaluation, comparison, patterns,
the care plan version and the algorithm version — so it reads the same in five years whatever
changes in the code, the care plan or the readings (DESIGN §3: a recomputation makes a new
report). Only the clinician's note may change later (``Report.note_set``).

``care_plan_version_id`` is a plain BigInteger, not a foreign key: ``care_plans`` is built in
parallel and a report must stay valid (and migratable) even if a plan version is removed; the
page looks the version up by id when it shows the link.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ALGORITHM_VERSION = "glycemia-1"  # bump when glycemia changes what a report would show

# What may change after a report is made: the care team's internal note, and the message to
# the patient (two texts with two audiences: the patient never sees the internal note).
NOTE_FIELDS = frozenset(
    {"clinician_note", "note_by", "note_at", "patient_message", "message_by", "message_at"}
)


class ImmutableReportError(Exception):
    """Raised when code tries to change a stored report (other than its clinician's note)."""


class Report(models.Model):
    class Kind(models.TextChoices):
        CGM = "cgm", _("CGM")
        SMBG = "smbg", _("Finger-stick (SMBG)")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="reports"
    )
    period_start = models.DateField(_("period start"))  # local dates, inclusive
    period_end = models.DateField(_("period end"))
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    cadence_days = models.PositiveSmallIntegerField(default=14)  # cadence in force; due-check
    metrics = models.JSONField(default=dict)
    targets = models.JSONField(default=dict)
    goals = models.JSONField(default=list)
    comparison = models.JSONField(default=list)
    patterns = models.JSONField(default=list)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    care_plan_version_id = models.BigIntegerField(null=True, blank=True)
    care_plan_version_number = models.PositiveIntegerField(null=True, blank=True)
    algorithm_version = models.CharField(max_length=40, default=ALGORITHM_VERSION)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    clinician_note = models.TextField(_("clinician's note"), blank=True)
    note_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note_at = models.DateTimeField(null=True, blank=True)
    patient_message = models.TextField(_("message to the patient"), blank=True)
    message_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_end", "-pk"]
        verbose_name = _("health report")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "period_start", "period_end", "kind"],
                name="report_unique_period",
            )
        ]
        indexes = [models.Index(fields=["patient", "-period_end"])]

    def __str__(self) -> str:
        return f"{self.patient} {self.period_start}–{self.period_end} ({self.kind})"

    def save(self, *args, **kwargs):
        """Reports are written once; afterwards only the note fields may be saved."""
        if self.pk is not None and not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= NOTE_FIELDS:
                raise ImmutableReportError("A report is immutable; only its note may change.")
        super().save(*args, **kwargs)

    def note_set(self, *, text: str, by) -> None:
        """The internal clinical note: read by the care team only, never by the patient."""
        self.clinician_note = text.strip()
        self.note_by = by
        self.note_at = timezone.now()
        self.save(update_fields=["clinician_note", "note_by", "note_at"])

    def message_set(self, *, text: str, by) -> None:
        """The message to the patient: shown on their report and their home page."""
        self.patient_message = text.strip()
        self.message_by = by
        self.message_at = timezone.now()
        self.save(update_fields=["patient_message", "message_by", "message_at"])

    @property
    def is_cgm(self) -> bool:
        return self.kind == self.Kind.CGM

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days + 1


class ReportNotification(models.Model):
    """One unread-report entry in a clinician's list; read when they open the report."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_notifications"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], name="report_notification_unique")
        ]
        indexes = [models.Index(fields=["user", "read_at"])]
