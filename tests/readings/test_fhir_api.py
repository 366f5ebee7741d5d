import json

from django.urls import reverse

from readings.models import DeviceToken, Reading
from tests.readings.helpers import DEVICES, login


def observation(value, when, code="99504-3", unit="mg/dL"):
    return {
        "resource": {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit, "code": unit},
            "device": {"display": "Dexcom G7"},
        },
        "request": {"method": "POST", "url": "Observation"},
    }


BUNDLE = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        observation(120, "2024-05-01T08:00:00+02:00"),
        observation(6.5, "2024-05-01T08:05:00+02:00", code="105272-9", unit="mmol/L"),
        observation(-3, "2024-05-01T08:10:00+02:00"),
    ],
}


def submit(client, patient, body, **headers):
    return client.post(
        reverse("api-patients-fhir-submit-cgm-bundle", args=[patient.pk]),
        json.dumps(body) if not isinstance(body, bytes) else body,
        content_type="application/fhir+json",
        **headers,
    )


def test_it_stores_a_cgm_bundle_and_answers_a_transaction_response(client, patient):
    login(client, patient.user)
    response = submit(client, patient, BUNDLE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "transaction-response"
    statuses = [entry["response"]["status"] for entry in body["entry"]]
    assert statuses == ["201 Created", "201 Created", "400 Bad Request"]
    assert sorted(Reading.objects.values_list("value_mg_dl", flat=True)) == [117, 120]
    submit(client, patient, BUNDLE)
    assert Reading.objects.count() == 2


def test_it_accepts_the_fixture_bundle_from_a_device_token(client, patient):
    _, key = DeviceToken.issue(patient=patient, name="bridge")
    body = (DEVICES / "fhir" / "sensotrend-converter__bundle.json").read_bytes()
    response = submit(client, patient, body, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert Reading.objects.filter(patient=patient).count() == 637


def test_it_answers_an_operation_outcome_for_a_non_bundle(client, patient):
    login(client, patient.user)
    for body in ({"resourceType": "Patient"}, b"{broken"):
        response = submit(client, patient, body)
        assert response.status_code == 400
        assert response.json()["resourceType"] == "OperationOutcome"


def test_it_refuses_outsiders(client, patient, bob, staff, other_patient):
    for outsider in (bob, staff, other_patient.user):
        login(client, outsider)
        assert submit(client, patient, BUNDLE).status_code == 404
    _, key = DeviceToken.issue(patient=other_patient, name="theirs")
    client.logout()
    assert submit(client, patient, BUNDLE, HTTP_AUTHORIZATION=f"Token {key}").status_code == 403
    assert not Reading.objects.exists()
