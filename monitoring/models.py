"""Remote monitoring's records (issue #20): who is enrolled, the alert episodes, who was told,
the on-call rota, the center's lead, mutes.

The rules that decide what opens, updates and closes are pure (``monitoring.rules``); who is
told is ``monitoring.routing``. These models store what they answer, and the database keeps
the promises the rules rely on: one open alert per patient and kind, one episode per start,
one notification per alert, recipient and escalation step (so each is sent exactly once).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from monitoring import rules


class Enrolment(models.Model):
    """A patient watched by their care center. One row per patient, switched on and off:
    ``active`` needs the patient's ``remote_monitoring`` consent (``monitoring.services``);
    withdrawing it ends the enrolment. ``thresholds`` holds the clinician's overrides of the
    plan's defaults (``rules.thresholds_for_plan``), keys of ``rules.THRESHOLD_BOUNDS``."""

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.CASCADE, related_name="monitoring_enrolment"
    )
    active = models.BooleanField(_("enrolled"), default=False)
    thresholds = models.JSONField(_("thresholds"), default=dict, blank=True)
    enrolled_at = models.DateTimeField(_("enrolled at"), null=True, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_reason = models.CharField(_("why it ended"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("monitoring enrolment")
        indexes = [models.Index(fields=["active"], name="enrolment_active")]

    def __str__(self) -> str:
        return f"{self.patient_id} {'enrolled' if self.active else 'not enrolled'}"


class Alert(models.Model):
    """One episode of one rule for one patient: opened when the rule is met, updated while it
    lasts, closed on recovery. ``live`` False: a *past episode* found in back-filled history,
    recorded and never alerted. Instants are UTC; ``since`` is the episode's first reading
    (``rules.Episode``)."""

    class Kind(models.TextChoices):
        URGENT_LOW = "urgent_low", _("Urgent low")
        PREDICTED_LOW = "predicted_low", _("Predicted urgent low")
        HIGH = "high", _("Prolonged high")
        NO_DATA = "no_data", _("No data")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")
        ESCALATED = "escalated", _("escalated")
        CLOSED = "closed", _("closed")

    class Outcome(models.TextChoices):
        CALLED_PATIENT = "called_patient", _("Called the patient")
        NO_ACTION_NEEDED = "no_action_needed", _("No action needed")
        ADVISED_TREATMENT = "advised_treatment", _("Advised treatment")
        SENT_TO_EMERGENCY = "sent_to_emergency", _("Sent to emergency care")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="monitoring_alerts"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default="open")
    live = models.BooleanField(_("live alert"), default=True, help_text="False: past episode.")
    muted = models.BooleanField(_("muted"), default=False)
    since = models.DateTimeField(_("episode start"), null=True, blank=True)
    opened_at = models.DateTimeField(_("rule met at"))
    last_at = models.DateTimeField(_("latest reading"), null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)  # mg/dL
    extreme = models.FloatField(null=True, blank=True)  # nadir or peak, mg/dL
    ended_at = models.DateTimeField(_("episode end"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(_("raised at"), default=timezone.now)
    # Routing and escalation (monitoring.routing): first delivered when, or waiting until.
    delivered_at = models.DateTimeField(null=True, blank=True)
    wait_until = models.DateTimeField(null=True, blank=True)
    escalation_step = models.PositiveSmallIntegerField(default=0)
    escalate_from = models.DateTimeField(null=True, blank=True)  # delivery, or snooze's end
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=200, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        verbose_name = _("alert")
        constraints = [
            # One episode per start: a re-delivered reading never opens a second.
            models.UniqueConstraint(
                fields=["patient", "kind", "since"],
                condition=Q(since__isnull=False),
                name="alert_one_per_episode",
            ),
            # The rules keep one open episode per kind; the database makes sure of it.
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=Q(closed_at__isnull=True, live=True),
                name="alert_one_open_per_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "kind", "-opened_at"], name="alert_patient_kind"),
            models.Index(
                fields=["state"], name="alert_not_closed", condition=Q(closed_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.kind} {self.opened_at:%Y-%m-%d %H:%M} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.live and self.closed_at is None

    def as_episode(self) -> rules.Episode:
        """The rules' view of this row (epoch seconds)."""

        def epoch(moment):
            return None if moment is None else moment.timestamp()

        return rules.Episode(
            kind=self.kind,
            since=epoch(self.since),
            opened_at=epoch(self.opened_at),
            last_at=epoch(self.last_at),
            last_value=self.last_value,
            extreme=self.extreme,
            ended_at=epoch(self.ended_at),
            closed_at=epoch(self.closed_at),
            reason=self.close_reason,
            live=self.live,
            id=self.pk,
        )


class AlertNotification(models.Model):
    """One alert told to one person at one escalation step (0: first recipients, 1: the rota,
    2: the lead). Unique: however often routing or escalation runs, each is sent once; the
    sender claims the row with a conditional update (a lease, for a worker killed mid-send)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_notifications"
    )
    step = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=20, blank=True)  # service_hours, on_call, rota, lead
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default="pending")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    channels = models.CharField(max_length=40, blank=True)  # in_app,email,sms

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "recipient", "step"], name="alert_notification_once"
            )
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} → {self.recipient_id} (step {self.step})"


class OnCallShift(models.Model):
    """Who covers a center outside its service hours, from ``start`` to ``end`` (half-open)."""

    center = models.ForeignKey(
        "accounts.CareCenter", on_delete=models.CASCADE, related_name="on_call_shifts"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="on_call_shifts"
    )
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))

    class Meta:
        ordering = ["center", "start"]
        verbose_name = _("on-call shift")
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="shift_order")
        ]
        indexes = [models.Index(fields=["center", "end"], name="shift_center_end")]

    def __str__(self) -> str:
        return f"{self.clinician} {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"


class CenterLead(models.Model):
    """The clinician an alert reaches last (escalation's end), per care center."""

    center = models.OneToOneField(
        "accounts.CareCenter", on_delete=models.CASCADE, related_name="monitoring_lead"
    )
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("monitoring lead")

    def __str__(self) -> str:
        return f"{self.center}: {self.lead}"


class AlertContact(models.Model):
    """A clinician's mobile number for alert SMS (e-mail goes to the account's address)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_contact"
    )
    phone = models.CharField(_("mobile for alert SMS"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("alert contact")

    def __str__(self) -> str:
        return f"{self.user}: {self.phone}"


MUTABLE_KINDS = ("predicted_low", "high", "no_data")  # an urgent low is never muted


class Mute(models.Model):
    """A clinician mutes a patient's non-urgent alert kinds until a time, with a reason: their
    episodes are still recorded, nobody is told."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="monitoring_mutes"
    )
    kinds = models.JSONField(_("kinds"), default=list)
    until = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("mute")

    def __str__(self) -> str:
        return f"{self.patient_id} {','.join(self.kinds)} until {self.until:%Y-%m-%d %H:%M}"
