"""Upload files on disk: private, and removed when no longer needed (issue #12, item 16)."""

import datetime as dt
import os
import stat

from django.utils import timezone

from readings.models import Reading, Upload
from readings.services import upload_create, upload_process, uploads_sweep
from tests.readings.helpers import plain_csv

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _create(patient, data: bytes) -> Upload:
    return upload_create(patient=patient, by=None, file=data, filename="a.csv")


def _finished(upload: Upload, status: str, days_ago: float) -> None:
    Upload.objects.filter(pk=upload.pk).update(
        status=status, finished_at=timezone.now() - dt.timedelta(days=days_ago)
    )


def test_it_stores_upload_files_readable_by_the_app_only(patient):
    upload = _create(patient, plain_csv(T0, 3))
    path = upload.file.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    folder = os.path.dirname(path)
    for directory in (folder, os.path.dirname(folder), os.path.dirname(os.path.dirname(folder))):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700, directory


def test_it_removes_the_file_once_imported_cleanly_and_still_finds_duplicates(
    patient, django_capture_on_commit_callbacks
):
    data = plain_csv(T0, 12)
    upload = _create(patient, data)
    path = upload.file.path
    with django_capture_on_commit_callbacks(execute=True):
        upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.DONE and upload.accepted == 12
    assert not upload.file and not os.path.exists(path)
    # The same file again: recognised from the stored readings, nothing added.
    again = _create(patient, data)
    with django_capture_on_commit_callbacks(execute=True):
        upload_process(upload_id=again.pk)
    again.refresh_from_db()
    assert (again.accepted, again.duplicates) == (0, 12)
    assert Reading.objects.filter(patient=patient).count() == 12


def test_it_keeps_the_file_of_an_import_with_rejected_rows_for_diagnosis(
    patient, django_capture_on_commit_callbacks
):
    upload = _create(patient, plain_csv(T0, 5, bad={2}))
    with django_capture_on_commit_callbacks(execute=True):
        upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.DONE and upload.rejected_count == 1
    assert upload.file and os.path.exists(upload.file.path)


def test_the_sweep_deletes_only_files_past_retention(patient, settings):
    settings.UPLOAD_RETENTION_DAYS = 30
    old_failed = _create(patient, b"junk 1")
    recent_failed = _create(patient, b"junk 2")
    old_partial = _create(patient, plain_csv(T0, 5, bad={1}))
    pending = _create(patient, plain_csv(T0, 5))
    Upload.objects.filter(pk=old_partial.pk).update(rejected_total=1)
    _finished(old_failed, Upload.Status.FAILED, 31)
    _finished(recent_failed, Upload.Status.FAILED, 29)
    _finished(old_partial, Upload.Status.DONE, 31)
    Upload.objects.filter(pk=pending.pk).update(progress_at=timezone.now())
    paths = {u.pk: u.file.path for u in (old_failed, recent_failed, old_partial, pending)}

    assert uploads_sweep()["files_deleted"] == 2
    for upload, gone in (
        (old_failed, True),
        (old_partial, True),
        (recent_failed, False),
        (pending, False),
    ):
        upload.refresh_from_db()
        assert bool(upload.file) is not gone and os.path.exists(paths[upload.pk]) is not gone
    assert uploads_sweep()["files_deleted"] == 0  # run twice: nothing more


def test_the_sweep_deletes_a_clean_import_file_left_behind(patient):
    upload = _create(patient, plain_csv(T0, 4))
    upload_process(upload_id=upload.pk)  # its commit callback never ran (test transaction)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.DONE and upload.file
    path = upload.file.path
    assert uploads_sweep()["files_deleted"] == 1
    assert not os.path.exists(path)
