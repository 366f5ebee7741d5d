"""Monitoring's Celery tasks: thin, take ids and plain values, safe to run twice."""

import datetime as dt

from celery import shared_task
from django.db.models import Exists, OuterRef
from django.utils import timezone

from monitoring import services


@shared_task(name="monitoring.tasks.evaluate_patient")
def evaluate_patient(patient_id: int, first: str | None = None, last: str | None = None) -> dict:
    """Evaluate a patient's new readings (``first``/``last``: ISO instants of the batch)."""
    start = dt.datetime.fromisoformat(first) if first else None
    return services.alerts_evaluate(patient_id=patient_id, first=start)


@shared_task(name="monitoring.tasks.send_alert_notification")
def send_alert_notification(notification_id: int) -> str:
    return services.notification_send(notification_id=notification_id)


@shared_task(name="monitoring.tasks.alerts_tick")
def alerts_tick() -> dict:
    """Beat, every minute: deliver alerts whose wait is over; escalate unacknowledged ones."""
    return services.alerts_tick()


@shared_task(name="monitoring.tasks.check_silences")
def check_silences() -> int:
    """Beat, every 5 minutes: evaluate enrolled patients without a recent reading, so a
    silence opens its no-data alert though no reading arrives to trigger it."""
    from monitoring.models import Alert, Enrolment
    from readings.models import Reading

    now = timezone.now()
    recent = Reading.objects.filter(
        patient_id=OuterRef("patient_id"),
        kind=Reading.Kind.CGM,
        timestamp__gte=now - dt.timedelta(hours=1),
    )
    silent_open = Alert.objects.filter(
        patient_id=OuterRef("patient_id"), kind="no_data", live=True, closed_at=None
    )
    quiet = (
        Enrolment.objects.filter(active=True)
        .annotate(recent=Exists(recent), silent=Exists(silent_open))
        .filter(recent=False, silent=False)
        .values_list("patient_id", flat=True)
    )
    count = 0
    for patient_id in quiet:
        services.alerts_evaluate(patient_id=patient_id, now=now)
        count += 1
    return count
