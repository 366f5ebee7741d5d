import pytest
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


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mrn", "A1\r\nSet-Cookie: x"),
        ("mrn", 'A1"; filename="evil.exe'),
        ("mrn", "A 1"),
        ("name", "Eve\u202egnp.exe"),
        ("name", "Bad\x00Name"),
        ("name", "Tab\tName"),
    ],
)
def test_it_refuses_control_characters_in_mrn_and_name(client, alice, field, value):
    login(client, alice)
    body = {**NEW, field: value}
    response = client.post(reverse("api-patients-list"), body, content_type="application/json")
    assert response.status_code == 400 and field in str(response.json()["detail"])
    assert not Patient.objects.filter(mrn=body["mrn"]).exists()


def test_it_accepts_names_in_any_script(client, alice):
    login(client, alice)
    body = {**NEW, "name": "张伟 Zoë O'Brien-Łukasz"}
    response = client.post(reverse("api-patients-list"), body, content_type="application/json")
    assert response.status_code == 201


def test_it_refuses_bad_mrns_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    form = {**NEW, "mrn": "A1\r\nX", "language": "en", "_save": "Save"}
    response = client.post(reverse("admin:patients_patient_add"), form)
    assert response.status_code == 200 and not Patient.objects.exists()


def test_it_keeps_a_stored_bad_mrn_out_of_download_headers(client, alice, patient):
    Patient.objects.filter(pk=patient.pk).update(mrn='X"\r\nSet-Cookie: a=b')
    login(client, alice)
    response = client.get(reverse("api-patients-export", args=[patient.pk]), {"format": "csv"})
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and disposition.count('"') == 2


def test_it_ignores_server_owned_fields_in_the_body(client, alice, bob, staff, other_center):
    login(client, alice)
    owned = {
        "care_center": other_center.pk,
        "endocrinologists": [bob.pk],
        "user": staff.pk,
        "consents": [{"topic": "care", "given": True}],
        "created_at": "2000-01-01T00:00:00Z",
        "id": 999,
    }
    response = client.post(
        reverse("api-patients-list"), {**NEW, **owned}, content_type="application/json"
    )
    assert response.status_code == 201
    patient = Patient.objects.get(mrn=NEW["mrn"])
    assert patient.pk != 999 and patient.care_center == alice.care_center
    assert list(patient.endocrinologists.all()) == [alice] and patient.user is None
    assert not patient.consents.exists() and patient.created_at.year > 2000
    url = reverse("api-patients-detail", args=[patient.pk])
    client.patch(url, {**owned, "name": "Renamed"}, content_type="application/json")
    patient.refresh_from_db()
    assert patient.name == "Renamed" and patient.care_center == alice.care_center
    assert list(patient.endocrinologists.all()) == [alice] and patient.user is None


def test_it_lets_staff_edit_contact_details_but_not_clinical_fields(client, staff, patient):
    login(client, staff)
    url = reverse("api-patients-detail", args=[patient.pk])
    response = client.patch(url, {"phone": "+44 1", "name": "New Name"}, "application/json")
    assert response.status_code == 200
    for change in ({"diabetes_type": "T2"}, {"diagnosis_date": "2020-01-01"}):
        response = client.patch(url, change, content_type="application/json")
        assert response.status_code == 403 and "clinical" in response.json()["detail"]
    patient.refresh_from_db()
    assert patient.diabetes_type == "T1" and patient.diagnosis_date is None
    assert patient.phone == "+44 1"
    unchanged = client.patch(url, {"diabetes_type": "T1"}, content_type="application/json")
    assert unchanged.status_code == 200  # sending the same value back is not a change
