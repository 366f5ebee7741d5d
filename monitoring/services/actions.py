"""What clinicians do with alerts (issue #20 §3): acknowledge with a note and an outcome,
snooze with a reason, mute a patient's non-urgent kinds for a while. Every one is audited
(``accounts.access.audit``) and recorded on the alert itself."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.access import audit
from monitoring.models import MUTABLE_KINDS, Alert, Mute

NOTE_MAX = 2000
SNOOZE_MAX = dt.timedelta(hours=24)
MUTE_MAX = dt.timedelta(days=30)


class AlreadyAcknowledged(Exception):
    """Acknowledging twice (the API answers 409)."""


def alert_acknowledge(*, alert: Alert, by, note: str, outcome: str) -> Alert:
    """Record who acknowledged, what they did and why; escalation stops. Twice raises
    ``AlreadyAcknowledged`` (a conditional update: two clinicians at once, one wins)."""
    if outcome not in Alert.Outcome.values:
        raise ValueError(f"outcome must be one of {', '.join(Alert.Outcome.values)}")
    now = timezone.now()
    with transaction.atomic():
        done = Alert.objects.filter(pk=alert.pk, live=True, acknowledged_at=None).update(
            acknowledged_at=now,
            acknowledged_by=by,
            note=note[:NOTE_MAX],
            outcome=outcome,
        )
        if not done:
            raise AlreadyAcknowledged("This alert has already been acknowledged.")
        Alert.objects.filter(pk=alert.pk, closed_at=None).update(state=Alert.State.ACKNOWLEDGED)
        audit(by, alert.patient, "change", f"alert {alert.pk} {alert.kind} acknowledged: {outcome}")
    alert.refresh_from_db()
    return alert


def alert_snooze(*, alert: Alert, by, minutes: int, reason: str) -> Alert:
    """Postpone the alert's escalation by ``minutes`` (at most a day), with a reason."""
    if not reason.strip():
        raise ValueError("Say why the alert is snoozed.")
    until = timezone.now() + min(dt.timedelta(minutes=minutes), SNOOZE_MAX)
    with transaction.atomic():
        Alert.objects.filter(pk=alert.pk, closed_at=None).update(
            snoozed_until=until, snooze_reason=reason[:200], escalate_from=until
        )
        audit(by, alert.patient, "change", f"alert {alert.pk} {alert.kind} snoozed: {reason}")
    alert.refresh_from_db()
    return alert


def patient_mute(*, patient, by, kinds: list[str], hours: float, reason: str) -> Mute:
    """Mute ``kinds`` (never urgent lows) of ``patient`` for ``hours`` (at most 30 days):
    their episodes are still recorded; nobody is told, nothing escalates."""
    kinds = sorted(set(kinds))
    if not kinds or not set(kinds) <= set(MUTABLE_KINDS):
        raise ValueError(f"kinds must be among {', '.join(MUTABLE_KINDS)}")
    if not reason.strip():
        raise ValueError("Say why the alerts are muted.")
    until = timezone.now() + min(dt.timedelta(hours=hours), MUTE_MAX)
    with transaction.atomic():
        mute = Mute.objects.create(
            patient=patient, kinds=kinds, until=until, reason=reason[:200], by=by
        )
        Alert.objects.filter(patient=patient, kind__in=kinds, live=True, closed_at=None).update(
            muted=True
        )
        audit(by, patient, "change", f"alerts muted {','.join(kinds)} until {until:%Y-%m-%d %H:%M}")
    return mute


def alerts_close_all(*, patient, reason: str, now: dt.datetime) -> int:
    """Close every open alert of ``patient`` (the enrolment ended)."""
    return Alert.objects.filter(patient=patient, live=True, closed_at=None).update(
        closed_at=now, close_reason=reason, state=Alert.State.CLOSED
    )


def open_alerts(queryset):
    """The alerts that still need someone: live, not closed, not muted, unacknowledged."""
    return queryset.filter(live=True, closed_at=None, muted=False, acknowledged_at=None)
