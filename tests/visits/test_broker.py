"""Reminders on a real broker: a real prefork worker on Redis against the test database
(CI's second phase, like tests/reports/test_broker.py, whose Worker this reuses). A worker
killed in the middle of sending leaves the message unacknowledged; the redelivered task
takes over the lapsed claim and the patient gets the reminder once."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from tests.reports.test_broker import Worker, wait_until
from visits.models import Visit, VisitMessage
from visits.tasks import send_visit_message

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
LEASE = "4"  # seconds before another worker may take over a claim


@pytest.fixture
def queue():
    import uuid

    from diabetes_center.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield f"visits-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = eager


@pytest.fixture
def soon(clinic, patient, alice, follow_up):
    patient.phone = "+44 7700 900456"
    patient.save()
    start = timezone.now().replace(microsecond=0) + dt.timedelta(hours=3)
    return Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=clinic,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
    )


def sms_count(*workers) -> int:
    return sum(w.output().count("SMS to +44 7700 900456") for w in workers)


def test_it_sends_one_reminder_for_duplicate_messages(soon, queue, tmp_path):
    worker = Worker(queue, tmp_path, "w1", VISIT_MESSAGE_LEASE_SECONDS=LEASE)
    try:
        worker.wait_for("ready.")
        for _ in range(3):  # the pool's two processes race on the same message
            send_visit_message.apply_async(
                (soon.pk, "reminder", soon.start_at.isoformat()), queue=queue
            )
        wait_until(
            lambda: VisitMessage.objects.filter(status="sent").exists(), 60, "the send", worker
        )
        wait_until(lambda: worker.output().count("succeeded in") >= 3, 60, "all three tasks")
    finally:
        worker.stop()
    assert sms_count(worker) == 1
    assert VisitMessage.objects.get().channels == "in_app,sms"


def test_it_reminds_once_when_the_worker_is_killed_mid_send(soon, queue, tmp_path):
    slow = Worker(
        queue,
        tmp_path,
        "slow",
        VISITS_TEST_SEND_DELAY_SECONDS="30",
        VISIT_MESSAGE_LEASE_SECONDS=LEASE,
    )
    try:
        slow.wait_for("ready.")
        send_visit_message.apply_async(
            (soon.pk, "reminder", soon.start_at.isoformat()), queue=queue
        )
        slow.wait_for("Task visits.tasks.send_visit_message[")
        wait_until(
            lambda: VisitMessage.objects.filter(status="sending").exists(), 30, "the claim", slow
        )
        time.sleep(1)  # inside the 30 s delay: claimed, not yet sent
        slow.kill()
    finally:
        slow.kill()
    assert VisitMessage.objects.get().status == "sending" and sms_count(slow) == 0
    fresh = Worker(queue, tmp_path, "fresh", VISIT_MESSAGE_LEASE_SECONDS=LEASE)
    try:
        fresh.wait_for("ready.")
        wait_until(
            lambda: VisitMessage.objects.filter(status="sent").exists(),
            90,
            "the redelivered reminder",
            fresh,
        )
        time.sleep(2)
    finally:
        fresh.stop()
    message = VisitMessage.objects.get()
    assert message.status == "sent" and message.attempts >= 2
    assert sms_count(slow, fresh) == 1
    assert "Traceback" not in fresh.output(), fresh.output()
