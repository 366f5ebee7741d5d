"""Queues per workload (#23): ingest, reports, messages and monitoring tasks each go to their
own queue, and a worker started without -Q (the embedded default, README's plain command)
consumes every queue, so no routed task waits for a consumer that is not there."""

import pytest
from django.conf import settings

from diabetes_center.celery import app

ROUTED = {
    "readings.tasks.process_upload": "ingest",
    "readings.tasks.rebuild_rollups": "ingest",
    "readings.tasks.sweep_uploads": "ingest",
    "reports.tasks.generate_report": "reports",
    "reports.tasks.enqueue_due_reports": "reports",
    "visits.tasks.send_visit_message": "messages",
    "visits.tasks.enqueue_visit_reminders": "messages",
    "visits.tasks.send_clinician_day_lists": "messages",
    "patients.tasks.refresh_triage_window": "monitoring",
    "outbox.tasks.dispatch_outbox": "celery",
}


def _queue_of(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


@pytest.mark.parametrize(("task", "queue"), sorted(ROUTED.items()))
def test_each_workload_has_its_queue(task, queue):
    app.loader.import_default_modules()
    assert task in app.tasks  # the name is a real task's
    assert _queue_of(task) == queue


def test_every_project_task_goes_to_a_queue_a_plain_worker_consumes():
    app.loader.import_default_modules()
    consumed = {q.name for q in app.conf.task_queues}
    assert consumed == {"celery", "ingest", "reports", "messages", "monitoring"}
    assert set(settings.ALL_QUEUES.split(",")) == consumed
    project = [n for n in app.tasks if not n.startswith("celery.")]
    assert len(project) >= len(ROUTED)
    for name in project:
        assert _queue_of(name) in consumed, name


def test_a_worker_without_q_listens_on_every_queue():
    """What ``celery worker`` (no -Q) subscribes to: celery's own selection from the config."""
    from celery.app.amqp import Queues

    queues = app.amqp.queues
    assert isinstance(queues, Queues)
    queues.select(None)  # what the worker does when -Q is not given
    assert set(queues.consume_from) == {"celery", "ingest", "reports", "messages", "monitoring"}
