"""Redis down: uploads still succeed, and the work they leave runs when Redis is back.

The broker is a private redis-server (tests/faults/servers.py) that the test stops; the
shared one is never touched. While it is down, the API upload (202), the upload page (302),
a time-zone change (rollups rebuilt in a task) and a cancelled visit (a message in a task)
all answer at once: their work waits in the outbox (``outbox.services``). Then Redis comes
back, a worker starts (as the app role, ``db_roles``), sends what waited (``worker_ready``)
and does it.
"""

import datetime as dt
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

import readings.api
import readings.views
from outbox.models import OutboxTask
from outbox.services import outbox_dispatch
from readings.models import DailyRollup, Reading, Upload
from tests.readings.helpers import login, plain_csv
from tests.reports.test_broker import Worker, wait_until
from visits.models import Visit, VisitMessage
from visits.services import visit_cancel

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
ROWS = 600


def test_it_accepts_work_with_redis_down_and_does_it_when_redis_is_back(
    private_redis, app_role, client, alice, patient, clinic, follow_up, tmp_path, monkeypatch
):
    # Files above this size go to a worker: the path that needs the broker.
    monkeypatch.setattr(readings.api, "SYNC_UPLOAD_MAX_BYTES", 1000)
    monkeypatch.setattr(readings.views, "SYNC_UPLOAD_MAX_BYTES", 1000)
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=2)
    visit = Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=clinic,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
    )
    first = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    login(client, alice)

    private_redis.stop()
    began = time.monotonic()
    api = client.post(
        f"/api/v1/patients/{patient.pk}/uploads/",
        {"file": SimpleUploadedFile("api.csv", plain_csv(first, ROWS)), "format": "auto"},
    )
    assert api.status_code == 202, api.content
    page = client.post(
        f"/patients/{patient.pk}/upload/",
        {
            "file": SimpleUploadedFile("page.csv", plain_csv(first + dt.timedelta(days=3), ROWS)),
            "format": "auto",
            "device": "other",
        },
    )
    assert page.status_code == 302, page.content
    patient.timezone = "Asia/Tokyo"  # local days move: the rollups are rebuilt in a task
    patient.save()
    visit_cancel(visit=visit, by=alice, reason="Clinic closed")
    assert time.monotonic() - began < 20  # no request waits long for a broker that is away
    assert Upload.objects.filter(status=Upload.Status.PENDING).count() == 2
    waiting = OutboxTask.objects.filter(done_at=None, sent_at=None)
    assert waiting.count() == 4, list(OutboxTask.objects.values())
    assert outbox_dispatch()["broker_down"]  # beat's dispatcher finds the broker still away
    assert waiting.count() == 4

    private_redis.start()
    worker = Worker(
        settings.ALL_QUEUES,
        tmp_path,
        "back",
        CELERY_BROKER_URL=private_redis.url,
        DATABASE_URL=app_role.url,
    )
    try:
        worker.wait_for("ready.")
        wait_until(
            lambda: not OutboxTask.objects.filter(done_at=None).exists(),
            90,
            "the deferred work",
            worker,
        )
    finally:
        worker.stop()
    assert list(Upload.objects.values_list("status", "accepted")) == [("done", ROWS)] * 2, list(
        Upload.objects.values_list("status", "error")
    )
    assert Reading.objects.filter(patient=patient).count() == 2 * ROWS
    # Rebuilt in Tokyo's days: 1 March (UTC+9) holds the readings of 00:00–14:55 UTC only.
    first_day = DailyRollup.objects.get(patient=patient, kind="cgm", date=dt.date(2025, 3, 1))
    assert first_day.count == 15 * 12
    message = VisitMessage.objects.get(visit=visit, kind="cancelled")
    assert message.status == VisitMessage.Status.SENT
    assert OutboxTask.objects.filter(last_error__startswith="failed").count() == 0
    assert "Traceback" not in worker.output(), worker.output()
