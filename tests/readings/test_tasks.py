"""Readings tasks: zone-change rebuild, the upload sweep; each safe to run twice."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from readings import services
from readings.models import DailyRollup, Reading, Upload
from readings.parsers import Reading as Record
from readings.services import readings_ingest, upload_create, uploads_sweep
from readings.tasks import rebuild_rollups, sweep_uploads
from readings.windows import rollup_metrics
from tests.readings.helpers import login, plain_csv
from workspace.metrics_api import patient_metrics

DAY = dt.date(2024, 5, 1)
START = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def add_days(patient, days: int, *, step_minutes=5):
    start = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    items = [
        Record(i + 1, start + dt.timedelta(minutes=step_minutes * i), 60.0 + (i * 37) % 250, "cgm")
        for i in range(days * 1440 // step_minutes)
    ]
    with transaction.atomic():
        readings_ingest(patient=patient, items=items)


def rollups(patient) -> dict:
    return {r.date: r.count for r in DailyRollup.objects.filter(patient=patient, kind="cgm")}


def test_it_rebuilds_rollups_when_the_time_zone_changes(
    client, alice, patient, django_capture_on_commit_callbacks
):
    add_days(patient, 3)
    assert set(rollups(patient)) == {DAY, DAY + dt.timedelta(1), DAY + dt.timedelta(2)}
    login(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            reverse("api-patients-detail", args=[patient.pk]),
            {"timezone": "Asia/Shanghai"},
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    by_day = rollups(patient)
    # UTC midnight is 08:00 in Shanghai: the first local day has 16 hours, a fourth appears.
    assert by_day[DAY] == 16 * 12 and by_day[DAY + dt.timedelta(3)] == 8 * 12
    start, end = DAY, DAY + dt.timedelta(3)
    patient.refresh_from_db()
    triage = rollup_metrics([patient.pk], start=start, end=end)[patient.pk]
    raw = patient_metrics(patient, start=start, end=end)
    for key in ("readings", "mean_mg_dl", "in_range_percent", "active_percent", "lbgi"):
        assert triage[key] == raw[key], key


def test_it_rebuilds_the_same_rollups_when_run_twice(patient):
    add_days(patient, 2)
    before = rollups(patient)
    rebuild_rollups.delay(patient.pk)
    rebuild_rollups.delay(patient.pk)
    assert rollups(patient) == before
    rebuild_rollups.delay(999_999)  # a patient deleted since: nothing to do


def test_it_keeps_a_15_minute_interval_when_readings_come_one_at_a_time(patient):
    # A FreeStyle Libre day, 15-minute readings, 83 of the 96 slots (86.5 %), posted one by
    # one as xDrip+ does.
    start = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    for i in range(83):
        with transaction.atomic():
            readings_ingest(
                patient=patient,
                items=[Record(1, start + dt.timedelta(minutes=15 * i), 120.0, "cgm", "xDrip")],
            )
    (day,) = DailyRollup.objects.filter(patient=patient, kind="cgm")
    assert day.interval_minutes == 15
    triage = rollup_metrics([patient.pk], start=DAY, end=DAY)[patient.pk]
    assert triage["active_percent"] == pytest.approx(100 * 83 / 96, abs=0.1)
    assert patient_metrics(patient, start=DAY, end=DAY)["active_percent"] == pytest.approx(
        triage["active_percent"], abs=0.1
    )


def stale_upload(patient, *, attempts=1, minutes_ago=30) -> Upload:
    upload = upload_create(
        patient=patient,
        by=None,
        file=plain_csv(dt.datetime(2024, 5, 1, tzinfo=dt.UTC), 5),
        filename="x.csv",
    )
    quiet_since = timezone.now() - dt.timedelta(minutes=minutes_ago)
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.PROCESSING, attempts=attempts, progress_at=quiet_since
    )
    return upload


def test_it_requeues_an_upload_whose_worker_died(patient, django_capture_on_commit_callbacks):
    upload = stale_upload(patient)
    fresh = stale_upload(patient, minutes_ago=1)
    with django_capture_on_commit_callbacks(execute=True):
        counts = sweep_uploads.delay().get()
    assert counts["requeued"] == 1
    upload.refresh_from_db()
    fresh.refresh_from_db()
    assert upload.status == Upload.Status.DONE and upload.accepted == 5  # eager re-run
    assert upload.attempts == 2
    assert fresh.status == Upload.Status.PROCESSING  # still alive: left alone
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_uploads.delay().get()["requeued"] == 0  # run twice: nothing more
    assert Reading.objects.count() == 5


def test_it_fails_an_upload_that_died_twice_with_a_reason(patient):
    upload = stale_upload(patient, attempts=2)
    assert uploads_sweep()["failed"] == 1
    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED and "worker died" in upload.error
    assert uploads_sweep()["failed"] == 0


def test_it_deletes_the_file_of_an_old_failed_upload(patient):
    upload = upload_create(patient=patient, by=None, file=b"junk", filename="junk.csv")
    services.upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED and upload.file
    path = upload.file.path
    assert uploads_sweep()["files_deleted"] == 0  # kept a while to look into
    kept = dt.timedelta(days=settings.UPLOAD_RETENTION_DAYS)
    later = timezone.now() + kept + dt.timedelta(hours=1)
    assert uploads_sweep(now=later)["files_deleted"] == 1
    upload.refresh_from_db()
    assert not upload.file
    import os

    assert not os.path.exists(path)
    assert uploads_sweep(now=later)["files_deleted"] == 0


def test_it_has_a_beat_entry_for_the_sweep(db):
    task = PeriodicTask.objects.get(name="readings: upload sweep")
    assert task.task == "readings.tasks.sweep_uploads" and task.enabled


def test_it_takes_over_an_import_whose_worker_went_quiet_and_waits_for_a_live_one(
    patient, settings
):
    """A redelivered process_upload (its first worker was SIGKILLed mid-import) finds the
    upload "processing": while the import shows signs of life it looks again later (a retry,
    not "done": the message must outlive a worker that may yet die); once quiet for
    UPLOAD_STALE_AFTER_SECONDS it imports the file itself, once."""
    from celery.exceptions import Retry

    from readings.tasks import process_upload

    settings.UPLOAD_STALE_AFTER_SECONDS = 60
    upload = upload_create(patient=patient, by=None, file=plain_csv(START, 50), filename="a.csv")
    now = timezone.now()
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.PROCESSING, claimed_at=now, progress_at=now, attempts=1
    )
    with pytest.raises(Retry):
        process_upload(upload.pk)
    assert Upload.objects.get(pk=upload.pk).status == Upload.Status.PROCESSING
    quiet = now - dt.timedelta(seconds=61)
    Upload.objects.filter(pk=upload.pk).update(claimed_at=quiet, progress_at=quiet)
    process_upload(upload.pk)
    process_upload(upload.pk)  # and again: nothing more
    upload.refresh_from_db()
    assert (upload.status, upload.accepted, upload.attempts) == ("done", 50, 2)
    assert Reading.objects.filter(patient=patient).count() == 50


def test_it_fails_rather_than_retakes_an_upload_past_its_attempts(patient, settings):
    settings.UPLOAD_STALE_AFTER_SECONDS = 60
    upload = upload_create(patient=patient, by=None, file=plain_csv(START, 50), filename="a.csv")
    quiet = timezone.now() - dt.timedelta(minutes=5)
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.PROCESSING, claimed_at=quiet, progress_at=quiet, attempts=2
    )
    assert services.upload_process(upload_id=upload.pk) is None
    assert uploads_sweep()["failed"] == 1
    assert not Reading.objects.exists()
