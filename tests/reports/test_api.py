"""Reports API: list, generate, detail, FHIR export."""

import base64

import pytest
from django.urls import reverse

from reports.services import report_generate
from tests.reports.conftest import PERIOD_END

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(patient, load_simulated):
    load_simulated(patient)
    return report_generate(patient_id=patient.pk, period_end=PERIOD_END)


def test_it_lists_a_patients_reports(client, alice, report):
    client.force_login(alice)
    data = client.get(f"/api/v1/patients/{report.patient_id}/reports/").json()
    assert data["count"] == 1 and data["results"][0]["id"] == report.pk
    assert "metrics" not in data["results"][0]


def test_it_returns_the_report_with_its_metrics(client, patient_user, report):
    client.force_login(patient_user)
    data = client.get(f"/api/v1/reports/{report.pk}/").json()
    assert data["metrics"]["in_range_percent"] == report.metrics["in_range_percent"]
    assert data["goals"] and data["period_end"] == PERIOD_END.isoformat()


def test_it_generates_for_a_clinician_and_refuses_a_patient(client, alice, patient_user, patient):
    client.force_login(patient_user)
    assert client.post(f"/api/v1/patients/{patient.pk}/reports/").status_code == 403
    client.force_login(alice)
    response = client.post(f"/api/v1/patients/{patient.pk}/reports/")
    assert response.status_code == 422 and "detail" in response.json()  # no data yet


@pytest.mark.parametrize("who", ["bob", "staff", "other_patient_user"])
def test_it_refuses_outsiders(client, request, report, who):
    client.force_login(request.getfixturevalue(who))
    for url in (
        f"/api/v1/patients/{report.patient_id}/reports/",
        f"/api/v1/reports/{report.pk}/",
        f"/api/v1/reports/{report.pk}/fhir/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/api/v1/patients/{report.patient_id}/reports/").status_code == 404


def test_it_exports_the_cgm_summary_as_fhir(client, alice, report):
    client.force_login(alice)
    response = client.get(reverse("api-reports-fhir", args=[report.pk]))
    assert response.status_code == 200
    bundle = response.json()
    resources = [e["resource"] for e in bundle["entry"]]
    observations = {
        r["code"]["coding"][0]["code"]: r for r in resources if r["resourceType"] == "Observation"
    }
    assert set(observations) == {
        "107931-8",
        "97507-8",
        "106793-3",
        "97506-0",
        "104638-2",
        "104636-6",
        "104637-4",
    }
    panel = observations["107931-8"]
    assert panel["effectivePeriod"]["start"].startswith("2026-03-01")
    assert len(panel["hasMember"]) == 6
    tir = observations["106793-3"]
    components = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in tir["component"]
    }
    assert components == {
        "104642-4": report.metrics["very_low_percent"],
        "104641-6": report.metrics["low_percent"],
        "97510-2": report.metrics["in_range_percent"],
        "104640-8": report.metrics["high_percent"],
        "104639-0": report.metrics["very_high_percent"],
    }
    assert observations["97507-8"]["valueQuantity"]["unit"] == "mg/dL"
    diagnostic = next(r for r in resources if r["resourceType"] == "DiagnosticReport")
    form = diagnostic["presentedForm"][0]
    assert form["contentType"] == "application/pdf"
    assert base64.b64decode(form["data"]).startswith(b"%PDF")


def test_it_keeps_operation_ids_unique_in_the_schema(client, alice):
    client.force_login(alice)
    import json

    schema = json.loads(
        client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
    )
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert "patients_reports_generate" in ids and "reports_fhir" in ids
