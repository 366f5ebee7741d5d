"""FHIR R4 export of a care plan: resource types, LOINC codes, references."""

import pytest
from django.urls import reverse

from care_plans.fhir import care_plan_bundle
from care_plans.services import care_plan_default_content, care_plan_revise
from tests.conftest import make_patient

LOINC = "http://loinc.org"


@pytest.fixture
def version(patient, alice):
    content = care_plan_default_content(patient=patient)
    content["medications"] = [
        {
            "kind": "insulin_basal",
            "product": "Insulin glargine",
            "dose": 18,
            "dose_unit": "U",
            "timing": "bedtime",
            "frequency": "once daily",
        },
        {"kind": "metformin", "product": "Metformin", "dose": 500, "dose_unit": "mg"},
    ]
    content["targets"]["goals"].append({"key": "low_percent", "comparison": "<", "target": 3.0})
    content["targets"]["goals"].append({"key": "high_percent", "comparison": "<", "target": 20.0})
    return care_plan_revise(patient=patient, by=alice, reason="Start", content=content)


def resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def codes(goal):
    return [c["code"] for c in goal["target"][0]["measure"].get("coding", [])]


def test_it_exports_a_collection_bundle(client, alice, patient, version):
    client.force_login(alice)
    response = client.get(reverse("api-patients-care-plan-fhir", args=[patient.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    kinds = sorted({e["resource"]["resourceType"] for e in bundle["entry"]})
    assert kinds == ["CarePlan", "Goal", "MedicationRequest"]


def test_it_describes_the_care_plan(version):
    bundle = care_plan_bundle(version=version)
    (plan,) = resources(bundle, "CarePlan")
    assert (plan["status"], plan["intent"]) == ("active", "plan")
    assert plan["period"]["start"].startswith(version.created_at.date().isoformat())
    assert plan["subject"]["reference"] == f"Patient/{version.plan.patient_id}"
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    refs = [g["reference"] for g in plan["goal"]]
    refs += [a["reference"]["reference"] for a in plan["activity"] if "reference" in a]
    assert refs and set(refs) <= full_urls
    details = [a["detail"]["description"] for a in plan["activity"] if "detail" in a]
    assert "Follow-up visit" in details


def test_it_codes_goals_with_loinc(version):
    goals = resources(care_plan_bundle(version=version), "Goal")
    all_codes = {code for goal in goals for code in codes(goal)}
    assert {"97510-2", "104642-4", "104639-0", "104638-2", "104641-6", "104640-8"} <= all_codes
    assert "4548-4" in all_codes
    hba1c = next(g for g in goals if "4548-4" in codes(g))
    quantity = hba1c["target"][0]["detailQuantity"]
    assert (quantity["value"], quantity["comparator"], quantity["code"]) == (7.0, "<", "%")
    tir = next(g for g in goals if "97510-2" in codes(g))
    assert tir["target"][0]["detailQuantity"]["comparator"] == ">"
    assert tir["target"][0]["detailQuantity"]["value"] == 70.0
    glucose_range = next(g for g in goals if "99504-3" in codes(g))
    detail_range = glucose_range["target"][0]["detailRange"]
    assert (detail_range["low"]["value"], detail_range["high"]["value"]) == (70, 180)
    assert all(goal["lifecycleStatus"] == "active" for goal in goals)


def test_it_leaves_cumulative_goals_uncoded(version):
    goals = resources(care_plan_bundle(version=version), "Goal")
    below_70 = next(
        g for g in goals if g["id"].endswith("") and "below 70" in g["description"]["text"].lower()
    )
    assert codes(below_70) == []


def test_it_exports_medication_requests_with_dose_and_timing(version):
    meds = resources(care_plan_bundle(version=version), "MedicationRequest")
    glargine = next(m for m in meds if m["medicationCodeableConcept"]["text"] == "Insulin glargine")
    dosage = glargine["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {
        "value": 18,
        "unit": "U",
        "system": "http://unitsofmeasure.org",
        "code": "[IU]",
    }
    assert dosage["timing"]["code"]["text"] == "bedtime, once daily"
    assert (glargine["status"], glargine["intent"]) == ("active", "order")


def test_it_codes_the_pregnancy_range_without_claiming_tir(db, alice):
    patient = make_patient("G9", diabetes_type="GDM")
    version = care_plan_revise(
        patient=patient, by=alice, reason="GDM", content=care_plan_default_content(patient=patient)
    )
    goals = resources(care_plan_bundle(version=version), "Goal")
    all_codes = {code for goal in goals for code in codes(goal)}
    assert "97510-2" not in all_codes  # 63-140 is not the 70-180 TIR LOINC measures
    assert "41653-7" in all_codes  # SMBG monitoring


def test_it_is_stable_across_exports(version):
    assert care_plan_bundle(version=version) == care_plan_bundle(version=version)
