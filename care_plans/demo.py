"""Demo care plans for ``seed_demo``: a realistic first version per patient, and for some a
second version that answers a (pretend) review, so history and diff pages have content."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from care_plans.models import CarePlan, CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise
from patients.models import Patient

BASAL = {
    "kind": "insulin_basal",
    "product": "Insulin glargine U-100",
    "dose": 18,
    "dose_unit": "U",
    "timing": "bedtime",
    "frequency": "once daily",
    "titration_rule": "Add 2 U every 3 days while fasting glucose is above 130 mg/dL",
}
BOLUS = {
    "kind": "insulin_bolus",
    "product": "Insulin aspart",
    "dose": 6,
    "dose_unit": "U",
    "timing": "before meals",
    "frequency": "three times daily",
    "carb_ratio_g_per_u": 10,
    "correction_factor_mg_dl_per_u": 50,
}
METFORMIN = {
    "kind": "metformin",
    "product": "Metformin XR",
    "dose": 1000,
    "dose_unit": "mg",
    "timing": "with dinner",
    "frequency": "once daily",
}
SGLT2 = {
    "kind": "sglt2",
    "product": "Empagliflozin",
    "dose": 10,
    "dose_unit": "mg",
    "timing": "morning",
    "frequency": "once daily",
}


def _first_content(patient: Patient) -> dict:
    content = care_plan_default_content(patient=patient)
    if patient.diabetes_type == Patient.DiabetesType.T1:
        content["medications"] = [dict(BASAL), dict(BOLUS)]
        content["diet"] = {"carb_g_per_day": 180, "kcal_per_day": None, "notes": "Count carbs."}
    elif patient.diabetes_type == Patient.DiabetesType.T2:
        content["medications"] = [dict(METFORMIN)]
        content["diet"] = {"carb_g_per_day": 150, "kcal_per_day": 1800, "notes": ""}
    elif patient.diabetes_type == Patient.DiabetesType.GDM:
        content["diet"] = {
            "carb_g_per_day": 175,
            "kcal_per_day": None,
            "notes": "3 meals, 2-3 snacks",
        }
        content["monitoring"]["seven_point_before_visits"] = True
    content["patient_instructions"] = (
        "Wear your sensor every day. Treat a low below 70 mg/dL with 15 g of fast sugar."
        if content["monitoring"]["mode"] == "cgm"
        else "Check your glucose when you wake up and 1 hour after each meal."
    )
    return content


def _second_content(first: dict) -> tuple[dict, str]:
    content = {**first, "medications": [dict(m) for m in first["medications"]]}
    for med in content["medications"]:
        if med["kind"] == "insulin_basal":
            med["dose"] = med["dose"] + 2
            return content, "Fasting glucose above target for two weeks: basal insulin +2 U."
        if med["kind"] == "metformin":
            content["medications"].append(dict(SGLT2))
            return content, "Time in range below 70 %: add an SGLT2 inhibitor."
    content["report_cadence_days"] = 7
    return content, "More frequent reports while glucose settles."


@transaction.atomic
def seed_plans(patients: Sequence[Patient], clinicians: Sequence) -> list[CarePlanVersion]:
    """Give every patient without a plan a first version (dated some weeks ago) and every
    third one a second version. Safe to run twice: patients with a plan are skipped."""
    created = []
    if not clinicians:
        return created
    now = timezone.now()
    for i, patient in enumerate(patients):
        if CarePlan.objects.filter(patient=patient, versions__isnull=False).exists():
            continue
        author = patient.endocrinologists.first() or clinicians[i % len(clinicians)]
        content = _first_content(patient)
        first = care_plan_revise(
            patient=patient,
            by=author,
            reason="Initial plan from the consensus targets.",
            content=content,
        )
        # Back-date through the queryset: versions refuse save() once written.
        CarePlanVersion.objects.filter(pk=first.pk).update(
            created_at=now - dt.timedelta(days=60 + i % 45)
        )
        created.append(first)
        if i % 3 == 0:
            content, reason = _second_content(content)
            second = care_plan_revise(patient=patient, by=author, reason=reason, content=content)
            CarePlanVersion.objects.filter(pk=second.pk).update(
                created_at=now - dt.timedelta(days=10 + i % 20)
            )
            created.append(second)
    return created
