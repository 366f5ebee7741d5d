"""Request hygiene at the door (``diabetes_center.middleware``): a NUL character in the path,
a query or a form value answers 400 before any view can hand it to the database (PostgreSQL
text cannot hold NUL: a search, an id or the audit row of a refusal failed there with a 500,
issue #18). Percent-encoded invalid UTF-8 never reaches a view as a lone surrogate."""

import pytest
from django.test import Client

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(alice, patient) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/triage/?q=%00",
        "/api/v1/triage/?q=a%00b&ordering=risk",
        "/api/v1/triage/?q%00=a",  # in a parameter's name
        "/patients/?q=%00",
        "/visits/book/?patient=%00",
        "/visits/book/?patient=1%00",
        "/patients/%00/",
        "/ns/%00/api/v1/entries.json",
    ],
)
def test_it_refuses_a_nul_in_the_path_or_the_query(signed_in, url):
    before = AuditEvent.objects.count()
    response = signed_in.get(url)
    assert response.status_code == 400, (url, response.status_code)
    if url.startswith(("/api/", "/ns/")):
        assert "NUL" in response.json()["detail"]
    # Nothing reached the views: not even the audit row of a refusal (a text column).
    assert AuditEvent.objects.count() == before


def test_it_refuses_a_nul_in_a_form_value(signed_in, patient):
    before = AuditEvent.objects.count()
    response = signed_in.post("/visits/book/first/", {"patient": f"{patient.pk}\x00"})
    assert response.status_code == 400
    anonymous = Client(raise_request_exception=False)
    response = anonymous.post("/accounts/login/", {"username": "ali\x00ce", "password": "x"})
    assert response.status_code == 400
    assert AuditEvent.objects.count() == before


def test_it_refuses_a_nul_in_a_multipart_form_value(signed_in, patient):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = b"timestamp,glucose\n2026-01-01 08:00,120\n"
    response = signed_in.post(
        f"/api/v1/patients/{patient.pk}/uploads/",
        {"file": SimpleUploadedFile("a.csv", data, "text/csv"), "format": "csv\x00"},
    )
    assert response.status_code == 400
    assert not patient.uploads.exists()


def test_it_reads_invalid_utf8_in_a_query_as_replacement_characters(signed_in):
    """``%ED%A0%80`` (a UTF-8-encoded surrogate) decodes to U+FFFD, never to a lone
    surrogate that UTF-8 could not encode again: an ordinary search that finds nothing."""
    for url in ("/api/v1/triage/?q=%ED%A0%80", "/patients/?q=%ED%A0%80%FF"):
        response = signed_in.get(url)
        assert response.status_code == 200, url
    found = signed_in.get("/api/v1/triage/?q=%ED%A0%80").json()
    assert found["count"] == 0


def test_it_lets_ordinary_requests_through(signed_in, patient):
    assert signed_in.get("/api/v1/triage/?q=Patient").status_code == 200
    assert signed_in.get(f"/patients/{patient.pk}/").status_code == 200
