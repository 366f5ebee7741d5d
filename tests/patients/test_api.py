from django.urls import reverse

from patients.models import Patient
from tests.conftest import PASSWORD

NEW = {
    "mrn": "NEW1",
    "name": "New Patient",
    "birth_date": "1990-02-03",
    "sex": "F",
    "diabetes_type": "T2",
    "timezone": "Asia/Shanghai",
    "unit": "mmol/L",
}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_it_creates_a_patient_and_answers_its_id(client, alice):
    login(client, alice)
    response = client.post(reverse("api-patients-list"), NEW, content_type="application/json")
    assert response.status_code == 201, response.content
    patient = Patient.objects.get(pk=response.json()["id"])
    assert patient.timezone == "Asia/Shanghai" and list(patient.endocrinologists.all()) == [alice]


def test_it_rejects_a_bad_time_zone_with_detail(client, alice):
    login(client, alice)
    response = client.post(
        reverse("api-patients-list"),
        {**NEW, "timezone": "Mars/Base"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "detail" in response.json()


def test_it_refuses_patients_creating_patients(client, patient):
    login(client, patient.user)
    response = client.post(reverse("api-patients-list"), NEW, content_type="application/json")
    assert response.status_code == 403
    assert "detail" in response.json()


def test_it_refuses_a_patient_another_patients_record(client, patient, other_patient):
    login(client, patient.user)
    assert client.get(reverse("api-patients-detail", args=[patient.pk])).status_code == 200
    response = client.get(reverse("api-patients-detail", args=[other_patient.pk]))
    assert response.status_code == 404
    assert "detail" in response.json()


def test_it_lists_only_visible_patients(client, alice, patient, other_patient):
    login(client, alice)
    ids = [row["id"] for row in client.get(reverse("api-patients-list")).json()["results"]]
    assert ids == [patient.pk]


def test_it_requires_authentication(client, patient):
    assert client.get(reverse("api-patients-list")).status_code in (401, 403)
