"""A Celery worker SIGKILLed at random points, again and again, loses no task and repeats no
side effect.

Work of every kind waits in the queue of a private Redis (tests/faults/servers.py): reports
for several patients (each with its notification), visit reminders and file imports, all
recorded in the outbox in one transaction and sent on commit. A real prefork worker is
started, and ``KILLS`` times at a random moment SIGKILL hits either one of its two pool
processes (most often while it runs a task) or, every fourth time, the whole worker (main
process and pool: nothing acknowledges, nothing cleans up; sometimes before it is even ready),
which is then started again. New work keeps arriving between kills, so there is always some
in hand. The last worker is left to finish. What makes it hold:
``acks_late`` + ``reject_on_worker_lost`` (a killed task's message stays unacknowledged and
Redis redelivers it after the visibility timeout, here 8 s; a pool process killed alone has
its task requeued by the worker at once), the outbox for a message lost in flight (a
worker killed after Redis handed it over but before kombu recorded it as unacknowledged:
sent again after ``RESEND_AFTER_SECONDS``, this process dispatching as beat does), and
tasks that are safe to run
twice (a report's unique period, a message's claim with a lease, an upload's claim that a
redelivered task takes over once the import has been silent for ``UPLOAD_STALE_AFTER_SECONDS``).
The workers connect as the app role (``db_roles``), as in production.
"""

import datetime as dt
import os
import random
import signal
import time
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from outbox.models import OutboxTask
from outbox.services import task_enqueue
from readings.models import Reading, Upload
from readings.services import upload_create
from readings.tasks import process_upload
from reports.models import Report, ReportNotification
from reports.tasks import generate_report
from tests.conftest import make_patient
from tests.faults.pending import with_outbox_dispatch, work_left
from tests.readings.helpers import plain_csv
from tests.reports.test_broker import RECENT, Worker, wait_until
from visits.models import Visit, VisitMessage
from visits.tasks import send_visit_message

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
KILLS = 21
UPLOAD_ROWS = 6000  # two chunks, each slowed down so that kills land inside imports
RESEND_AFTER_SECONDS = 20  # longer than any task here runs (a resend would only waste work)
WORKER_ENV = {
    "CELERY_VISIBILITY_TIMEOUT_SECONDS": "8",  # longer than any task here runs
    "REPORTS_TEST_DELAY_SECONDS": "1",
    "UPLOAD_TEST_DELAY_SECONDS": "0.5",
    "UPLOAD_STALE_AFTER_SECONDS": "4",
    "UPLOAD_MAX_ATTEMPTS": "1000",  # here every death is a kill, not a file that kills
    "VISITS_TEST_SEND_DELAY_SECONDS": "0.5",
    "VISIT_MESSAGE_LEASE_SECONDS": "3",
    # A message lost in flight (a worker killed between BRPOP and its unacked record) is
    # recovered only by the outbox, as in production: the test dispatches as beat does.
    "OUTBOX_RESEND_AFTER_SECONDS": str(RESEND_AFTER_SECONDS),
}


def _pool_children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return children


def _settled(patients, uploads, visits) -> bool:
    return (
        Report.objects.filter(patient__in=patients).count() >= len(patients)
        and not Upload.objects.filter(pk__in=[u.pk for u in uploads])
        .exclude(status="done")
        .exists()
        and VisitMessage.objects.filter(visit__in=visits, status="sent").count() >= len(visits)
        and not OutboxTask.objects.filter(done_at=None).exists()
    )


