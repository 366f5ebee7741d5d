"""Consultation pages and API: the patient asks with a photo, the care team answers in the
studio, outsiders are refused (404 outside one's view, 403 for a role that never may)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from consultations import services
from consultations.models import Consultation, MedicationRequest, Photo
from consultations.photos import PHOTO_MAX_BYTES
from tests.conftest import PASSWORD
from tests.consultations.helpers import has_gps, jpeg_with_gps

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def photo(name="meal.jpg", data=None):
    return SimpleUploadedFile(name, data or jpeg_with_gps(), "image/jpeg")


def test_it_asks_with_a_photo_stored_without_gps(patient, clock):
    client = client_for(patient.user)
    page = client.get(reverse("consultations-ask"))
    assert page.status_code == 200
    assert b"emergency" in page.content and b"service-levels" in page.content
    response = client.post(
        reverse("consultations-ask"),
        {"category": "glucose", "text": "High after lunch", "photos": [photo()]},
    )
    consultation = Consultation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("consultations-detail", args=[consultation.pk])
    stored = Photo.objects.get()
    with stored.file.open("rb") as f:
        data = f.read()
    assert not has_gps(data)
    served = client.get(reverse("consultations-photo", args=[stored.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == data


def test_a_60_mb_upload_is_refused_with_a_message(patient, clock):
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (60 * 1024 * 1024), "image/jpeg")
    response = client_for(patient.user).post(
        reverse("api-consultations-list"),
        {"category": "glucose", "text": "Look", "photos": [big]},
    )
    assert response.status_code == 413
    assert "10 MB" in response.json()["detail"]
    assert not Consultation.objects.exists()


def test_a_non_image_is_refused_with_a_message(patient, clock):
    fake = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 an executable", "image/jpeg")
    page = client_for(patient.user).post(
        reverse("consultations-ask"), {"category": "glucose", "text": "x", "photos": [fake]}
    )
    assert page.status_code == 400
    assert b"JPEG, PNG or HEIC" in page.content
    response = client_for(patient.user).post(
        reverse("api-consultations-list"), {"category": "glucose", "text": "x", "photos": [fake]}
    )
    assert response.status_code == 400 and "JPEG, PNG or HEIC" in response.json()["detail"]


def test_six_photos_are_refused(patient, clock):
    response = client_for(patient.user).post(
        reverse("api-consultations-list"),
        {"category": "glucose", "text": "x", "photos": [photo(f"{i}.jpg") for i in range(6)]},
    )
    assert response.status_code == 400


def test_the_studio_shows_the_question_beside_the_data(with_data, alice, clock):
    consultation = services.consultation_ask(
        patient=with_data,
        by=with_data.user,
        category="glucose",
        text="Why so high?",
        photos=[photo()],
    )
    page = client_for(alice).get(reverse("consultations-detail", args=[consultation.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Why so high?" in body and "snapshot-agp" in body and "today-agp" in body
    assert f"?prompt=consultations.consultation:{consultation.pk}" in body
    assert "Insulin glargine" in body  # the current plan
    assert "No open remote-monitoring alerts." in body
    from monitoring.models import Alert

    alert = Alert.objects.create(
        patient=with_data, kind="urgent_low", opened_at=timezone.now(), since=timezone.now()
    )
    body = client_for(alice).get(reverse("consultations-detail", args=[consultation.pk]))
    assert f'href="/monitoring/alerts/{alert.pk}/"' in body.content.decode()
    inbox = client_for(alice).get(reverse("consultations-list"))
    assert f'data-consultation="{consultation.pk}"' in inbox.content.decode()


def test_the_care_team_answers_and_the_patient_reads_it(patient, alice, clock):
    consultation = services.consultation_ask(
        patient=patient, by=patient.user, category="lifestyle", text="Can I run?"
    )
    url = reverse("consultations-detail", args=[consultation.pk])
    assert client_for(alice).post(url, {"text": "Yes, carry glucose tablets"}).status_code == 302
    page = client_for(patient.user).get(url)
    assert "Yes, carry glucose tablets" in page.content.decode()
    home = client_for(patient.user).get(reverse("home"))
    assert b"ask-care-team" in home.content
    close = client_for(alice).post(
        reverse("consultations-close", args=[consultation.pk]), {"outcome": "answered"}
    )
    assert close.status_code == 302
    assert client_for(patient.user).post(url, {"text": "thanks"}).status_code == 409


def test_outsiders_are_refused_every_page(patient, bob, staff, other_patient, clock):
    consultation = services.consultation_ask(
        patient=patient, by=patient.user, category="glucose", text="secret"
    )
    item_photo = None
    for user in (bob, staff, other_patient.user):
        client = client_for(user)
        for name in ("consultations-detail", "consultations-close", "consultations-assign"):
            response = client.post(reverse(name, args=[consultation.pk]), {"text": "x"})
            assert response.status_code == 404, (user, name)
        assert (
            client.get(reverse("api-consultations-detail", args=[consultation.pk])).status_code
            == 404
        )
        assert b"secret" not in client.get(reverse("consultations-list")).content
    assert client_for(staff).get(reverse("consultations-list")).status_code == 403
    assert client_for(staff).get(reverse("api-consultations-list")).status_code == 403
    assert item_photo is None


def test_the_api_thread_lists_messages_with_photo_urls(patient, alice, clock):
    client = client_for(patient.user)
    created = client.post(
        reverse("api-consultations-list"),
        {"category": "devices", "text": "Sensor fell off", "photos": [photo()]},
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    answer = client_for(alice).post(
        reverse("api-consultations-messages", args=[pk]),
        {"text": "Use an overpatch"},
        content_type="application/json",
    )
    assert answer.status_code == 201
    thread = client.get(reverse("api-consultations-detail", args=[pk])).json()
    assert [(m["author"], m["text"]) for m in thread["messages"]] == [
        ("pat", "Sensor fell off"),
        ("Alice", "Use an overpatch"),
    ]
    assert thread["messages"][0]["photos"][0].startswith("http://testserver/consultations/photos/")
    assert thread["messages"][0]["at"]
    closed = client_for(alice).post(
        reverse("api-consultations-close", args=[pk]),
        {"outcome": "plan_changed"},
        content_type="application/json",
    )
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    # The patient may never close: 403 (their own consultation).
    assert (
        client.post(
            reverse("api-consultations-close", args=[pk]),
            {"outcome": "answered"},
            content_type="application/json",
        ).status_code
        == 403
    )


def test_hostile_input_is_a_4xx(patient, clock):
    client = client_for(patient.user)
    for body in (
        {"category": "glucose", "text": "a\x00b"},
        {"category": "glucose", "text": "\ud800"},
        {"category": "glucose", "text": "x" * 100_000},
        {"category": 10**400, "text": "x"},
        {"category": ["glucose"], "text": {"a": 1}},
    ):
        response = client.post(
            reverse("api-consultations-list"), body, content_type="application/json"
        )
        assert 400 <= response.status_code < 500, body
    page = client.post(reverse("consultations-ask"), {"category": "glucose", "text": "a\x00b"})
    assert page.status_code == 400


def test_a_repeat_request_is_approved_and_printed(with_data, alice, clock):
    patient = with_data
    created = client_for(patient.user).post(
        reverse("api-patients-medication-requests", args=[patient.pk]),
        {"medication": "Insulin glargine", "quantity": 3, "note": "travelling"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert (
        client_for(patient.user)
        .post(
            reverse("api-medication-requests-decide", args=[pk]),
            {"approved": True},
            content_type="application/json",
        )
        .status_code
        == 403
    )
    decided = client_for(alice).post(
        reverse("api-medication-requests-decide", args=[pk]),
        {"approved": True, "note": "ok"},
        content_type="application/json",
    )
    assert decided.status_code == 200 and decided.json()["state"] == "approved"
    slip = client_for(patient.user).get(reverse("medication-requests-slip", args=[pk]))
    assert slip.status_code == 200 and slip.content.startswith(b"%PDF")
    assert MedicationRequest.objects.get().decided_by == alice


def test_a_clinician_saves_a_reply_in_both_languages(alice, patient, clock):
    client = client_for(alice)
    response = client.post(
        reverse("consultations-templates"),
        {"title": "Hypo", "text_en": "Treat with 15 g", "text_zh": "补充15克糖"},
    )
    assert response.status_code == 302
    patient.language = "zh-hans"
    patient.save()
    consultation = services.consultation_ask(
        patient=patient, by=patient.user, category="glucose", text="低血糖"
    )
    page = client.get(reverse("consultations-detail", args=[consultation.pk]))
    assert "补充15克糖" in page.content.decode()
    assert client_for(patient.user).get(reverse("consultations-templates")).status_code == 403


def test_a_photo_is_not_served_to_an_outsider(patient, bob, staff, clock):
    services.consultation_ask(
        patient=patient, by=patient.user, category="glucose", text="look", photos=[photo()]
    )
    stored = Photo.objects.get()
    for user in (bob, staff):
        assert (
            client_for(user).get(reverse("consultations-photo", args=[stored.pk])).status_code
            == 404
        )


def test_image_helpers_make_a_real_image():
    with Image.open(io.BytesIO(jpeg_with_gps())) as image:
        assert image.format == "JPEG"
    assert PHOTO_MAX_BYTES == 10 * 1024 * 1024
    assert PASSWORD


def test_the_patients_own_download_holds_their_consultations(patient, alice, clock):
    import zipfile

    consultation = services.consultation_ask(
        patient=patient, by=patient.user, category="devices", text="=cmd|' /C calc'!A0"
    )
    services.consultation_post(consultation=consultation, by=alice, text="Replace the sensor")
    response = client_for(patient.user).get(reverse("patients-export-zip", args=[patient.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    rows = archive.read("consultations.csv").decode().splitlines()
    assert len(rows) == 3 and "Replace the sensor" in rows[2] and "care team" in rows[2]
    assert "'=cmd" in rows[1]  # no spreadsheet formula (safe_cell)
    assert archive.read("medication_requests.csv").decode().startswith("product,")


def test_a_repeat_request_is_never_declined_by_omission(with_data, alice, clock):
    item = services.medication_request_create(
        patient=with_data, by=with_data.user, medication="0", quantity=1
    )
    url = reverse("medication-requests-detail", args=[item.pk])
    for body in ({}, {"decision": "maybe"}, {"note": "no decision"}):
        response = client_for(alice).post(url, body)
        assert response.status_code == 400, body
        assert "approve or decline" in response.content.decode()
    item.refresh_from_db()
    assert item.state == MedicationRequest.State.PENDING
    declined = client_for(alice).post(url, {"decision": "decline", "note": "see me first"})
    assert declined.status_code == 302
    item.refresh_from_db()
    assert item.state == MedicationRequest.State.DECLINED


def test_times_show_in_the_patients_zone_on_their_pages_and_the_centers_in_the_studio(
    patient, alice, clock
):
    """Through the display layer: 12:00 UTC is 20:00 in Shanghai (the patient's page) and
    noon in the center's zone (UTC here), never the server's zone by accident."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.utils.formats import date_format

    from tests.consultations.conftest import NOW

    patient.timezone = "Asia/Shanghai"
    patient.save()
    consultation = services.consultation_ask(
        patient=patient, by=patient.user, category="glucose", text="When?"
    )
    url = reverse("consultations-detail", args=[consultation.pk])
    shanghai = date_format(NOW.astimezone(ZoneInfo("Asia/Shanghai")), "SHORT_DATETIME_FORMAT")
    center_zone = patient.care_center.timezone
    at_center = date_format(NOW.astimezone(ZoneInfo(center_zone)), "SHORT_DATETIME_FORMAT")
    assert shanghai != at_center
    mine = client_for(patient.user).get(url).content.decode()
    assert shanghai in mine and at_center not in mine
    studio = client_for(alice).get(url).content.decode()
    assert at_center in studio and shanghai not in studio
    assert dt.date(2026, 3, 1).isoformat() not in studio  # the snapshot's days, formatted
