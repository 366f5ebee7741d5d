import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from readings import api
from readings.models import DeviceToken, Reading, Upload
from tests.readings.helpers import DEXCOM, login, plain_csv

ROW = {
    "timestamp": "2024-05-01T08:00:00+02:00",
    "value": 120,
    "unit": "mg/dL",
    "kind": "cgm",
    "device": "G7",
}


def post_batch(client, patient, rows, **headers):
    return client.post(
        reverse("api-patients-readings", args=[patient.pk]),
        {"readings": rows},
        content_type="application/json",
        **headers,
    )


def token_header(patient) -> dict:
    _, key = DeviceToken.issue(patient=patient, name="phone")
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_it_accepts_a_batch_and_rejects_bad_rows_by_index(client, patient):
    login(client, patient.user)
    rows = [
        ROW,
        {**ROW, "timestamp": 1714550700000, "value": 7.0, "unit": "mmol/L"},
        {**ROW, "timestamp": "2024-05-01T08:10:00", "value": 130},  # naive
        {**ROW, "timestamp": "2024-05-01T08:15:00Z", "value": "120"},  # text
        {**ROW, "timestamp": "2024-05-01T08:20:00Z", "value": True},
        {**ROW, "timestamp": "2024-05-01T08:25:00Z", "value": 2000},
        {**ROW, "timestamp": "2024-05-01T08:30:00Z", "kind": "ketone"},
        "nonsense",
        {**ROW, "timestamp": "2024-05-01T08:35:00Z", "value": 10.0, "unit": "mmol/L"},
    ]
    response = post_batch(client, patient, rows)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 3 and body["duplicates"] == 0
    assert [row["line"] for row in body["rejected"]] == [3, 4, 5, 6, 7, 8]
    assert "offset" in body["rejected"][0]["reason"]
    values = sorted(Reading.objects.values_list("value_mg_dl", flat=True))
    assert values == [120, 126, 180]  # mmol/L rounded as the parsers do (7.0 -> 126, 10 -> 180)
    assert post_batch(client, patient, [ROW]).json()["duplicates"] == 1


def test_it_answers_bad_bodies_with_detail_not_500(client, patient):
    login(client, patient.user)
    for body in ({}, {"readings": "x"}, {"readings": []}):
        response = client.post(
            reverse("api-patients-readings", args=[patient.pk]),
            body,
            content_type="application/json",
        )
        assert response.status_code == 400 and "detail" in response.json()
    response = client.post(
        reverse("api-patients-readings", args=[patient.pk]),
        "{not json",
        content_type="application/json",
    )
    assert response.status_code == 400 and "detail" in response.json()


def test_it_lets_a_device_token_post_for_its_patient_only(client, patient, other_patient):
    headers = token_header(patient)
    assert post_batch(client, patient, [ROW], **headers).json()["accepted"] == 1
    assert post_batch(client, other_patient, [ROW], **headers).status_code == 403
    url = reverse("api-patients-readings", args=[patient.pk])
    assert client.get(url, **headers).status_code == 403
    assert client.get(reverse("api-patients-uploads", args=[patient.pk]), **headers).status_code
    assert (
        client.get(reverse("api-patients-uploads", args=[patient.pk]), **headers).status_code == 403
    )


