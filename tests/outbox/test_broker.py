"""The heartbeats on a real broker (CI's second phase: Redis, PostgreSQL, a real prefork
worker; tests/reports/test_broker.py's Worker). Sending the heartbeat task records beat's
tick in the sending process; the worker records its heartbeat as it starts and when it runs
the task; /health/ then answers 200, and the worker's silence makes it 503 again. A real
worker closes the outbox rows of the tasks the outbox sent, and asks nothing for the others."""

import datetime as dt

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from outbox import pipeline
from outbox.models import Heartbeat, OutboxTask
from outbox.services import task_enqueue
from outbox.tasks import heartbeat
from tests.reports.test_broker import Worker, queue, wait_until  # noqa: F401  (fixture)

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def beat_of(name: str):
    row = Heartbeat.objects.filter(name=name).first()
    return row.at if row else None


def test_it_records_a_real_workers_heartbeat_and_beats_tick(queue, tmp_path):  # noqa: F811
    worker = Worker(queue, tmp_path, "w1")
    try:
        worker.wait_for("ready.")
        wait_until(lambda: beat_of(pipeline.WORKER), 30, "the worker's start heartbeat", worker)
        started = beat_of(pipeline.WORKER)
        sent = timezone.now()
        heartbeat.apply_async(queue=queue)  # as beat sends it every minute
        assert beat_of(pipeline.BEAT) >= sent  # recorded by the sender, before the broker
        wait_until(
            lambda: beat_of(pipeline.WORKER) > started, 60, "the heartbeat task's run", worker
        )
        response = Client().get("/health/")
        assert response.status_code == 200, response.json()
        assert response.json()["checks"]["broker"]["server"] is True
    finally:
        worker.stop()
    Heartbeat.objects.filter(name=pipeline.WORKER).update(
        at=timezone.now() - dt.timedelta(minutes=6)
    )
    body = Client().get("/health/").json()
    assert body["failing"] == ["worker_heartbeat"] and body["alerting_degraded"] is True


def test_a_real_worker_closes_the_rows_of_the_tasks_the_outbox_sent_only(queue, tmp_path):  # noqa: F811
    # The heartbeat task goes to the default queue ("celery"): the worker listens there too.
    worker = Worker(f"{queue},celery", tmp_path, "w1")
    try:
        worker.wait_for("ready.")
        with transaction.atomic():
            sent = task_enqueue(heartbeat)  # sent by the outbox once this commits
        # Not sent by the outbox, though its id is an open row's: the worker must not close it
        # (a task without the outbox's header costs no query when it succeeds).
        other = OutboxTask.objects.create(task=heartbeat.name)
        heartbeat.apply_async(queue=queue, task_id=str(other.task_id))
        wait_until(
            lambda: worker.output().count("succeeded in") >= 2, 60, "both tasks to run", worker
        )
        wait_until(
            lambda: OutboxTask.objects.filter(pk=sent.pk, done_at__isnull=False).exists(),
            30,
            "the outbox row to close",
            worker,
        )
    finally:
        worker.stop()
    other.refresh_from_db()
    assert other.done_at is None
