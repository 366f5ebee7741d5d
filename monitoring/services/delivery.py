"""Who is told, and how (issue #20 §3): routing an alert when it opens, alerts waiting for the
clinic to open, escalation, and sending each notification exactly once.

- ``alert_deliver`` asks ``monitoring.routing.recipients_at`` with the center's opening hours
  (``visits.OpeningHours``, closed days), its on-call rota (``OnCallShift``), the patient's
  care team and the center's lead (``CenterLead``). It writes one ``AlertNotification`` per
  recipient (unique per alert × recipient × step) and records a send task for each in the
  outbox, in the evaluation's transaction; an alert with nobody to tell yet waits
  (``wait_until``) and ``alerts_tick`` delivers it when the clinic opens or a shift starts.
- ``alerts_tick`` (beat, every minute) also escalates: an alert unacknowledged
  ``routing.ESCALATION_MINUTES`` after its delivery goes to the next person on the rota, then
  to the lead. Acknowledged, closed or muted alerts never escalate; a snooze postpones it.
- ``notification_send``: in-app is the row itself (the inbox and the header count read it);
  e-mail to the account's address and SMS (``visits.services.sms_backend``, the existing
  interface) to ``AlertContact.phone``, in the recipient's language and unit. Claimed with a
  conditional update (a lease for a worker killed mid-send), so a repeat sends nothing.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.display import when_text
from glycemia import display
from monitoring import routing
from monitoring.models import Alert, AlertContact, AlertNotification, CenterLead, OnCallShift
from visits.models import ClosedDay, OpeningHours
from visits.services import sms_backend

SEND_TASK = "monitoring.tasks.send_alert_notification"
NOTIFICATION_LEASE = dt.timedelta(minutes=5)
ROTA_LOOKAHEAD = dt.timedelta(days=routing.OPENING_SEARCH_DAYS + 1)


def _center_context(patient, now: dt.datetime) -> dict:
    """The plain values ``routing`` needs for the patient's center."""
    center = patient.care_center
    care_team = list(patient.endocrinologists.filter(is_active=True).values_list("pk", flat=True))
    if center is None:
        return {"hours": {}, "tz": zoneinfo.ZoneInfo("UTC"), "care_team": care_team}
    hours: dict[int, list] = {}
    for row in OpeningHours.objects.filter(center=center):
        hours.setdefault(row.weekday, []).append((row.opens, row.closes))
    closed = ClosedDay.objects.filter(
        center=center,
        date__gte=now.date() - dt.timedelta(days=1),
        date__lte=(now + ROTA_LOOKAHEAD).date(),
    ).values_list("date", flat=True)
    rota = [
        (s.start, s.end, s.clinician_id)
        for s in OnCallShift.objects.filter(
            center=center, end__gt=now, start__lt=now + ROTA_LOOKAHEAD, clinician__is_active=True
        )
    ]
    lead = CenterLead.objects.filter(center=center).values_list("lead_id", flat=True).first()
    return {
        "hours": hours,
        "tz": zoneinfo.ZoneInfo(center.timezone),
        "closed": list(closed),
        "rota": rota,
        "care_team": care_team,
        "lead": lead,
    }


def _notify(alert: Alert, recipients, *, step: int, reason: str, now: dt.datetime) -> int:
    """One notification per recipient at ``step`` (a repeat is absorbed), each sent on commit."""
    from outbox.services import task_enqueue

    made = 0
    for user_id in recipients:
        try:
            with transaction.atomic():
                note = AlertNotification.objects.create(
                    alert=alert, recipient_id=user_id, step=step, reason=reason, created_at=now
                )
        except IntegrityError:
            continue
        task_enqueue(SEND_TASK, note.pk)
        made += 1
    return made


def alert_deliver(*, alert: Alert, now: dt.datetime) -> routing.Routing:
    """Route a newly opened (or waiting) alert: tell its first recipients, or wait."""
    ctx = _center_context(alert.patient, now)
    answer = routing.recipients_at(now, **ctx)
    recipients = answer.recipients or (tuple(ctx["care_team"]) if answer.reason == "lead" else ())
    if not recipients:  # the clinic opens (or a shift starts) later: it waits till then
        Alert.objects.filter(pk=alert.pk).update(wait_until=answer.wait_until)
        return answer
    _notify(alert, recipients, step=0, reason=answer.reason, now=now)
    Alert.objects.filter(pk=alert.pk).update(delivered_at=now, escalate_from=now, wait_until=None)
    return answer


