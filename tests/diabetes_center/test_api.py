"""Shared REST plumbing (``common.api``): every error answers JSON ``{"detail": ...}``
with a 4xx, whatever the client sent — here a lone surrogate (``"\\ud800"`` in JSON, which
Python decodes to a string that UTF-8 cannot encode) in fields whose error message echoes
the value (issue #18: the renderer failed with UnicodeEncodeError, a 500)."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from readings.models import DeviceToken
from visits.models import Visit, VisitType

LONE = "\ud800"  # a high surrogate with no low one after it

pytestmark = pytest.mark.django_db


def send(client: Client, method: str, url: str, body: dict, **headers):
    """``body`` as JSON text with the surrogate escaped (``"\\ud800"``), as a client sends it."""
    text = json.dumps(body)  # ensure_ascii: the lone surrogate travels as \ud800
    return getattr(client, method)(url, text, content_type="application/json", **headers)


def assert_readable_400(response, field: str):
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    detail = json.loads(response.content.decode("utf-8"))["detail"]  # valid UTF-8 and JSON
    assert field in json.dumps(detail), detail


@pytest.mark.parametrize("field", ["timezone", "sex", "diabetes_type", "unit", "language"])
def test_it_answers_400_to_a_lone_surrogate_in_a_patients_choice(client, alice, patient, field):
    client.force_login(alice)
    url = reverse("api-patients-detail", args=[patient.pk])
    assert_readable_400(send(client, "patch", url, {field: LONE}), field)
    new = {
        "mrn": "NEW-1",
        "name": "New Patient",
        "birth_date": "1990-01-01",
        "diabetes_type": "T2",
        "timezone": "UTC",
        field: LONE,
    }
    assert_readable_400(send(client, "post", reverse("api-patients-list"), new), field)


def test_it_answers_400_to_a_lone_surrogate_in_the_browsable_api(client, alice, patient):
    """The HTML rendering of the same error (a browser's Accept header) must not fail either."""
    client.force_login(alice)
    url = reverse("api-patients-detail", args=[patient.pk])
    response = send(client, "patch", url, {"sex": LONE}, HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    response.content.decode("utf-8")


def test_it_answers_400_to_a_lone_surrogate_in_a_device_token_scope(client, patient):
    client.force_login(patient.user)
    url = reverse("api-patients-device-tokens", args=[patient.pk])
    assert_readable_400(send(client, "post", url, {"name": "pump", "scope": LONE}), "scope")


def test_it_answers_400_to_a_lone_surrogate_in_a_visit_result(client, alice, patient, center):
    follow_up = VisitType.objects.create(
        code="follow_up", name="Follow-up", duration_minutes=30, roles="endocrinologist"
    )
    start = timezone.now() - dt.timedelta(minutes=10)
    visit = Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=center,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
    )
    client.force_login(alice)
    url = reverse("api-visits-complete", args=[visit.pk])
    assert_readable_400(send(client, "post", url, {"checks_done": [], "eyes": LONE}), "eyes")
    assert Visit.objects.get(pk=visit.pk).status == "booked"


@pytest.mark.parametrize("field", ["unit", "kind"])
def test_it_answers_400_to_a_lone_surrogate_from_an_upload_token(patient, field):
    _, key = DeviceToken.issue(patient=patient, name="pump", scope="upload")
    row = {
        "timestamp": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
        "value": 120,
        "unit": "mg/dL",
        "kind": "cgm",
        field: LONE,
    }
    url = reverse("api-patients-readings", args=[patient.pk])
    response = send(Client(), "post", url, {"readings": [row]}, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code in (200, 201, 400), response.content[:300]
    response.content.decode("utf-8")
    assert field in response.content.decode()


@pytest.mark.parametrize("bad", ["\x00", LONE])
def test_it_refuses_json_text_no_column_can_hold(client, alice, patient, bad):
    """Every JSON body (``common.api.JSONParser``): a NUL, which PostgreSQL text and
    jsonb refuse, or a lone surrogate, which UTF-8 cannot encode, in any string answers 400
    naming where — free-form content (a care plan's) reached the database and failed there."""
    client.force_login(alice)
    url = reverse("api-patients-care-plan", args=[patient.pk])
    body = {"reason": "check", "content": {"notes": f"ok{bad}"}}
    response = send(client, "post", url, body)
    assert_readable_400(response, "content.notes")
    fhir = reverse("api-patients-fhir-submit-cgm-bundle", args=[patient.pk])
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bad}]}
    response = send(client, "post", fhir, bundle)
    assert response.status_code == 400  # an OperationOutcome, as FHIR answers
    assert response.json()["resourceType"] == "OperationOutcome"


def test_it_renders_a_lone_surrogate_escaped_whatever_the_answer():
    """The net behind the parser: an answer holding a lone surrogate (a rejected reading's
    reason echoing its unit, say) renders as valid UTF-8 JSON, the surrogate escaped."""
    from common.api import JSONRenderer

    data = {"rejected": [{"line": 1, "reason": f'unit "{LONE}" is not a valid choice.'}]}
    rendered = JSONRenderer().render(data)
    assert json.loads(rendered.decode("utf-8")) == {
        "rejected": [{"line": 1, "reason": 'unit "\\ud800" is not a valid choice.'}]
    }
