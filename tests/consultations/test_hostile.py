"""Issue #24's routes tried as an attacker would: NUL, lone surrogates, 10**400, huge strings,
wrong methods, another patient's ids. No answer may be a 5xx (run it on PostgreSQL too: NUL
and numeric overflow fail only there)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from consultations import services
from consultations.models import MedicationRequest

pytestmark = pytest.mark.django_db

HUGE = "1" + "0" * 400
VALUES = ["\x00", "\ud800", HUGE, "-1", "[", "a" * 20000]
METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
FIELDS = (
    "category",
    "text",
    "outcome",
    "to",
    "medication",
    "quantity",
    "note",
    "approved",
    "decision",
    "title",
    "text_en",
)


@pytest.fixture
def targets(with_data, other_patient, alice):
    mine = services.consultation_ask(
        patient=with_data, by=with_data.user, category="glucose", text="mine"
    )
    theirs = services.consultation_ask(
        patient=other_patient, by=other_patient.user, category="other", text="theirs"
    )
    request = services.medication_request_create(
        patient=with_data, by=with_data.user, medication="0", quantity=1
    )
    return {"mine": mine, "theirs": theirs, "request": request}


def urls(targets, patient, *, missing=True):
    pk = targets["mine"].pk
    known = [
        reverse("consultations-list"),
        reverse("consultations-ask"),
        reverse("consultations-detail", args=[pk]),
        reverse("consultations-detail", args=[targets["theirs"].pk]),
        reverse("consultations-assign", args=[pk]),
        reverse("consultations-close", args=[pk]),
        reverse("consultations-book-visit", args=[pk]),
        reverse("consultations-templates"),
        reverse("medication-requests-new"),
        reverse("medication-requests-detail", args=[targets["request"].pk]),
        reverse("medication-requests-slip", args=[targets["request"].pk]),
        reverse("api-consultations-list"),
        reverse("api-consultations-detail", args=[pk]),
        reverse("api-consultations-messages", args=[pk]),
        reverse("api-consultations-close", args=[pk]),
        reverse("api-patients-medication-requests", args=[patient.pk]),
        reverse("api-medication-requests-decide", args=[targets["request"].pk]),
    ]
    if not missing:
        return known
    return [
        *known,
        "/consultations/99999999999999999999/",
        "/api/v1/consultations/99999999999999999999/",
        # 10**400 and ids of objects that are not there, on every route that takes one.
        *(
            path.format(HUGE)
            for path in (
                "/consultations/{}/",
                "/consultations/{}/assign/",
                "/consultations/{}/close/",
                "/consultations/{}/book-visit/",
                "/consultations/photos/{}/",
                "/consultations/medication-requests/{}/",
                "/consultations/medication-requests/{}/slip.pdf",
                "/api/v1/consultations/{}/",
                "/api/v1/consultations/{}/messages/",
                "/api/v1/consultations/{}/close/",
                "/api/v1/patients/{}/medication-requests/",
                "/api/v1/medication-requests/{}/decide/",
            )
        ),
    ]


def test_no_hostile_input_is_a_server_error(targets, with_data, alice, staff, clock):
    errors = []
    for user in (with_data.user, alice, staff):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for url in urls(targets, with_data):
            for method in METHODS:
                response = getattr(client, method)(url)
                if response.status_code >= 500:
                    errors.append(f"{user} {method} {url}: {response.status_code}")
            if user == staff:
                continue  # refused before any body is read (the access tests say so)
            for value in VALUES:
                body = {field: value for field in FIELDS}
                for kind in ("json", "form"):
                    if kind == "json":
                        response = client.post(
                            url, json.dumps(body), content_type="application/json"
                        )
                    else:
                        response = client.post(
                            url, {k: v.replace("\ud800", "?") for k, v in body.items()}
                        )
                    if response.status_code >= 500:
                        errors.append(f"{user} {kind} {url} {value[:10]!r}: {response.status_code}")
    assert not errors, "\n".join(errors)
    # Nothing a hostile body sent was decided or stored beyond the real data.
    assert MedicationRequest.objects.get().state in ("pending", "approved", "declined")


def test_a_60_mb_body_is_never_a_server_error(targets, with_data, alice, staff, clock):
    """60 MB to every consultation route, as JSON, as a form and as a multipart file, from
    the patient, their clinician and staff: never a 5xx (a page that reads no body, such as
    "ask staff to book", may do its work; the API's photo routes answer 413 before reading)."""
    big = b"A" * (60 * 1024 * 1024)
    bodies = {
        "json": (b'{"text": "' + big + b'"}', "application/json"),
        "form": (b"text=" + big, "application/x-www-form-urlencoded"),
        "multipart": (
            b'--b\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n" + big + b"\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
    }
    errors = []
    for user in (with_data.user, alice, staff):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for url in urls(targets, with_data, missing=False):
            for kind, (body, content_type) in bodies.items():
                response = client.generic("POST", url, body, content_type=content_type)
                if response.status_code >= 500:
                    errors.append(f"{user} {kind} {url}: {response.status_code}")
    assert not errors, "\n".join(errors)
    for url in (
        reverse("api-consultations-list"),
        reverse("api-consultations-messages", args=[targets["mine"].pk]),
    ):
        client = Client()
        client.force_login(with_data.user)
        for kind, (body, content_type) in bodies.items():
            response = client.generic("POST", url, body, content_type=content_type)
            assert response.status_code == 413, (kind, url, response.status_code)
            assert response.json()["detail"]


def test_an_id_of_ten_to_the_400_is_a_404(targets, with_data, alice, staff, clock):
    """Outside anyone's view: 404 (405 for a method the route never means), never a 500."""
    huge = [url for url in urls(targets, with_data) if HUGE in url or "9999999999" in url]
    assert len(huge) == 14
    for user in (with_data.user, alice, staff):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for url in huge:
            answers = {client.post(url, {"text": "x"}).status_code, client.get(url).status_code}
            assert 404 in answers and answers <= {404, 405}, (str(user), url, answers)
