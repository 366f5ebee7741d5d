"""Report tasks: safe to run twice. Run in-process with ``apply`` so the tests are the same
with eager Celery (unit phase) and with a real broker configured (CI's second phase)."""

import datetime as dt

import pytest

from reports.models import Report
from reports.tasks import enqueue_due_reports, generate_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def recent_data(patient, load_simulated):
    load_simulated(patient, start=dt.date.today() - dt.timedelta(days=15), days=16)
    return patient


def test_it_generates_once_when_the_task_runs_twice(recent_data):
    first = generate_report.apply((recent_data.pk,)).get()
    second = generate_report.apply((recent_data.pk,)).get()
    assert first == second and Report.objects.count() == 1


def test_it_enqueues_each_due_patient_once_and_is_safe_to_run_twice(recent_data, monkeypatch):
    enqueued = []

    def run_now(*args, **kwargs):  # stands in for the worker
        enqueued.append(args)
        return generate_report.apply(args, kwargs)

    monkeypatch.setattr(generate_report, "delay", run_now)
    assert enqueue_due_reports.apply().get() == 1
    assert enqueue_due_reports.apply().get() == 0
    assert enqueued == [(recent_data.pk,)]
    assert Report.objects.filter(patient=recent_data).count() == 1


def test_it_schedules_the_due_check_hourly_with_beat():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="reports: due check")
    assert task.task == "reports.tasks.enqueue_due_reports" and task.enabled
    assert (task.interval.every, task.interval.period) == (1, "hours")