def test_it_loses_and_repeats_nothing_when_workers_are_killed_again_and_again(
    private_redis, app_role, center, alice, clinic, follow_up, load_simulated, tmp_path, settings
):
    settings.OUTBOX_RESEND_AFTER_SECONDS = RESEND_AFTER_SECONDS  # this process stands in for beat
    patients = [make_patient(f"KILL{i}", center=center, endocrinologists=[alice]) for i in range(2)]
    for i, p in enumerate(patients):
        load_simulated(p, seed=i, start=RECENT, days=15)
    soon = timezone.now().replace(microsecond=0) + dt.timedelta(hours=3)
    first = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    uploads, visits = [], []

    def more_work(k: int) -> None:
        """As requests would: the work recorded with its data, sent on commit."""
        with transaction.atomic():
            p = make_patient(f"UP{k}", center=center, endocrinologists=[alice])
            upload = upload_create(
                patient=p, by=None, file=plain_csv(first, UPLOAD_ROWS), filename="x.csv"
            )
            task_enqueue(process_upload, upload.pk)
            uploads.append(upload)
            start = soon + dt.timedelta(minutes=45 * k)
            visit = Visit.objects.create(
                patient=p,
                clinician=alice,
                visit_type=follow_up,
                center=clinic,
                start_at=start,
                end_at=start + dt.timedelta(minutes=30),
            )
            task_enqueue(send_visit_message, visit.pk, "reminder", start.isoformat())
            task_enqueue(send_visit_message, visit.pk, "reminder", start.isoformat())  # again
            visits.append(visit)

    with transaction.atomic():
        for p in patients:
            task_enqueue(generate_report, p.pk)
            task_enqueue(generate_report, p.pk)  # a repeat: the period's report is made once
    more_work(0)

    env = {**WORKER_ENV, "CELERY_BROKER_URL": private_redis.url, "DATABASE_URL": app_role.url}
    rng = random.Random()
    kills, workers = [], []
    worker = None
    for k in range(KILLS):
        if worker is None:
            worker = Worker(settings.ALL_QUEUES, tmp_path, f"w{k}", **env)
            workers.append(worker)
        if k:
            more_work(k)  # there is always work in hand to be killed in
        whole = k % 4 == 0  # every fourth kill takes the whole worker, else one pool process
        if whole and rng.random() < 0.25:  # sometimes while it starts
            time.sleep(rng.uniform(0.3, 2.0))
        else:
            worker.wait_for("ready.")
            time.sleep(rng.uniform(0.2, 2.0))
        if whole:
            worker.kill()  # SIGKILL to the main process and its pool: nothing acknowledges
            worker = None
            kills.append("worker")
        else:
            children = _pool_children(worker.process.pid)
            if children:
                os.kill(rng.choice(children), signal.SIGKILL)
            kills.append("pool process" if children else "none")
    if worker is None:
        worker = Worker(settings.ALL_QUEUES, tmp_path, "last", **env)
        workers.append(worker)
    try:
        wait_until(
            with_outbox_dispatch(lambda: _settled(patients, uploads, visits)),
            150,
            "all the work",
            worker,
            explain=lambda: work_left(private_redis, workers),
        )
        time.sleep(2)  # anything still redelivered has time to run (and to change nothing)
    finally:
        worker.stop()
    logs = "".join(w.output() for w in workers)
    # A pool process died with a task in hand (its parent logs it, and requeues the task).
    lost_in_hand = logs.count("Task handler raised error: WorkerLostError")
    print(
        f"kills: {kills}; pool processes that died with a task: {lost_in_hand}; "
        f"sent again by the outbox: {OutboxTask.objects.filter(sends__gt=1).count()}"
    )
    assert kills.count("worker") + kills.count("pool process") >= 20, kills
    assert lost_in_hand >= 3, logs[-3000:]

    for p in patients:  # one report per patient and period, one notification per report
        assert Report.objects.filter(patient=p).count() == 1
        assert ReportNotification.objects.filter(report__patient=p).count() == 1
    for u in uploads:  # imported once, wholly
        u.refresh_from_db()
        assert (u.status, u.accepted, u.duplicates) == ("done", UPLOAD_ROWS, 0), u.error
        assert Reading.objects.filter(upload=u).count() == UPLOAD_ROWS
    for u in uploads:
        assert Reading.objects.filter(patient_id=u.patient_id).count() == UPLOAD_ROWS
    for v in visits:  # one reminder per visit, though each was asked for twice
        (message,) = VisitMessage.objects.filter(visit=v, kind="reminder")
        assert message.status == "sent"
    assert not OutboxTask.objects.filter(done_at=None).exists()
    assert not OutboxTask.objects.filter(last_error__startswith="failed").exists()
