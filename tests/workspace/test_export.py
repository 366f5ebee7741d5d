import datetime as dt
import io
import json

from django.urls import reverse

from readings.parsers import Reading, parse
from readings.services import readings_ingest

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def load(patient):
    readings_ingest(
        patient=patient,
        items=[
            Reading(line=1, timestamp=T0, value_mg_dl=100.0, kind="cgm", device="G7"),
            Reading(
                line=2,
                timestamp=T0 + dt.timedelta(minutes=5),
                value_mg_dl=180.0,
                kind="cgm",
                device="G7",
            ),
            Reading(
                line=3,
                timestamp=T0 + dt.timedelta(hours=1),
                value_mg_dl=95.0,
                kind="smbg",
                device="Guide",
                meal_tag="fasting",
            ),
        ],
    )


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_it_exports_csv_that_imports_back_unchanged(client, patient):
    load(patient)
    client.force_login(patient.user)
    response = client.get(reverse("api-patients-export", args=[patient.pk]), {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    result = parse(body(response), format="auto")
    assert result.format == "csv"
    items = list(result.items())
    assert [(r.timestamp, r.value_mg_dl, r.kind, r.device, r.meal_tag) for r in items] == [
        (T0, 100.0, "cgm", "G7", ""),
        (T0 + dt.timedelta(minutes=5), 180.0, "cgm", "G7", ""),
        (T0 + dt.timedelta(hours=1), 95.0, "smbg", "Guide", "fasting"),
    ]


def test_it_exports_a_fhir_bundle_with_the_design_loinc_codes(client, alice, patient):
    load(patient)
    client.force_login(alice)  # the care team's readings table: audited
    url = reverse("api-patients-export", args=[patient.pk])
    body(client.get(url, {"format": "csv"}))
    client.force_login(patient.user)  # the whole record is the patient's (and the admin's)
    response = client.get(url, {"format": "fhir"})
    bundle = json.loads(body(response))
    assert bundle["resourceType"] == "Bundle"
    resources = [entry["resource"] for entry in bundle["entry"]]
    assert resources[0]["resourceType"] == "Patient"
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    codes = [r["code"]["coding"][0]["code"] for r in observations]
    assert codes == ["99504-3", "99504-3", "41653-7"]
    assert observations[1]["valueQuantity"]["value"] == 180.0
    # All of the patient's data (DESIGN §4): the access log too — alice's export is in it.
    events = [r for r in resources if r["resourceType"] == "AuditEvent"]
    assert any("alice" in json.dumps(e) for e in events)
    # Our own FHIR importer reads the export back.
    assert len(list(parse(json.dumps(bundle).encode()).items())) == 3


def test_it_exports_everything_as_a_zip_of_csv_files(client, admin_user, patient):
    import zipfile

    load(patient)
    client.force_login(admin_user)
    url = reverse("api-patients-export", args=[patient.pk])
    response = client.get(url, {"format": "zip"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {"readings.csv", "care_plan_versions.csv", "visits.csv", "access_log.csv"} <= names
    assert len(archive.read("readings.csv").decode().strip().splitlines()) == 1 + 3


def test_it_refuses_other_patients_and_staff(client, patient, other_patient, staff):
    client.force_login(other_patient.user)
    assert client.get(reverse("api-patients-export", args=[patient.pk])).status_code == 404
    client.force_login(staff)
    assert client.get(reverse("api-patients-export", args=[patient.pk])).status_code == 404


def test_it_rejects_unknown_formats(client, patient):
    client.force_login(patient.user)
    response = client.get(reverse("api-patients-export", args=[patient.pk]), {"format": "xml"})
    assert response.status_code == 400 and "detail" in response.json()
