"""Erasing a patient on request: data and files gone, account closed, tombstone audited."""

import datetime as dt
import os
import stat

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditEvent
from patients.consent import consent_record
from patients.models import Consent, Patient
from readings.models import DeviceToken, Reading, Upload
from readings.services import nightscout_link_ensure, upload_create, upload_process
from tests.readings.helpers import plain_csv
from visits.models import CalendarFeed


def _upload(patient, by) -> Upload:
    data = plain_csv(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 12)
    upload = upload_create(
        patient=patient, by=by, file=SimpleUploadedFile("a.csv", data), filename="a.csv"
    )
    return upload_process(upload_id=upload.pk)


def test_it_keeps_upload_files_private(patient):
    upload = _upload(patient, patient.user)
    path = upload.file.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_it_erases_a_patient_on_request_and_leaves_a_tombstone(
    client, admin_user, patient, other_patient, django_capture_on_commit_callbacks
):
    upload = _upload(patient, patient.user)
    _upload(other_patient, other_patient.user)
    path = upload.file.path
    DeviceToken.issue(patient=patient, name="phone")
    nightscout_link_ensure(patient=patient)
    consent_record(patient=patient, topic="care", given=True, by=patient.user)
    CalendarFeed.issue(patient.user)
    patient_id, user = patient.pk, patient.user
    assert Reading.objects.filter(patient=patient).count() == 12
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:patients_patient_changelist"),
            {"action": "erase_on_request", "_selected_action": [patient_id]},
        )
    assert response.status_code == 302
    assert not Patient.objects.filter(pk=patient_id).exists()
    assert not Reading.objects.filter(patient_id=patient_id).exists()
    assert not DeviceToken.objects.filter(patient_id=patient_id).exists()
    assert not os.path.exists(path)
    user.refresh_from_db()
    assert not user.is_active and not user.has_usable_password()
    tombstone = AuditEvent.objects.get(action="erase")
    assert (tombstone.patient_id, tombstone.username) == (patient_id, "ada")
    assert "12 readings" in tombstone.what and "1 files" in tombstone.what
    assert "1 consents" in tombstone.what
    assert not Consent.objects.filter(patient_id=patient_id).exists()
    assert not CalendarFeed.objects.filter(user=user).exists()
    assert Reading.objects.filter(patient=other_patient).count() == 12  # others untouched


def test_it_refuses_erasure_and_plain_deletion_to_non_admins(client, staff, alice, patient):
    for outsider in (staff, alice):
        client.force_login(outsider)
        response = client.post(
            reverse("admin:patients_patient_changelist"),
            {"action": "erase_on_request", "_selected_action": [patient.pk]},
        )
        assert response.status_code == 302 and "/admin/login/" in response.url
    assert Patient.objects.filter(pk=patient.pk).exists()
