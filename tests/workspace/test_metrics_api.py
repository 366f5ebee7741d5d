"""GET /api/v1/patients/{id}/metrics/: who may see it, the window, CGM vs finger-sticks."""

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.models import AuditEvent
from readings.models import DeviceToken
from readings.parsers import Reading
from readings.services import readings_ingest
from tests.conftest import PASSWORD

DAY = dt.date(2024, 5, 1)


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def add(patient, kind: str, values: list[float], *, minutes: int, first=DAY, tag: str = ""):
    """Readings every `minutes` from local midnight of `first` (UTC patients here)."""
    start = dt.datetime.combine(first, dt.time(), dt.UTC)
    items = [
        Reading(
            line=i + 1,
            timestamp=start + dt.timedelta(minutes=minutes * i),
            value_mg_dl=value,
            kind=kind,
            device=f"{kind} device",
            meal_tag=tag,
        )
        for i, value in enumerate(values)
    ]
    with transaction.atomic():
        readings_ingest(patient=patient, items=items)


def url(patient, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("api-patients-metrics", args=[patient.pk]) + (f"?{query}" if query else "")


@pytest.fixture
def cgm_patient(patient):
    # One day every 5 minutes: 240 readings at 100, 48 at 200 mg/dL.
    add(patient, "cgm", [100.0] * 240 + [200.0] * 48, minutes=5)
    return patient


def test_it_shows_a_patient_their_own_metrics(client, cgm_patient):
    login(client, cgm_patient.user)
    response = client.get(url(cgm_patient))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kind"] == "cgm"
    # Default window: the 14 local days ending on the day of the newest reading.
    assert (body["start"], body["end"], body["days"]) == ("2024-04-18", "2024-05-01", 14)
    assert body["readings"] == 288
    # By hand: 240 of 288 in range, 48 high; mean (240*100 + 48*200) / 288. Full precision:
    # numeric API fields are not rounded (the display layer rounds, once).
    assert body["in_range_percent"] == pytest.approx(100 * 240 / 288, abs=1e-9)
    assert body["high_percent"] == pytest.approx(100 * 48 / 288, abs=1e-9)
    assert body["mean_mg_dl"] == pytest.approx((240 * 100 + 48 * 200) / 288, abs=1e-9)
    assert not AuditEvent.objects.filter(
        patient=cgm_patient
    ).exists()  # a patient reading their own data is not audited


def test_it_shows_a_window_and_evaluates_goals(client, alice, cgm_patient):
    login(client, alice)
    response = client.get(url(cgm_patient, start="2024-05-01", end="2024-05-01"))
    body = response.json()
    assert (body["start"], body["end"], body["days"]) == ("2024-05-01", "2024-05-01", 1)
    assert body["active_percent"] == 100.0
    goals = {goal["key"]: goal["met"] for goal in body["goals"]}
    assert goals["in_range_percent"] is True and goals["above_180_percent"] is True
    assert body["targets"]["range_low"] == 70


def test_it_audits_a_clinicians_view(client, alice, cgm_patient):
    login(client, alice)
    assert client.get(url(cgm_patient)).status_code == 200
    event = AuditEvent.objects.get(patient=cgm_patient)
    assert (event.user, event.patient, event.action) == (alice, cgm_patient, "view")
    assert "metrics" in event.what


def test_it_hides_another_patients_metrics(client, cgm_patient, other_patient):
    login(client, cgm_patient.user)
    response = client.get(url(other_patient))
    assert response.status_code == 404
    assert "detail" in response.json()


def test_it_hides_metrics_from_another_clinician(client, bob, cgm_patient):
    login(client, bob)
    assert client.get(url(cgm_patient)).status_code == 404


def test_it_hides_clinical_data_from_staff(client, staff, cgm_patient):
    login(client, staff)
    assert client.get(url(cgm_patient)).status_code == 404


def test_it_refuses_a_device_token(client, cgm_patient):
    _, key = DeviceToken.issue(patient=cgm_patient, name="uploader")
    response = client.get(url(cgm_patient), HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403
    assert "detail" in response.json()


def test_it_refuses_an_anonymous_request(client, cgm_patient):
    assert client.get(url(cgm_patient)).status_code in (401, 403)


def test_it_summarises_finger_sticks_without_inventing_cgm_metrics(client, patient):
    add(patient, "smbg", [90.0, 150.0, 210.0, 60.0], minutes=240, tag="fasting")
    login(client, patient.user)
    body = client.get(url(patient)).json()
    assert body["kind"] == "smbg"
    assert body["readings"] == 4 and body["mean_mg_dl"] == 127.5
    for cgm_only in ("in_range_percent", "gmi_percent", "gri", "mage", "agp", "active_percent"):
        assert cgm_only not in body
    assert all(goal["met"] is None for goal in body["goals"])


def test_it_prefers_cgm_when_both_kinds_are_present(client, cgm_patient):
    add(cgm_patient, "smbg", [300.0], minutes=5)
    login(client, cgm_patient.user)
    body = client.get(url(cgm_patient)).json()
    assert body["kind"] == "cgm" and body["readings"] == 288  # CGM readings only


def test_it_answers_an_empty_window(client, cgm_patient):
    login(client, cgm_patient.user)
    body = client.get(url(cgm_patient, start="2023-01-01", end="2023-01-14")).json()
    assert body["readings"] == 0 and body["mean_mg_dl"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2024-02-30"},
        {"end": "yesterday"},
        {"start": "2024-05-10", "end": "2024-05-01"},
        {"start": "1899-12-31", "end": "2024-05-01"},
        {"end": "9999-12-31"},
        {"start": "0001-01-01"},
        {"start": "9999-12-20", "end": "9999-12-31"},
    ],
)
def test_it_rejects_bad_dates_with_detail(client, cgm_patient, params):
    login(client, cgm_patient.user)
    response = client.get(url(cgm_patient, **params))
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str)


def test_it_is_in_the_openapi_schema(client, alice):
    login(client, alice)
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").content.decode()
    assert "patients_metrics_retrieve" in schema


def test_it_serves_a_window_of_two_years(client, patient):
    # Four readings a day (hourly from midnight) on every day of 2022 and 2023.
    add(patient, "cgm", [120.0, 180.0, 60.0, 240.0] * 730, minutes=360, first=dt.date(2022, 1, 1))
    login(client, patient.user)
    response = client.get(url(patient, start="2022-01-01", end="2023-12-31"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["readings"] == 2920 and body["days"] == 730
    assert body["mean_mg_dl"] == 150.0 and body["low_percent"] == 25.0


def test_it_refuses_a_window_beyond_what_a_reading_can_have(client, cgm_patient):
    login(client, cgm_patient.user)
    response = client.get(url(cgm_patient, start="2024-05-01", end="9999-12-31"))
    assert response.status_code == 400 and "between" in response.json()["detail"]
