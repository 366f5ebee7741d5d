"""Download all my data: a ZIP of CSV files (+ report PDFs) and a FHIR R4 Bundle."""

import base64
import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from django.urls import reverse

from accounts.access import audit
from accounts.models import AuditEvent
from care_plans.services import care_plan_default_content, care_plan_revise
from patients.consent import consent_record
from patients.models import Patient
from readings.models import Device, Treatment
from readings.parsers import Reading
from readings.services import readings_ingest
from reports.services import report_generate
from visits.models import Visit, VisitType

T0 = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)  # 08:00 in New York (EST, UTC-5)


@pytest.fixture
def known(patient, alice, center):
    """A small patient whose every exported value is known in advance."""
    Patient.objects.filter(pk=patient.pk).update(timezone="America/New_York")
    patient.refresh_from_db()
    readings_ingest(
        patient=patient,
        items=[
            Reading(line=1, timestamp=T0, value_mg_dl=100.0, kind="cgm", device="G7"),
            Reading(
                line=2,
                timestamp=T0 + dt.timedelta(minutes=5),
                value_mg_dl=180.0,
                kind="cgm",
                device="=HYPERLINK(1)",
                flag="",
            ),
            Reading(
                line=3,
                timestamp=T0 + dt.timedelta(hours=1),
                value_mg_dl=55.0,
                kind="smbg",
                device="Guide",
                meal_tag="fasting",
            ),
        ],
    )
    device = Device.objects.filter(patient=patient).first()
    Treatment.objects.create(
        patient=patient, device=device, timestamp=T0, kind="insulin_rapid", amount=4.5, text="@cmd"
    )
    report = report_generate(patient_id=patient.pk, period_end=dt.date(2026, 3, 1))
    care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        content=care_plan_default_content(patient=patient),
    )
    tighter = care_plan_default_content(patient=patient)
    tighter["targets"] = {**tighter["targets"], "preset": "custom", "label": "", "range_high": 160}
    care_plan_revise(patient=patient, by=alice, reason="Tighter range", content=tighter)
    follow_up = VisitType.objects.create(code="follow_up", name="Follow-up", duration_minutes=30)
    Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=center,
        start_at=T0,
        end_at=T0 + dt.timedelta(minutes=30),
        status=Visit.Status.COMPLETED,
    )
    consent_record(patient=patient, topic="care", given=True, by=patient.user)
    audit(alice, patient, "view", "patient workspace")
    return report


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def table(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_it_downloads_every_part_as_csv_in_a_zip(client, patient, known):
    client.force_login(patient.user)
    response = client.get(reverse("patients-export-zip", args=[patient.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"].startswith('attachment; filename="MRN001-data-')
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    assert archive.testzip() is None

    readings = table(archive, "readings.csv")
    assert [(r["timestamp"], r["local_time"]) for r in readings] == [
        ("2026-03-01T13:00:00+00:00", "2026-03-01T08:00:00-05:00"),
        ("2026-03-01T13:05:00+00:00", "2026-03-01T08:05:00-05:00"),
        ("2026-03-01T14:00:00+00:00", "2026-03-01T09:00:00-05:00"),
    ]
    # mmol/L = mg/dL ÷ 18.01559, one decimal: 100 → 5.55 → 5.6; 180 → 9.99 → 10.0; 55 → 3.1
    assert [(r["value_mg_dl"], r["value_mmol_l"], r["kind"]) for r in readings] == [
        ("100.0", "5.6", "cgm"),
        ("180.0", "10.0", "cgm"),
        ("55.0", "3.1", "smbg"),
    ]
    assert readings[1]["device"] == "'=HYPERLINK(1)"  # no spreadsheet formula
    assert readings[2]["meal_tag"] == "fasting"

    (treatment,) = table(archive, "treatments.csv")
    assert (treatment["kind"], treatment["amount"], treatment["amount_unit"]) == (
        "insulin_rapid",
        "4.5",
        "U",
    )
    assert treatment["text"] == "'@cmd"

    (report,) = table(archive, "reports.csv")
    assert report["report_id"] == str(known.pk) and report["period_end"] == "2026-03-01"
    assert report["readings"] == str(known.metrics["readings"])
    assert archive.read(report["pdf"]).startswith(b"%PDF")

    plans = table(archive, "care_plan_versions.csv")
    assert [(p["version"], p["reason"], p["author"]) for p in plans] == [
        ("1", "First plan", "Alice"),
        ("2", "Tighter range", "Alice"),
    ]
    assert json.loads(plans[0]["content_json"])["targets"]["range_low"] == 70

    (visit,) = table(archive, "visits.csv")
    assert (visit["start"], visit["local_start"], visit["status"], visit["clinician"]) == (
        "2026-03-01T13:00:00+00:00",
        "2026-03-01T08:00:00-05:00",
        "completed",
        "Alice",
    )
    (consent,) = table(archive, "consents.csv")
    assert (consent["topic"], consent["version"], consent["decision"], consent["by"]) == (
        "care",
        "2026-11",
        "given",
        "pat",
    )
    (access,) = table(archive, "access_log.csv")
    assert (access["who"], access["role"], access["action"], access["what"]) == (
        "alice",
        "endocrinologist",
        "view",
        "patient workspace",
    )
    assert "ip" not in access  # staff addresses are not part of the patient's copy
    (person,) = table(archive, "patient.csv")
    assert (person["mrn"], person["timezone"]) == ("MRN001", "America/New_York")


def test_it_downloads_a_fhir_bundle_whose_references_all_resolve(client, patient, known):
    client.force_login(patient.user)
    response = client.get(reverse("patients-export-fhir", args=[patient.pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/fhir+json"
    bundle = json.loads(body(response))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    entries = bundle["entry"]
    full_urls = [e["fullUrl"] for e in entries]
    assert len(set(full_urls)) == len(full_urls)
    assert all(url.startswith("urn:uuid:") and len(url) == 45 for url in full_urls)

    def references(node):
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str):
                yield node["reference"]
            for value in node.values():
                yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    for entry in entries:
        assert entry["resource"]["resourceType"] and entry["resource"]["id"]
        for ref in references(entry["resource"]):
            assert ref in full_urls, (entry["resource"]["resourceType"], ref)

    by_type: dict[str, list[dict]] = {}
    for entry in entries:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    assert len(by_type["Patient"]) == 1
    glucose = [
        o for o in by_type["Observation"] if o["code"]["coding"][0]["system"] == "http://loinc.org"
    ]
    codes = [o["code"]["coding"][0]["code"] for o in glucose if "valueQuantity" in o]
    assert codes[:3] == ["99504-3", "99504-3", "41653-7"]
    (diagnostic,) = by_type["DiagnosticReport"]
    form = diagnostic["presentedForm"][0]
    assert form["contentType"] == "application/pdf"
    assert base64.b64decode(form["data"]).startswith(b"%PDF")
    plans = sorted(by_type["CarePlan"], key=lambda p: p["title"])
    assert [p["status"] for p in plans] == ["revoked", "active"]
    assert plans[1]["replaces"][0]["reference"] in full_urls
    (appointment,) = by_type["Appointment"]
    assert appointment["status"] == "fulfilled" and appointment["participant"]
    assert all("status" in p for p in appointment["participant"])
    (consent,) = by_type["Consent"]
    assert consent["status"] == "active" and consent["provision"]["type"] == "permit"
    assert consent["scope"]["coding"][0]["code"] == "treatment" and consent["category"]
    (event,) = by_type["AuditEvent"]
    assert event["action"] == "R" and event["agent"][0]["who"]["display"] == "alice"
    assert event["recorded"] and event["source"]["observer"] and event["type"]["code"]


def test_it_audits_the_download_even_by_the_patient(client, patient):
    client.force_login(patient.user)
    body(client.get(reverse("patients-export-zip", args=[patient.pk])))
    body(client.get(reverse("patients-export-fhir", args=[patient.pk])))
    events = AuditEvent.objects.filter(patient_id=patient.pk, action="export")
    assert sorted(e.what for e in events) == [
        "all data as FHIR R4 Bundle",
        "all data as ZIP of CSV and PDF",
    ]
    assert {e.username for e in events} == {"pat"}


def test_it_lets_an_admin_download_for_a_patient(client, admin_user, patient, known):
    client.force_login(admin_user)
    response = client.get(reverse("patients-export-zip", args=[patient.pk]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    assert len(table(archive, "readings.csv")) == 3


@pytest.mark.parametrize("name", ["patients-export-zip", "patients-export-fhir"])
def test_it_refuses_everyone_else(client, name, patient, other_patient, alice, staff):
    url = reverse(name, args=[patient.pk])
    assert client.get(url).status_code == 302  # anonymous: to sign in
    client.force_login(other_patient.user)
    assert client.get(url).status_code == 404
    for clinician_or_staff in (alice, staff):
        client.force_login(clinician_or_staff)
        assert client.get(url).status_code == 403
    client.force_login(patient.user)
    assert client.post(url).status_code == 405


@pytest.mark.parametrize("fmt", ["fhir", "zip"])
def test_it_refuses_the_whole_record_through_the_api_as_the_pages_do(
    client, fmt, patient, other_patient, alice, staff, admin_user
):
    """The API's ``format=fhir|zip`` is the same download as ``export.fhir.json`` /
    ``export.zip``: the patient's and the admin's (issue #18: the care team got it)."""
    url = reverse("api-patients-export", args=[patient.pk])
    assert client.get(url, {"format": fmt}).status_code in (401, 403)
    client.force_login(other_patient.user)
    assert client.get(url, {"format": fmt}).status_code == 404
    for clinician_or_staff in (alice, staff):
        client.force_login(clinician_or_staff)
        assert client.get(url, {"format": fmt}).status_code == 403
    for allowed in (patient.user, admin_user):
        client.force_login(allowed)
        response = client.get(url, {"format": fmt})
        assert response.status_code == 200
        body(response)


def test_it_keeps_the_readings_table_for_the_care_team(client, patient, alice, staff):
    """``format=csv`` is the re-importable readings table, not the whole record: the care
    team reads the same readings in the readings API (``accounts.access`` docstring)."""
    url = reverse("api-patients-export", args=[patient.pk])
    client.force_login(alice)
    response = client.get(url, {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    body(response)
    client.force_login(staff)  # staff never see readings
    assert client.get(url, {"format": "csv"}).status_code == 404


def test_it_streams_readings_in_chunks_not_row_by_row(
    client, patient, django_assert_max_num_queries
):
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    readings_ingest(
        patient=patient,
        items=(
            Reading(
                line=i,
                timestamp=start + dt.timedelta(minutes=5 * i),
                value_mg_dl=100.0 + i % 50,
                kind="cgm",
                device="G7",
            )
            for i in range(6000)
        ),
    )
    client.force_login(patient.user)
    with django_assert_max_num_queries(40):
        archive = zipfile.ZipFile(
            io.BytesIO(body(client.get(reverse("patients-export-zip", args=[patient.pk]))))
        )
    assert len(table(archive, "readings.csv")) == 6000
    with django_assert_max_num_queries(40):
        bundle = json.loads(body(client.get(reverse("patients-export-fhir", args=[patient.pk]))))
    assert len(bundle["entry"]) == 6001


def test_the_bundle_costs_the_same_queries_whatever_the_number_of_plan_versions(
    client, patient, alice
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(patient.user)
    url = reverse("patients-export-fhir", args=[patient.pk])
    counts = []
    for _ in range(2):
        for n in range(3):
            content = care_plan_default_content(patient=patient)
            content["exercise"]["minutes_per_week"] = 160 + n  # a version is a change
            care_plan_revise(patient=patient, by=alice, reason=f"v{n}", content=content)
        with CaptureQueriesContext(connection) as queries:
            body(client.get(url))
        counts.append(len(queries))
    assert counts[0] == counts[1]  # 3 versions, then 6: no query per version


def test_the_api_audits_the_patients_own_download_of_everything(client, patient):
    client.force_login(patient.user)
    url = reverse("api-patients-export", args=[patient.pk])
    body(client.get(url, {"format": "zip"}))
    body(client.get(url, {"format": "csv"}))  # the readings table: their own, not audited
    events = AuditEvent.objects.filter(patient_id=patient.pk, action="export")
    assert [e.what for e in events] == ["all data as zip"]