def alerts_tick(*, now: dt.datetime | None = None) -> dict:
    """Deliver alerts whose wait is over, escalate unacknowledged ones. Safe to run twice:
    each step is recorded on the alert with a conditional update, and notifications are
    unique per alert, recipient and step."""
    now = now or timezone.now()
    counts = {"delivered": 0, "escalated": 0}
    live_open = Alert.objects.filter(
        live=True, closed_at=None, acknowledged_at=None, muted=False
    ).select_related("patient", "patient__care_center")
    for alert in live_open.filter(delivered_at=None, wait_until__lte=now):
        with transaction.atomic():
            if Alert.objects.filter(pk=alert.pk, delivered_at=None).update(wait_until=None):
                answer = alert_deliver(alert=alert, now=now)
                counts["delivered"] += answer.reason != "wait"
    due = live_open.filter(delivered_at__isnull=False, escalation_step__lt=2).filter(
        Q(snoozed_until=None) | Q(snoozed_until__lte=now)
    )
    for alert in due:
        counts["escalated"] += alert_escalate(alert=alert, now=now)
    return counts


def alert_escalate(*, alert: Alert, now: dt.datetime) -> int:
    """Escalate ``alert`` to the step due now, if any (1 if it moved on)."""
    delays = routing.ESCALATION_MINUTES[alert.kind]
    answer = routing.escalation_step(
        alert.escalate_from or alert.delivered_at,
        now=now,
        delays=delays,
        acknowledged_at=alert.acknowledged_at,
        closed_at=alert.closed_at,
    )
    step = max(answer.step, 0)
    if step <= alert.escalation_step:
        return 0
    with transaction.atomic():
        moved = Alert.objects.filter(
            pk=alert.pk, escalation_step=alert.escalation_step, acknowledged_at=None, closed_at=None
        ).update(escalation_step=step, state=Alert.State.ESCALATED)
        if not moved:
            return 0  # acknowledged, closed or escalated meanwhile
        ctx = _center_context(alert.patient, now)
        notified = set(alert.notifications.values_list("recipient_id", flat=True))
        recipients = routing.escalation_recipients(
            step, now=now, rota=ctx.get("rota", ()), lead=ctx.get("lead"), notified=notified
        )
        _notify(alert, recipients, step=step, reason=routing.ESCALATION_CHAIN[step], now=now)
    return 1


def message_text(alert: Alert, user) -> tuple[str, str]:
    """(subject, text) for ``user``, in the active language, glucose in their unit, times in
    their center's zone. Names the patient by MRN only in SMS-length text."""
    patient = alert.patient
    unit = getattr(user, "unit", "mg/dL") or "mg/dL"
    zone = user.care_center.timezone if user.care_center_id else settings.TIME_ZONE
    kind = str(Alert.Kind(alert.kind).label)
    values = {
        "kind": kind,
        "mrn": patient.mrn,
        "value": display.glucose(alert.last_value, unit),
        "when": when_text(alert.last_at or alert.opened_at, zone),
    }
    subject = _("%(kind)s: patient %(mrn)s") % values
    if alert.kind == "no_data":
        text = _("%(kind)s: no glucose reading from patient %(mrn)s since %(when)s.") % values
    else:
        text = _("%(kind)s: patient %(mrn)s, %(value)s at %(when)s.") % values
    text += " " + _("Acknowledge in the alert inbox.")
    return subject, text


def notification_send(*, notification_id: int, now: dt.datetime | None = None) -> str:
    """Send one notification by e-mail and SMS, once. Returns "sent", "busy" or "gone"."""
    now = now or timezone.now()
    claimed = AlertNotification.objects.filter(
        Q(status=AlertNotification.Status.PENDING)
        | Q(status=AlertNotification.Status.SENDING, claimed_at__lt=now - NOTIFICATION_LEASE),
        pk=notification_id,
    ).update(status=AlertNotification.Status.SENDING, claimed_at=now)
    if not claimed:
        exists = AlertNotification.objects.filter(pk=notification_id).exists()
        return "busy" if exists else "gone"
    note = AlertNotification.objects.select_related(
        "recipient", "recipient__care_center", "alert", "alert__patient"
    ).get(pk=notification_id)
    user = note.recipient
    channels = ["in_app"]
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject, text = message_text(note.alert, user)
    if user.email:
        send_mail(subject, text, None, [user.email])
        channels.append("email")
    phone = AlertContact.objects.filter(user=user).values_list("phone", flat=True).first()
    if phone:
        sms_backend().send(phone, text)
        channels.append("sms")
    AlertNotification.objects.filter(pk=note.pk).update(
        status=AlertNotification.Status.SENT, sent_at=timezone.now(), channels=",".join(channels)
    )
    return "sent"
