"""The "Enrol in remote monitoring" control on the patient's Alerts tab (issue #20 §1): the
patient's endocrinologist sees the consent, enrols (409 and why without consent, as the API),
edits the thresholds in their own unit (through the display layer) and ends it."""

import pytest

from accounts.models import AuditEvent
from monitoring.models import Enrolment
from patients.consent import consent_record
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _url(patient) -> str:
    return f"/patients/{patient.pk}/alerts/monitoring/"


def _consent(patient, given=True):
    consent_record(patient=patient, topic="remote_monitoring", given=given, by=patient.user)


def test_the_tab_shows_the_consent_and_the_enrol_button(client, alice, patient):
    client.force_login(alice)
    page = client.get(f"/patients/{patient.pk}/alerts/").content.decode()
    assert 'data-consent="never"' in page and "Enrol in remote monitoring" in page
    _consent(patient)
    page = client.get(f"/patients/{patient.pk}/alerts/").content.decode()
    assert 'data-consent="given"' in page
    _consent(patient, given=False)
    page = client.get(f"/patients/{patient.pk}/alerts/").content.decode()
    assert 'data-consent="withdrawn"' in page


def test_enrolling_without_consent_answers_409_with_the_reason(client, alice, patient):
    client.force_login(alice)
    response = client.post(_url(patient), {"action": "enrol"})
    assert response.status_code == 409
    assert "has not consented to remote monitoring" in response.content.decode()
    assert 'id="enrol-problem"' in response.content.decode()
    assert not Enrolment.objects.filter(patient=patient, active=True).exists()


def test_a_mg_dl_clinician_enrols_with_the_plans_defaults_then_ends_it(client, alice, patient):
    _consent(patient)
    client.force_login(alice)
    page = client.get(f"/patients/{patient.pk}/alerts/").content.decode()
    assert 'name="urgent_low" value="54"' in page and 'name="high" value="250"' in page
    fields = {"urgent_low": "54", "high": "250", "high_minutes": "120", "no_data_hours": "4"}
    response = client.post(_url(patient), {"action": "enrol", **fields})
    assert response.status_code == 302
    enrolment = Enrolment.objects.get(patient=patient)
    assert enrolment.active and enrolment.thresholds == {}  # unchanged: the plan's own
    assert AuditEvent.objects.filter(patient=patient, what="monitoring enrolled").exists()
    response = client.post(_url(patient), {"action": "unenrol"})
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert not enrolment.active and enrolment.ended_reason == "ended by clinician"


def test_a_mmol_clinician_types_mmol_and_mg_dl_is_stored(client, alice, patient):
    alice.unit = "mmol/L"
    alice.save()
    _consent(patient)
    client.force_login(alice)
    page = client.get(f"/patients/{patient.pk}/alerts/").content.decode()
    assert 'name="urgent_low" value="3.0"' in page  # 54 mg/dL
    assert "(mmol/L)" in page and 'name="high" value="13.9"' in page
    fields = {"urgent_low": "3.5", "high": "13.9", "high_minutes": "90", "no_data_hours": ""}
    assert client.post(_url(patient), {"action": "enrol", **fields}).status_code == 302
    enrolment = Enrolment.objects.get(patient=patient)
    # 3.5 mmol/L is 63 mg/dL; 13.9 is how 250 shows: the plan's own, not an override.
    assert enrolment.thresholds == {"urgent_low_mg_dl": 63, "high_minutes": 90}
    page = client.get(f"/patients/{patient.pk}/alerts/").content.decode()
    assert 'name="urgent_low" value="3.5"' in page and "changed for this patient" in page
    # Saving again unchanged rewrites nothing.
    again = {"urgent_low": "3.5", "high": "13.9", "high_minutes": "90", "no_data_hours": "4"}
    assert client.post(_url(patient), {"action": "thresholds", **again}).status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.thresholds == {"urgent_low_mg_dl": 63, "high_minutes": 90}


def test_out_of_bounds_thresholds_answer_400_in_the_readers_unit(client, alice, patient):
    alice.unit = "mmol/L"
    alice.save()
    _consent(patient)
    client.force_login(alice)
    response = client.post(_url(patient), {"action": "enrol", "urgent_low": "5.5"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Must be from 2.2–3.9 mmol/L" in body and 'value="5.5"' in body
    assert not Enrolment.objects.filter(patient=patient, active=True).exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "enrol", "urgent_low": "\x00"},
        {"action": "enrol", "high": "1" + "0" * 400},
        {"action": "enrol", "high_minutes": "nan"},
        {"action": "enrol", "no_data_hours": "inf"},
        {"action": "explode"},
        {},
    ],
)
def test_garbage_answers_400(client, alice, patient, fields):
    _consent(patient)
    client.force_login(alice)
    assert client.post(_url(patient), fields).status_code == 400
    assert not Enrolment.objects.filter(patient=patient, active=True).exists()


def test_only_the_patients_endocrinologist_may_enrol(
    client, bob, staff, patient, patient_user, other_center
):
    _consent(patient)
    stranger = make_user("sid", "endocrinologist", other_center)
    for user, status in ((bob, 404), (stranger, 404), (staff, 404), (patient_user, 403)):
        client.force_login(user)
        assert client.post(_url(patient), {"action": "enrol"}).status_code == status, user
    client.force_login(bob)
    assert client.get(_url(patient)).status_code == 405
    assert not Enrolment.objects.filter(patient=patient, active=True).exists()
