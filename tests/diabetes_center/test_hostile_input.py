"""The routes issue #18 touched, tried as an attacker would: another patient's id, every role,
every method, NUL, lone surrogates, invalid UTF-8, 10**400, far dates, deep nesting. No
answer may be a 5xx (run it on PostgreSQL too: NUL and numeric overflow fail only there)."""

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from readings.models import DeviceToken
from visits.models import Visit, VisitType

pytestmark = pytest.mark.django_db

HUGE = "1" + "0" * 400
# As JSON carries them (a lone surrogate decodes from "\ud800") ...
JSON_VALUES = ["\x00", "\ud800", HUGE, "-1", "9999-12-31", "", "[", "a" * 5000]
# ... and as a query string or form carries them (percent-encoded bytes).
QUERY_VALUES = ["%00", "%ED%A0%80", "%FF", HUGE, "-1", "9999-12-31", "0001-01-01", "", "["]
METHODS = ("get", "head", "post", "put", "patch", "delete", "options")


@pytest.fixture
def world(alice, bob, patient, other_patient, admin_user, staff, other_staff, center):
    follow_up = VisitType.objects.create(
        code="follow_up", name="Follow-up", duration_minutes=30, roles="endocrinologist"
    )
    start = timezone.now() - dt.timedelta(minutes=10)
    visit = Visit.objects.create(  # booked with Bob, who is not on the patient's care team
        patient=patient,
        clinician=bob,
        visit_type=follow_up,
        center=center,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
    )
    _, key = DeviceToken.issue(patient=patient, name="pump", scope="upload")
    people = {
        "alice": alice,
        "bob": bob,
        "patient": patient.user,
        "other patient": other_patient.user,
        "admin": admin_user,
        "staff": staff,
        "other staff": other_staff,
    }
    clients = {"anonymous": Client(raise_request_exception=False)}
    for name, user in people.items():
        clients[name] = Client(raise_request_exception=False)
        clients[name].force_login(user)
    clients["upload token"] = Client(
        raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {key}"
    )
    return {
        "clients": clients,
        "patients": [patient.pk, other_patient.pk, HUGE, "0"],
        "visit": visit.pk,
        "type": follow_up.pk,
    }


def _answers(response) -> int:
    if response.streaming:
        b"".join(response.streaming_content)
    return response.status_code


def test_it_never_fails_on_the_exports(world):
    failures = []
    for who, client in world["clients"].items():
        for pk in world["patients"]:
            for method in METHODS:
                for fmt in ("csv", "fhir", "zip", "%00", "%ED%A0%80", HUGE):
                    url = f"/api/v1/patients/{pk}/export/?format={fmt}"
                    if (status := _answers(getattr(client, method)(url))) >= 500:
                        failures.append((status, who, method, url[:80]))
                for page in ("export.zip", "export.fhir.json"):
                    url = f"/patients/{pk}/{page}"
                    if (status := _answers(getattr(client, method)(url))) >= 500:
                        failures.append((status, who, method, url))
    assert not failures


def test_it_never_fails_on_visit_results(world):
    failures = []
    fields = ("eyes", "feet", "hba1c_percent", "egfr", "urine_acr_mg_g", "checks_done")
    # Issue #19 §5: HbA1c in either unit and the other results as data.
    fields += ("hba1c", "hba1c_unit", "systolic_mm_hg", "weight_kg", "retinopathy_grade")
    fields += ("foot_risk",)
    for who, client in world["clients"].items():
        for pk in (world["visit"], HUGE):
            for field in fields:
                for value in [*JSON_VALUES, 10**400, 1e308, None, [], {}]:
                    body = json.dumps({"checks_done": ["hba1c"], field: value})
                    url = f"/api/v1/visits/{pk}/complete/"
                    response = client.post(url, body, content_type="application/json")
                    if response.status_code >= 500:
                        failures.append((response.status_code, who, url, field, repr(value)[:20]))
                for value in QUERY_VALUES:
                    url = f"/visits/{pk}/complete/"
                    body = f"checks_done=hba1c&{field}={value}"
                    response = client.post(
                        url, body, content_type="application/x-www-form-urlencoded"
                    )
                    if response.status_code >= 500:
                        failures.append((response.status_code, who, url, field, value[:20]))
    assert not failures


def test_it_never_fails_on_patients_tokens_readings_and_uploads(world):
    failures = []
    fields = ("timezone", "sex", "diabetes_type", "unit", "language", "birth_date")
    fields += ("diagnosis_date", "name", "mrn")
    nested = b"[" * 100_000
    for who, client in world["clients"].items():
        for pk in world["patients"][:2]:
            sent = []
            for field in fields:
                for value in [*JSON_VALUES, 10**400, None]:
                    sent.append(("patch", f"/api/v1/patients/{pk}/", {field: value}))
                    sent.append(("post", "/api/v1/patients/", {"mrn": "X1", field: value}))
            for value in JSON_VALUES:
                sent.append(
                    (
                        "post",
                        f"/api/v1/patients/{pk}/device-tokens/",
                        {"name": value, "scope": value},
                    )
                )
                row = {"timestamp": value, "value": 120, "unit": value, "kind": value}
                sent.append(("post", f"/api/v1/patients/{pk}/readings/", {"readings": [row]}))
            for method, url, body in sent:
                response = getattr(client, method)(
                    url, json.dumps(body), content_type="application/json"
                )
                if response.status_code >= 500:
                    failures.append((response.status_code, who, url, repr(body)[:60]))
            for url, fmt in (
                (f"/api/v1/patients/{pk}/uploads/", "tidepool"),
                (f"/patients/{pk}/upload/", "nightscout"),
            ):
                file = SimpleUploadedFile("deep.json", nested)
                response = client.post(url, {"file": file, "format": fmt})
                if response.status_code >= 500:
                    failures.append((response.status_code, who, url))
    assert not failures


def test_it_never_fails_on_dates_and_searches_in_the_query(world):
    failures = []
    t, v = world["type"], world["visit"]
    for who, client in world["clients"].items():
        for pk in world["patients"][:2]:
            for value in QUERY_VALUES:
                for url in (
                    f"/patients/{pk}/day/?date={value}&span={value}",
                    f"/patients/{pk}/access/?since={value}",
                    f"/api/v1/audit/?since={value}&patient={value}&user={value}",
                    f"/api/v1/patients/{pk}/metrics/?start={value}&end={value}",
                    f"/api/v1/patients/{pk}/readings/?start={value}&end={value}",
                    f"/visits/?date={value}&view=week",
                    f"/visits/book/?patient={pk}&date={value}",
                    f"/visits/book/?patient={value}",
                    f"/visits/{v}/reschedule/?date={value}",
                    f"/api/v1/visits/?start={value}&end={value}&status={value}",
                    f"/api/v1/visits/slots/?visit_type={t}&date={value}&days={value}",
                    f"/api/v1/triage/?q={value}&ordering={value}",
                    f"/patients/?q={value}",
                ):
                    if (status := client.get(url).status_code) >= 500:
                        failures.append((status, who, url[:90]))
    assert not failures
