"""The monitoring API: enrolment needs consent (409), thresholds are bounds-checked (400),
consent by the patient through the API, withdrawing ends the enrolment; the alerts list,
detail and acknowledgement (twice → 409); outsiders are refused."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from monitoring.models import Alert, Enrolment
from tests.conftest import make_user
from tests.monitoring.conftest import enrol

pytestmark = pytest.mark.django_db


def url(patient):
    return f"/api/v1/patients/{patient.pk}/monitoring/"


def put(client, patient, body):
    return client.put(url(patient), body, content_type="application/json")


def test_it_refuses_to_enrol_before_the_patient_consents(client, alice, patient):
    client.force_login(alice)
    response = put(client, patient, {"enrolled": True})
    assert response.status_code == 409
    assert not Enrolment.objects.filter(patient=patient, active=True).exists()


def test_it_enrols_once_the_patient_consents_through_the_api(client, alice, patient):
    client.force_login(patient.user)
    given = client.post(
        f"/api/v1/patients/{patient.pk}/consents/",
        {"topic": "remote_monitoring", "given": True},
        content_type="application/json",
    )
    assert given.status_code == 201, given.content
    assert given.json()["version"] == "2026-12"
    client.force_login(alice)
    response = put(client, patient, {"enrolled": True, "thresholds": {"high_mg_dl": 300}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["enrolled"] is True
    assert body["thresholds"] == {
        "urgent_low_mg_dl": 54,
        "high_mg_dl": 300,
        "high_minutes": 120,
        "no_data_hours": 4,
    }
    assert client.get(url(patient)).json()["enrolled"] is True
    assert AuditEvent.objects.filter(patient_id=patient.pk, what__startswith="monitoring enrolled")


def test_it_defaults_the_high_threshold_to_180_on_a_pregnancy_plan(client, alice, patient):
    from care_plans.services import care_plan_default_content, care_plan_revise
    from glycemia.targets import PRESETS

    content = care_plan_default_content(patient=patient)
    content["targets"] = {"preset": "pregnancy_t1", **PRESETS["pregnancy_t1"]}
    care_plan_revise(patient=patient, by=alice, reason="pregnant", content=content)
    client.force_login(alice)
    assert client.get(url(patient)).json()["thresholds"]["high_mg_dl"] == 180


@pytest.mark.parametrize(
    "thresholds",
    [
        {"urgent_low_mg_dl": 20},
        {"high_mg_dl": 10**400},
        {"high_minutes": "soon"},
        {"no_data_hours": 0},
        {"snooze": 5},
    ],
)
def test_it_refuses_thresholds_out_of_bounds(client, alice, patient, thresholds):
    enrol(patient, alice)
    client.force_login(alice)
    response = client.put(
        url(patient),
        '{"enrolled": true, "thresholds": ' + _json(thresholds) + "}",
        content_type="application/json",
    )
    assert response.status_code == 400, response.content


def _json(value):
    import json

    if value == {"high_mg_dl": 10**400}:
        return '{"high_mg_dl": 1' + "0" * 400 + "}"
    return json.dumps(value)


def test_it_ends_the_enrolment_when_the_patient_withdraws(client, alice, patient):
    enrol(patient, alice)
    Alert.objects.create(patient=patient, kind="high", opened_at=timezone.now())
    client.force_login(patient.user)
    response = client.post(
        f"/api/v1/patients/{patient.pk}/consents/",
        {"topic": "remote_monitoring", "given": False},
        content_type="application/json",
    )
    assert response.status_code == 201
    enrolment = Enrolment.objects.get(patient=patient)
    assert not enrolment.active and enrolment.ended_reason == "consent withdrawn"
    assert not Alert.objects.filter(patient=patient, closed_at=None).exists()


def test_it_lets_only_the_patient_give_consent(client, alice, patient):
    client.force_login(alice)
    response = client.post(
        f"/api/v1/patients/{patient.pk}/consents/",
        {"topic": "remote_monitoring", "given": True},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_it_refuses_outsiders(client, patient, bob, staff, other_staff):
    for user in (bob, staff, other_staff):
        client.force_login(user)
        assert client.get(url(patient)).status_code == 404
        assert put(client, patient, {"enrolled": True}).status_code == 404


def test_it_lets_the_patient_read_but_not_change_their_enrolment(client, alice, patient):
    client.force_login(patient.user)
    assert client.get(url(patient)).json()["enrolled"] is False
    assert put(client, patient, {"enrolled": False}).status_code == 403


# --- alerts -----------------------------------------------------------------------------------


@pytest.fixture
def alert(patient):
    now = timezone.now()
    return Alert.objects.create(
        patient=patient,
        kind="urgent_low",
        since=now - dt.timedelta(minutes=5),
        opened_at=now,
        last_at=now,
        last_value=50,
        extreme=48,
    )


def test_it_lists_and_filters_alerts(client, alice, alert):
    client.force_login(alice)
    body = client.get("/api/v1/alerts/").json()
    assert body["count"] == 1 and body["results"][0]["kind"] == "urgent_low"
    assert body["results"][0]["last_value_mg_dl"] == 50
    assert client.get("/api/v1/alerts/?kind=high").json()["count"] == 0
    assert client.get(f"/api/v1/alerts/?patient={alert.patient_id}&state=open").json()["count"] == 1
    assert client.get("/api/v1/alerts/?state=nonsense").status_code == 400
    assert client.get("/api/v1/alerts/?patient=x").status_code == 400
    assert client.get(f"/api/v1/alerts/{alert.pk}/").json()["id"] == alert.pk


def test_it_acknowledges_once_then_answers_409(client, alice, alert):
    client.force_login(alice)
    ack = f"/api/v1/alerts/{alert.pk}/acknowledge/"
    body = {"note": "Called; she ate 15 g of glucose.", "outcome": "called_patient"}
    response = client.post(ack, body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "acknowledged"
    assert response.json()["acknowledged_by"] == "alice"
    assert client.post(ack, body, content_type="application/json").status_code == 409
    bad = client.post(ack, {"outcome": "shrug"}, content_type="application/json")
    assert bad.status_code == 400
    assert AuditEvent.objects.filter(what__contains="acknowledged: called_patient").count() == 1


def test_it_shows_alerts_to_nobody_outside_the_care_team(client, alert, bob, staff, center):
    nurse = make_user("nina", "nurse", center)
    client.force_login(bob)
    assert client.get("/api/v1/alerts/").json()["count"] == 0
    assert client.get(f"/api/v1/alerts/{alert.pk}/").status_code == 404
    body = {"outcome": "no_action_needed"}
    ack = f"/api/v1/alerts/{alert.pk}/acknowledge/"
    assert client.post(ack, body, content_type="application/json").status_code == 404
    for user in (staff, nurse, alert.patient.user):
        client.force_login(user)
        assert client.get("/api/v1/alerts/").status_code == 403
        assert client.get(f"/api/v1/alerts/{alert.pk}/").status_code == 403
