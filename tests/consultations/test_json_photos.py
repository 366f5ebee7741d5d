"""Photos in the JSON API: base64 strings or data: URLs, with the multipart checks (decoded,
typed by decoding, 10 MB each once decoded, at most 5, EXIF stripped); a body larger than
DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 before it is read; the thread's photos are URLs served
through the access check."""

import base64
import json
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from consultations.models import Consultation, Photo
from consultations.photos import PHOTO_MAX_BYTES
from tests.consultations.helpers import has_gps, jpeg_with_gps, png

pytestmark = pytest.mark.django_db

LIST = "api-consultations-list"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client, url, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data, content_type="application/json")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_patient_asks_with_base64_and_data_url_photos(patient, alice, bob, clock):
    client = client_for(patient.user)
    response = post_json(
        client,
        reverse(LIST),
        {
            "category": "lifestyle",
            "text": "My lunch",
            "photos": [b64(jpeg_with_gps()), "data:image/png;base64," + b64(png())],
        },
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert sorted(Photo.objects.values_list("content_type", flat=True)) == [
        "image/jpeg",
        "image/png",
    ]
    thread = client.get(reverse("api-consultations-detail", args=[pk])).json()
    urls = thread["messages"][0]["photos"]
    assert len(urls) == 2 and all(
        u.startswith("http://testserver/consultations/photos/") for u in urls
    )
    for stored in Photo.objects.all():  # private, like device uploads: 0600 in 0700 folders
        on_disk = Path(stored.file.path)
        assert on_disk.stat().st_mode & 0o777 == 0o600
        assert on_disk.parent.stat().st_mode & 0o777 == 0o700
        assert on_disk.suffix in (".jpg", ".png") and "meal" not in on_disk.name
    path = urls[0].removeprefix("http://testserver")
    served = client.get(path)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert not has_gps(b"".join(served.streaming_content))
    # The URL is served through the access check: the care team yes, anyone else 404.
    assert client_for(alice).get(path).status_code == 200
    assert client_for(bob).get(path).status_code == 404


def test_the_care_team_answers_with_a_json_photo(patient, alice, clock):
    created = post_json(
        client_for(patient.user), reverse(LIST), {"category": "devices", "text": "?"}
    )
    pk = created.json()["id"]
    answer = post_json(
        client_for(alice),
        reverse("api-consultations-messages", args=[pk]),
        {"text": "Like this", "photos": ["data:image/jpeg;base64," + b64(jpeg_with_gps())]},
    )
    assert answer.status_code == 201, answer.content
    messages = answer.json()["messages"]
    assert [len(m["photos"]) for m in messages] == [0, 1]
    # A reply with no photos (null) is fine too.
    reply = post_json(
        client_for(patient.user),
        reverse("api-consultations-messages", args=[pk]),
        {"text": "thanks", "photos": None},
    )
    assert reply.status_code == 201


def test_url_safe_base64_with_line_breaks_and_no_padding_is_accepted(patient, clock):
    data = base64.urlsafe_b64encode(jpeg_with_gps((70, 50))).decode().rstrip("=")
    wrapped = "\n".join(data[i : i + 76] for i in range(0, len(data), 76))
    response = post_json(
        client_for(patient.user),
        reverse(LIST),
        {"category": "other", "text": "x", "photos": [wrapped]},
    )
    assert response.status_code == 201, response.content
    assert (Photo.objects.get().width, Photo.objects.get().height) == (70, 50)


@pytest.mark.parametrize(
    ("photos", "status", "says"),
    [
        (["not base64 at all!"], 400, "photos.0 is not valid base64"),
        ([b64(jpeg_with_gps()), "é" * 10], 400, "photos.1 is not valid base64"),
        (["data:image/jpeg," + "%FF%D8"], 400, "must be base64"),
        (["data:;base64"], 400, "must be base64"),
        ([10**400], 400, "base64 string or a data: URL"),
        ([["nested"]], 400, "base64 string or a data: URL"),
        ([""], 400, "base64 string or a data: URL"),
        ("one", 400, "list of base64 strings"),
        ({"0": "x"}, 400, "list of base64 strings"),
        ([b64(b"MZ\x90\x00 an executable")], 400, "JPEG, PNG or HEIC"),
        (["data:image/jpeg;base64," + b64(b"%PDF-1.4")], 400, "JPEG, PNG or HEIC"),
        ([b64(jpeg_with_gps())] * 6, 400, "at most 5 photos"),
        (["A" * 20 for _ in range(10_000)], 400, "at most 5 photos"),
    ],
)
def test_refused_photos_say_why(patient, clock, photos, status, says):
    response = post_json(
        client_for(patient.user),
        reverse(LIST),
        {"category": "glucose", "text": "x", "photos": photos},
    )
    assert response.status_code == status, response.content
    assert says in response.json()["detail"]
    assert not Consultation.objects.exists()


def test_a_photo_over_ten_megabytes_once_decoded_is_413_before_decoding(patient, clock):
    big = b64(b"\xff\xd8" + b"\x00" * PHOTO_MAX_BYTES)  # 10 MB + 2 bytes once decoded
    response = post_json(
        client_for(patient.user),
        reverse(LIST),
        {"category": "glucose", "text": "x", "photos": [big]},
    )
    assert response.status_code == 413
    assert "photos.0 is larger than 10 MB" in response.json()["detail"]
    assert not Consultation.objects.exists()


def test_a_lone_surrogate_or_nul_in_a_photo_is_a_400(patient, clock):
    for bad in ('"\\ud800"', '"ab\\u0000cd"'):
        body = '{"category": "glucose", "text": "x", "photos": [' + bad + "]}"
        response = post_json(client_for(patient.user), reverse(LIST), body)
        assert response.status_code == 400, response.content


def test_a_json_body_larger_than_the_limit_is_413_unread(patient, clock, settings):
    """60 MB of JSON: refused from its Content-Length, with what to do instead."""
    body = b'{"category": "glucose", "text": "x", "photos": ["' + b"A" * (60 * 1024 * 1024) + b'"]}'
    response = post_json(client_for(patient.user), reverse(LIST), body)
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "larger than 50 MB" in detail and "multipart/form-data" in detail
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # the operator's setting is respected
    body = {"category": "glucose", "text": "x", "photos": ["A" * (1536 * 1024)]}
    small = post_json(client_for(patient.user), reverse(LIST), body)
    assert small.status_code == 413 and "larger than 1 MB" in small.json()["detail"]
    assert not Consultation.objects.exists()


def test_every_consultation_route_answers_413_to_a_60_mb_json_body(patient, alice, clock):
    """Routes without photos too: Django refuses the body before reading it (DRF reads JSON
    through ``request.body``); the API answers 413 with JSON, not Django's bare 400 page."""
    created = post_json(client_for(patient.user), reverse(LIST), {"category": "other", "text": "?"})
    pk = created.json()["id"]
    body = b'{"text": "' + b"x" * (60 * 1024 * 1024) + b'"}'
    for url, user in (
        (reverse("api-consultations-messages", args=[pk]), patient.user),
        (reverse("api-consultations-close", args=[pk]), alice),
        (reverse("api-patients-medication-requests", args=[patient.pk]), patient.user),
    ):
        response = post_json(client_for(user), url, body)
        assert response.status_code == 413, (url, response.status_code)
        assert "larger than 50 MB" in response.json()["detail"]


def test_a_json_array_or_scalar_body_is_a_400(patient, alice, clock):
    created = post_json(client_for(patient.user), reverse(LIST), {"category": "other", "text": "?"})
    pk = created.json()["id"]
    for url, user in (
        (reverse(LIST), patient.user),
        (reverse("api-consultations-messages", args=[pk]), alice),
        (reverse("api-consultations-close", args=[pk]), alice),
        (reverse("api-patients-medication-requests", args=[patient.pk]), patient.user),
    ):
        for body in ("[1, 2]", "3", '"text"', "null"):
            response = post_json(client_for(user), url, body)
            assert response.status_code == 400, (url, body, response.content)


def test_a_multipart_body_larger_than_five_photos_is_413_unparsed(patient, clock):
    """Declared larger than 5 × 10 MB + 1 MB: refused before Django or DRF parse it."""
    client = client_for(patient.user)
    response = client.generic(
        "POST",
        reverse(LIST),
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(60 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "at most 5 photos of at most 10 MB" in response.json()["detail"]


def test_the_schema_documents_the_json_photos(admin_user):
    import yaml

    schema = yaml.safe_load(client_for(admin_user).get("/api/schema/").content)
    body = schema["paths"]["/api/v1/consultations/"]["post"]["requestBody"]["content"]
    json_photos = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    photos = schema["components"]["schemas"][json_photos]["properties"]["photos"]
    assert photos["type"] == "array" and photos["maxItems"] == 5
    assert photos["items"]["type"] == "string" and "data:" in photos["items"]["description"]
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in photos["description"]
    multipart = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    files = schema["components"]["schemas"][multipart]["properties"]["photos"]
    assert files["items"]["format"] == "binary"
    messages = schema["paths"]["/api/v1/consultations/{id}/messages/"]["post"]
    assert "413" in messages["responses"]


def test_a_form_may_carry_photos_as_base64_text_beside_files(patient, clock):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(patient.user).post(
        reverse(LIST),
        {
            "category": "glucose",
            "text": "Two photos",
            "photos": [
                SimpleUploadedFile("a.jpg", jpeg_with_gps(), "image/jpeg"),
                "data:image/png;base64," + b64(png()),
            ],
        },
    )
    assert response.status_code == 201, response.content
    assert Photo.objects.count() == 2
    bad = client_for(patient.user).post(
        reverse(LIST), {"category": "glucose", "text": "x", "photos": ["%%%"]}
    )
    assert bad.status_code == 400 and "photos.0 is not valid base64" in bad.json()["detail"]
