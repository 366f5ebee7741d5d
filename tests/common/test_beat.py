"""The beat schedules the data migrations create through ``common.beat.periodic_tasks``."""

import pytest
from django_celery_beat.models import PeriodicTask

EXPECTED = {
    "outbox: dispatch": ("outbox.tasks.dispatch_outbox", (1, "minutes")),
    "reports: due check": ("reports.tasks.enqueue_due_reports", (1, "hours")),
    "readings: upload sweep": ("readings.tasks.sweep_uploads", (5, "minutes")),
    "patients: triage window": ("patients.tasks.refresh_triage_window", (1, "hours")),
    "visits: reminders": ("visits.tasks.enqueue_visit_reminders", (10, "minutes")),
}


@pytest.mark.django_db
def test_it_has_every_interval_schedule_the_migrations_create():
    for name, (task, (every, period)) in EXPECTED.items():
        row = PeriodicTask.objects.get(name=name)
        assert (row.task, row.interval.every, row.interval.period, row.enabled) == (
            task,
            every,
            period,
            True,
        )
        assert (row.args, row.kwargs) == ("[]", "{}")


@pytest.mark.django_db
def test_it_has_the_clinicians_day_lists_at_16_utc():
    row = PeriodicTask.objects.get(name="visits: clinicians' day lists")
    assert row.task == "visits.tasks.send_clinician_day_lists"
    assert (row.crontab.minute, row.crontab.hour, str(row.crontab.timezone)) == ("0", "16", "UTC")