def test_it_refuses_a_revoked_device_token(client, patient, alice):
    token, key = DeviceToken.issue(patient=patient, name="phone")
    login(client, alice)
    url = reverse("api-patients-device-tokens-revoke", args=[patient.pk, token.pk])
    assert client.delete(url).status_code == 204
    client.logout()
    response = post_batch(client, patient, [ROW], HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code in (401, 403) and "detail" in response.json()


def test_it_lets_clinicians_post_and_list_readings_with_filters(client, patient, alice):
    login(client, alice)
    rows = [
        {**ROW, "timestamp": f"2024-05-0{d}T12:00:00Z", "kind": k}
        for d in (1, 2, 3)
        for k in ("cgm", "smbg")
    ]
    assert post_batch(client, patient, rows).json()["accepted"] == 6
    url = reverse("api-patients-readings", args=[patient.pk])
    body = client.get(url, {"start": "2024-05-02", "end": "2024-05-02", "kind": "cgm"}).json()
    assert body["count"] == 1
    assert body["results"][0]["value_mg_dl"] == 120 and body["results"][0]["device"] == "G7"
    mmol = client.get(url, {"unit": "mmol/L", "kind": "smbg"}).json()["results"][0]
    assert mmol["value"] == 6.7 and mmol["unit"] == "mmol/L"
    assert client.get(url, {"start": "yesterday"}).status_code == 400


def test_it_refuses_outsiders_readings(client, patient, bob, staff, other_patient):
    url = reverse("api-patients-readings", args=[patient.pk])
    for outsider in (bob, staff, other_patient.user):
        login(client, outsider)
        assert client.get(url).status_code == 404
        assert post_batch(client, patient, [ROW]).status_code == 404
    assert not Reading.objects.exists()


def upload_file(client, patient, data, name="export.csv", **extra):
    return client.post(
        reverse("api-patients-uploads", args=[patient.pk]),
        {"file": SimpleUploadedFile(name, data), **extra},
    )


def test_it_imports_a_small_upload_at_once(client, patient):
    login(client, patient.user)
    response = upload_file(client, patient, DEXCOM.read_bytes(), name="clarity.csv")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("file", "format", "accepted", "duplicates", "rejected")} == {
        "file": "clarity.csv",
        "format": "dexcom",
        "accepted": 2148,
        "duplicates": 0,
        "rejected": [],
    }
    status = client.get(reverse("api-uploads-detail", args=[body["id"]])).json()
    assert status["status"] == "done" and status["progress_percent"] == 100
    listing = client.get(reverse("api-patients-uploads", args=[patient.pk])).json()
    assert [row["id"] for row in listing["results"]] == [body["id"]]


def test_it_answers_an_unreadable_upload_with_the_reason(client, patient):
    login(client, patient.user)
    response = upload_file(client, patient, b"nothing useful here\n")
    assert response.status_code == 400 and "not a known device export" in response.json()["detail"]
    assert Upload.objects.get().status == Upload.Status.FAILED


