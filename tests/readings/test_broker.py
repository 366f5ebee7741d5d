"""Uploads on a real broker: a worker killed mid-import leaves nothing stuck "processing".

Run in CI's second phase (PostgreSQL + Redis, REQUIRE_REAL_SERVICES=1), like
tests/reports/test_broker.py, whose worker helper this reuses. ``UPLOAD_TEST_DELAY_SECONDS``
(read in ``readings.services``) makes each chunk slow enough to kill the worker in the middle.
"""

import datetime as dt
import time
import uuid

import pytest

from readings.models import Reading, Upload
from readings.services import upload_create, uploads_sweep
from readings.tasks import process_upload
from tests.readings.helpers import plain_csv
from tests.reports.test_broker import Worker, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
ROWS = 20_000  # four chunks


@pytest.fixture
def queue():
    """A queue of this test's own, and messages really sent to Redis (unit tests run eagerly)."""
    from diabetes_center.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield f"readings-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = eager


def test_it_recovers_an_upload_whose_worker_was_killed_mid_import(patient, queue, tmp_path):
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    upload = upload_create(
        patient=patient, by=None, file=plain_csv(start, ROWS), filename="big.csv"
    )
    slow = Worker(queue, tmp_path, "slow", UPLOAD_TEST_DELAY_SECONDS="20")
    try:
        slow.wait_for("ready.")
        process_upload.apply_async((upload.pk,), queue=queue)
        wait_until(
            lambda: Upload.objects.get(pk=upload.pk).status == Upload.Status.PROCESSING,
            60,
            "the claim",
            slow,
        )
        time.sleep(2)  # inside the first chunk's delay: half done
        slow.kill()
    finally:
        slow.kill()
    upload.refresh_from_db()
    assert upload.status == Upload.Status.PROCESSING and not Reading.objects.exists()
    fresh = Worker(queue, tmp_path, "fresh")
    try:
        fresh.wait_for("ready.")
        time.sleep(10)  # the killed task is redelivered (6 s visibility) and finds it claimed
        assert Upload.objects.get(pk=upload.pk).status == Upload.Status.PROCESSING
        counts = uploads_sweep(
            stale_after=dt.timedelta(0),
            enqueue=lambda pk: process_upload.apply_async((pk,), queue=queue),
        )
        assert counts["requeued"] == 1
        wait_until(
            lambda: Upload.objects.get(pk=upload.pk).status == Upload.Status.DONE,
            90,
            "the re-queued import",
            fresh,
        )
    finally:
        fresh.stop()
    upload.refresh_from_db()
    assert upload.accepted == ROWS and upload.attempts == 2
    assert Reading.objects.filter(patient=patient).count() == ROWS
    assert "Traceback" not in fresh.output(), fresh.output()
