"""A real prefork worker keeps its database connection from one task to the next, as the
web server does (diabetes_center/celery.py, settings ``CELERY_DB_REUSE_MAX``): Celery's
Django fixup alone closes it after every task, and each task paid a new PostgreSQL
connection (#23). CI's second phase: PostgreSQL + Redis."""

import time

import pytest
from django.db import connection

from outbox.tasks import heartbeat
from tests.reports.test_broker import Worker, queue, wait_until  # noqa: F401  (fixture)

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def other_backends() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_it_keeps_the_database_connection_between_tasks(queue, tmp_path):  # noqa: F811
    worker = Worker(queue, tmp_path, "w1")
    try:
        worker.wait_for("ready.")
        time.sleep(1)  # the start-up heartbeat (main process) has its connection by now
        before = other_backends()
        kept = []
        for n in (1, 2):
            heartbeat.apply_async(queue=queue)
            wait_until(lambda n=n: worker.output().count("succeeded in") >= n, 60, "the task")
            time.sleep(1)  # after task_postrun, where the fixup alone would have closed it
            kept.append(other_backends() - before)
    finally:
        worker.stop()
    assert kept[0], "the task's connection was closed when it ended"
    assert kept[0] & kept[1], "the second task's end closed the first one's connection"