def test_it_queues_a_large_upload(
    client, patient, staff, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(api, "SYNC_UPLOAD_MAX_BYTES", 1000)
    login(client, staff)  # staff import the files patients bring
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_file(
            client, patient, plain_csv(dt.datetime(2024, 5, 1, tzinfo=dt.UTC), 100)
        )
    assert response.status_code == 202, response.content
    status = client.get(response.json()["status_url"]).json()
    assert status["status"] == "done" and status["accepted"] == 100


def test_it_refuses_outsiders_uploads(client, patient, bob, other_staff, other_patient):
    login(client, patient.user)
    upload_id = upload_file(client, patient, DEXCOM.read_bytes()).json()["id"]
    for outsider in (bob, other_staff, other_patient.user):
        login(client, outsider)
        assert upload_file(client, patient, DEXCOM.read_bytes()).status_code == 404
        assert client.get(reverse("api-uploads-detail", args=[upload_id])).status_code == 404
        assert client.get(reverse("api-patients-uploads", args=[patient.pk])).status_code == 404


def test_it_issues_device_tokens_to_the_patient_and_refuses_outsiders(client, patient, bob, staff):
    login(client, patient.user)
    url = reverse("api-patients-device-tokens", args=[patient.pk])
    issued = client.post(url, {"name": "xDrip"}, content_type="application/json").json()
    assert issued["key"].startswith("dt_")
    assert [t["name"] for t in client.get(url).json()] == ["xDrip"]
    assert "key" not in client.get(url).json()[0]
    for outsider in (bob, staff):
        login(client, outsider)
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("path", ["/api/schema/"])
def test_it_documents_the_readings_endpoints(client, alice, path):
    login(client, alice)
    content = client.get(path).content
    assert b"/api/v1/patients/{id}/readings/" in content
    assert b"patients_uploads_create" in content


def test_it_lets_only_the_patient_grant_a_read_token(client, patient, alice):
    url = reverse("api-patients-device-tokens", args=[patient.pk])
    login(client, alice)
    response = client.post(url, {"name": "follower", "scope": "read", "grant_read": True})
    assert response.status_code == 403 and not DeviceToken.objects.exists()
    assert client.post(url, {"name": "xdrip"}).json()["scope"] == "upload"
    login(client, patient.user)
    assert client.post(url, {"name": "follower", "scope": "read"}).status_code == 400
    response = client.post(url, {"name": "follower", "scope": "read", "grant_read": True})
    assert response.status_code == 201 and response.json()["scope"] == "read"


def test_it_keeps_a_read_token_from_adding_readings(client, patient):
    _, key = DeviceToken.issue(patient=patient, name="follower", scope="read")
    response = post_batch(client, patient, [ROW], HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403 and not Reading.objects.exists()


@pytest.mark.parametrize(
    "params", [{"end": "9999-12-31"}, {"start": "0001-01-01"}, {"start": "0001-01-01T00:00:00"}]
)
def test_it_answers_dates_beyond_the_calendar_with_400(client, patient, params):
    patient.timezone = "Pacific/Kiritimati"  # UTC+14: local year 1 is before UTC's
    patient.save()
    login(client, patient.user)
    response = client.get(reverse("api-patients-readings", args=[patient.pk]), params)
    assert response.status_code == 400 and "detail" in response.json()


def test_it_ignores_server_owned_fields_of_a_device_token(client, patient, other_patient):
    login(client, patient.user)
    body = {
        "name": "phone",
        "patient": other_patient.pk,
        "key_hash": "0" * 64,
        "revoked_at": "2000-01-01T00:00:00Z",
        "last_used_at": "2000-01-01T00:00:00Z",
    }
    response = client.post(
        reverse("api-patients-device-tokens", args=[patient.pk]), body, "application/json"
    )
    assert response.status_code == 201
    token = DeviceToken.objects.get()
    assert token.patient == patient and token.key_hash != "0" * 64
    assert token.revoked_at is None and token.last_used_at is None and token.scope == "upload"


def test_it_refuses_an_upload_over_the_limit_with_json(client, patient, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.UPLOAD_MAX_BYTES = 1000
    login(client, patient.user)
    url = reverse("api-patients-uploads", args=[patient.pk])
    for size, code in ((70_000, 413), (1200, 400)):
        response = client.post(url, {"file": SimpleUploadedFile("big.csv", b"x" * size)})
        assert response.status_code == code and "larger than" in str(response.json()["detail"])
    assert not Upload.objects.exists()


def test_a_read_token_is_issued_with_its_consent_or_not_at_all(patient, monkeypatch):
    """The token and the consent it stands for are one transaction: no token without it."""
    import pytest

    from readings.models import DeviceToken
    from readings.services import device_token_issue

    def refuse(**kwargs):
        raise RuntimeError("consent could not be stored")

    monkeypatch.setattr("patients.consent.consent_record", refuse)
    with pytest.raises(RuntimeError):
        device_token_issue(patient=patient, name="follower", scope="read", by=patient.user)
    assert not DeviceToken.objects.filter(patient=patient).exists()


NESTED = b"[" * 100_000  # README: JSON nested 100,000 deep answers 4xx, files too


def test_it_answers_a_deeply_nested_upload_with_the_reason(
    client, patient, monkeypatch, django_capture_on_commit_callbacks
):
    login(client, patient.user)
    for fmt in ("nightscout", "tidepool"):
        response = upload_file(client, patient, NESTED, name="deep.json", format=fmt)
        assert response.status_code == 400, response.content[:200]
        assert "nested too deeply" in response.json()["detail"]
        assert Upload.objects.latest("pk").status == Upload.Status.FAILED
    monkeypatch.setattr(api, "SYNC_UPLOAD_MAX_BYTES", 1000)  # through the Celery task
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_file(client, patient, NESTED, name="deep.json", format="tidepool")
    assert response.status_code == 202, response.content[:200]
    status = client.get(response.json()["status_url"]).json()
    assert status["status"] == "failed" and "nested too deeply" in status["error"]
