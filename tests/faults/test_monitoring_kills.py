"""Issue #20 §6: a worker SIGKILLed mid-evaluation loses and duplicates no alert.

Enrolled patients' falling traces arrive one reading at a time, each post recording an
evaluation in the outbox (sent on commit) to a private Redis; a real prefork worker evaluates
them, each evaluation held open for a moment (``MONITORING_TEST_DELAY_SECONDS``) so that the
SIGKILLs — one pool process at a time, or every third time the whole worker — land inside
its transaction. A killed evaluation rolls back and its message is redelivered (acks late,
8-second visibility timeout), or, when a worker died with the message in flight (taken from
Redis, not yet recorded as unacknowledged), sent again by the outbox after
``RESEND_AFTER_SECONDS``; evaluations are idempotent, and the database holds one open
alert per kind and one episode per start. In the end each patient has exactly one urgent-low
alert, its care team told once, and the outbox is empty. Workers connect as the app role.
"""

import datetime as dt
import os
import random
import signal
import time

import pytest
from django.db import transaction
from django.utils import timezone

from monitoring.models import Alert, AlertNotification
from outbox.models import OutboxTask
from patients.consent import consent_record
from readings.parsers import Reading as Parsed
from readings.services import readings_ingest
from tests.conftest import make_patient
from tests.faults.pending import with_outbox_dispatch, work_left
from tests.faults.test_worker_kills import _pool_children
from tests.reports.test_broker import Worker, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
FALL = [120, 100, 80, 62, 52, 49, 47, 50]  # the urgent low opens at 49 (52, 49: two < 54)
PATIENTS = 3
KILLS = 8
RESEND_AFTER_SECONDS = 20  # longer than any task here runs (a resend would only waste work)
WORKER_ENV = {
    "CELERY_VISIBILITY_TIMEOUT_SECONDS": "8",
    "MONITORING_TEST_DELAY_SECONDS": "0.7",
    # A message lost in flight (a worker killed between BRPOP and its unacked record) is
    # recovered only by the outbox, as in production: the test dispatches as beat does.
    "OUTBOX_RESEND_MONITORING_AFTER_SECONDS": str(RESEND_AFTER_SECONDS),
}


def _post(patient, moment, value):
    """One reading as the Nightscout API stores it: ingest and the outbox row in one
    transaction, the evaluation sent once it commits."""
    with transaction.atomic():
        readings_ingest(patient=patient, items=[Parsed(1, moment, float(value), "cgm")])


def _settled(patients) -> bool:
    return (
        Alert.objects.filter(patient__in=patients, kind="urgent_low").count() >= len(patients)
        and not OutboxTask.objects.filter(done_at=None).exists()
    )


def test_it_loses_and_duplicates_no_alert_when_workers_are_killed_mid_evaluation(
    private_redis, app_role, center, alice, tmp_path, settings
):
    # This process stands in for beat's outbox dispatch, with the workers' resend delay.
    settings.OUTBOX_RESEND_AFTER_SECONDS_BY_QUEUE = {"monitoring": RESEND_AFTER_SECONDS}
    from monitoring.services import enrolment_set

    patients = []
    for i in range(PATIENTS):
        p = make_patient(f"MON{i}", center=center, endocrinologists=[alice])
        consent_record(patient=p, topic="remote_monitoring", given=True, by=None)
        enrolment_set(patient=p, enrolled=True, thresholds=None, by=alice)
        patients.append(p)
    now = timezone.now().replace(microsecond=0)
    moments = [now - dt.timedelta(minutes=5 * (len(FALL) - 1 - i)) for i in range(len(FALL))]

    env = {**WORKER_ENV, "CELERY_BROKER_URL": private_redis.url, "DATABASE_URL": app_role.url}
    rng = random.Random()
    worker = Worker(settings.ALL_QUEUES, tmp_path, "w0", **env)
    workers, kills = [worker], []
    for step, (moment, value) in enumerate(zip(moments, FALL, strict=True)):
        for p in patients:
            _post(p, moment, value)
        if step >= KILLS:
            continue
        worker.wait_for("ready.")
        time.sleep(rng.uniform(0.3, 1.2))
        if step % 3 == 2:
            worker.kill()  # main process and pool: nothing acknowledges
            kills.append("worker")
            worker = Worker(settings.ALL_QUEUES, tmp_path, f"w{step}", **env)
            workers.append(worker)
        else:
            children = _pool_children(worker.process.pid)
            if children:
                os.kill(rng.choice(children), signal.SIGKILL)
            kills.append("pool process" if children else "none")
    try:
        wait_until(
            with_outbox_dispatch(lambda: _settled(patients)),
            120,
            "every evaluation",
            worker,
            explain=lambda: work_left(private_redis, workers),
        )
        time.sleep(2)  # a late redelivery has time to run (and to change nothing)
    finally:
        worker.stop()
    logs = "".join(w.output() for w in workers)
    lost_in_hand = logs.count("Task handler raised error: WorkerLostError")
    print(
        f"kills: {kills}; pool processes that died mid-evaluation: {lost_in_hand}; "
        f"sent again by the outbox: {OutboxTask.objects.filter(sends__gt=1).count()}"
    )
    assert kills.count("worker") + kills.count("pool process") >= KILLS - 1, kills
    assert lost_in_hand >= 1, logs[-3000:]  # a kill landed inside an evaluation
    for p in patients:
        (alert,) = Alert.objects.filter(patient=p, kind="urgent_low")
        assert (alert.since, alert.live) == (moments[4], True)
        assert AlertNotification.objects.filter(alert=alert, step=0).count() == 1
    assert not OutboxTask.objects.filter(last_error__startswith="failed").exists(), [
        w.output()[-2000:] for w in workers
    ]
