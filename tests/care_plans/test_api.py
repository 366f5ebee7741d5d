"""The care-plan API: round trip, validation errors, and who may read or write."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise

GLARGINE = {"kind": "insulin_basal", "product": "Insulin glargine", "dose": 18, "dose_unit": "U"}


def url(patient, name="api-patients-care-plan"):
    return reverse(name, args=[patient.pk])


@pytest.fixture
def version(patient, alice):
    return care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        content=care_plan_default_content(patient=patient),
    )


def test_it_round_trips_a_new_version(client, alice, patient, make_report):
    report = make_report(patient)
    client.force_login(alice)
    body = {
        "reason": "Start basal insulin",
        "responds_to_report": report.pk,
        "medications": [GLARGINE],
        "report_cadence_days": 7,
    }
    response = client.post(url(patient), body, content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["version"] == 1
    assert data["responds_to_report"] == report.pk
    assert data["medications"][0]["dose"] == 18
    assert data["targets"]["range_high"] == 180  # carried over from the consensus default
    got = client.get(url(patient)).json()
    assert got == data
    body = {"reason": "More basal", "medications": [{**GLARGINE, "dose": 20}]}
    second = client.post(url(patient), body, content_type="application/json").json()
    assert second["version"] == 2
    assert second["report_cadence_days"] == 7  # sections not sent are carried over
    versions = client.get(url(patient, "api-patients-care-plan-versions")).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["reason"] == "More basal"
    assert AuditEvent.objects.filter(patient=patient, action="change").count() == 2


def test_it_answers_400_with_field_messages(client, alice, patient):
    client.force_login(alice)
    body = {
        "reason": "bad",
        "medications": [{**GLARGINE, "dose": 900}],
        "targets": {"range_low": 200, "range_high": 100},
        "report_cadence_days": 3,
    }
    response = client.post(url(patient), body, content_type="application/json")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert set(detail) == {"medications.0.dose", "targets.range_high", "report_cadence_days"}
    assert not CarePlanVersion.objects.exists()


def test_it_answers_400_for_wrong_types_in_the_same_shape(client, alice, patient):
    client.force_login(alice)
    body = {"medications": [{**GLARGINE, "dose": "lots"}]}
    response = client.post(url(patient), body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"reason", "medications.0.dose"}


def test_it_refuses_to_link_another_patients_report(
    client, alice, patient, other_patient, make_report
):
    client.force_login(alice)
    body = {"reason": "x", "responds_to_report": make_report(other_patient).pk}
    response = client.post(url(patient), body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["detail"]) == ["responds_to_report"]


def test_it_answers_404_when_there_is_no_plan(client, alice, patient):
    client.force_login(alice)
    response = client.get(url(patient))
    assert response.status_code == 404
    assert "detail" in response.json()
    assert client.get(url(patient, "api-patients-care-plan-versions")).json() == []


def test_it_lets_the_patient_read_but_not_write(client, patient, version):
    client.force_login(patient.user)
    assert client.get(url(patient)).json()["version"] == 1
    response = client.post(url(patient), {"reason": "me"}, content_type="application/json")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(patient=patient).exists()  # own reads


def test_it_hides_the_plan_from_another_endocrinologist(client, bob, patient, version):
    client.force_login(bob)
    assert client.get(url(patient)).status_code == 404
    body = {"reason": "not mine"}
    assert client.post(url(patient), body, content_type="application/json").status_code == 404


def test_it_hides_clinical_content_from_staff(client, staff, patient, version):
    client.force_login(staff)
    assert client.get(url(patient)).status_code == 404
    assert client.get(url(patient, "api-patients-care-plan-versions")).status_code == 404


def test_it_refuses_an_outsider_patient(client, other_patient, patient, version):
    client.force_login(other_patient.user)
    assert client.get(url(patient)).status_code == 404
    assert client.get(url(patient, "api-patients-care-plan-fhir")).status_code == 404


def test_it_refuses_anonymous_requests(client, patient, version):
    assert client.get(url(patient)).status_code in (401, 403)


def test_it_lets_an_admin_revise(client, admin_user, patient, version):
    client.force_login(admin_user)
    body = {"reason": "admin fix", "visit_cadence_days": 180}
    response = client.post(url(patient), body, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["version"] == 2


def test_it_documents_the_endpoints_in_the_schema(client, alice):
    client.force_login(alice)
    schema = client.get(reverse("api-schema")).content.decode()
    assert "/api/v1/patients/{id}/care-plan/" in schema or "care-plan" in schema
    assert "patients_care_plan_create" in schema


def test_it_ignores_server_owned_fields_in_a_new_version(client, alice, bob, patient, version):
    client.force_login(alice)
    body = {
        "reason": "Adjust",
        "visit_cadence_days": 180,
        "created_by": bob.pk,
        "author": "bob",
        "version": 99,
        "number": 99,
        "created_at": "2000-01-01T00:00:00Z",
        "patient": 12345,
    }
    response = client.post(url(patient), body, content_type="application/json")
    assert response.status_code == 201, response.content
    saved = CarePlanVersion.objects.order_by("-number").first()
    assert saved.number == version.number + 1 and saved.created_by == alice
    assert saved.created_at.year > 2000 and saved.plan.patient == patient


# --- issue #17 §2: the same values make no new version --------------------------------------


def test_it_answers_409_to_a_new_version_that_changes_nothing(client, alice, patient, version):
    client.force_login(alice)
    current = client.get(url(patient)).json()
    echoed = {k: v for k, v in current.items() if k not in ("version", "created_at")}
    response = client.post(
        url(patient), {**echoed, "reason": "Looked again"}, content_type="application/json"
    )
    assert response.status_code == 409, response.content
    assert "Nothing changed" in response.json()["detail"]["__all__"][0]
    only_reason = client.post(url(patient), {"reason": "x"}, content_type="application/json")
    assert only_reason.status_code == 409
    assert CarePlanVersion.objects.filter(plan__patient=patient).count() == 1
    assert not AuditEvent.objects.filter(patient=patient, action="change").exists()


def test_it_keeps_the_preset_when_targets_come_back_unchanged_without_one(client, alice, center):
    from tests.conftest import make_patient

    patient = make_patient("MRN-GDM", center=center, endocrinologists=[alice], diabetes_type="GDM")
    first = care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        content=care_plan_default_content(patient=patient),
    )
    client.force_login(alice)
    targets = {k: v for k, v in first.content["targets"].items() if k not in ("preset", "label")}
    same = {"reason": "x", "targets": targets}
    response = client.post(url(patient), same, content_type="application/json")
    assert response.status_code == 409, response.content
    wider = {"reason": "Wider", "targets": {**targets, "range_high": 150}}
    response = client.post(url(patient), wider, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["targets"]["preset"] == "custom"
    assert response.json()["targets"]["range_low"] == 63
