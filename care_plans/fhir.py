"""A care-plan version as an HL7 FHIR R4 Bundle (type ``collection``).

One ``CarePlan`` (status active, intent plan) whose activities reference one
``MedicationRequest`` per medication and describe the rest (diet, exercise, monitoring, visits,
checks) in ``activity.detail``; one ``Goal`` per glucose goal, one for the target range and
one for HbA1c. Goal measures carry LOINC codes where one exists for exactly that quantity
(CGM IG, DESIGN §7): TIR 70-180 97510-2, 54-69 104641-6, < 54 104642-4, 181-250 104640-8,
> 250 104639-0, CV 104638-2, HbA1c 4548-4. The consensus' cumulative goals (< 70 including
< 54, > 180 including > 250) and pregnancy's 63-140 range have no LOINC code of their own:
giving them a band's code would tell a receiving system something false, so their measure is
text only. One-sided goals use ``detailQuantity`` with a comparator (it keeps "<" apart from
"<="); the target range uses ``detailRange``.
"""

from __future__ import annotations

import uuid

from care_plans.models import CarePlanVersion
from care_plans.services import CHECKS, GOAL_LABELS, MEDICATION_KINDS, SMBG_TAGS

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

GOAL_LOINC = {
    "in_range_percent": "97510-2",
    "low_percent": "104641-6",
    "very_low_percent": "104642-4",
    "high_percent": "104640-8",
    "very_high_percent": "104639-0",
    "cv_percent": "104638-2",
}
HBA1C_LOINC = "4548-4"  # Hemoglobin A1c/Hemoglobin.total in Blood
CGM_GLUCOSE_LOINC = "99504-3"  # Glucose [Mass/volume] in Interstitial fluid
SMBG_GLUCOSE_LOINC = "41653-7"  # Glucose [Mass/volume] in Capillary blood by Glucometer
DOSE_UCUM = {"U": "[IU]", "mg": "mg", "µg": "ug", "g": "g", "mL": "mL"}


def _id(version: CarePlanVersion, name: str) -> str:
    """Stable ids, so exporting the same version twice gives the same Bundle."""
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"care-plan/{version.plan_id}/{version.number}/{name}")
    )


def _percent(value: float, comparator: str | None = None) -> dict:
    quantity = {"value": value, "unit": "%", "system": UCUM, "code": "%"}
    if comparator:
        quantity["comparator"] = comparator
    return quantity


def _goal(version, subject, name, description, measure, detail) -> dict:
    return {
        "resourceType": "Goal",
        "id": _id(version, name),
        "lifecycleStatus": "active",
        "description": {"text": description},
        "subject": subject,
        "startDate": version.created_at.date().isoformat(),
        "target": [{"measure": measure, **detail}],
    }


def _goals(version: CarePlanVersion, subject: dict) -> list[dict]:
    content = version.content
    targets = content["targets"]
    low, high = targets["range_low"], targets["range_high"]
    monitoring_code = (
        CGM_GLUCOSE_LOINC if content["monitoring"]["mode"] == "cgm" else SMBG_GLUCOSE_LOINC
    )
    goals = [
        _goal(
            version,
            subject,
            "range",
            f"Glucose target range {low}-{high} mg/dL",
            {"coding": [{"system": LOINC, "code": monitoring_code}], "text": "Glucose"},
            {
                "detailRange": {
                    "low": {"value": low, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"},
                    "high": {"value": high, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"},
                }
            },
        )
    ]
    for goal in targets["goals"]:
        key = goal["key"]
        label = str(GOAL_LABELS.get(key, goal["label"]))
        code = GOAL_LOINC.get(key)
        if key == "in_target_percent" and (low, high) == (70, 180):
            code = GOAL_LOINC["in_range_percent"]
        measure = {"text": goal["label"] or label}
        if code:
            measure["coding"] = [{"system": LOINC, "code": code, "display": label}]
        goals.append(
            _goal(
                version,
                subject,
                f"goal-{key}",
                f"{goal['label'] or label} {goal['comparison']} {goal['target']} %",
                measure,
                {"detailQuantity": _percent(goal["target"], goal["comparison"])},
            )
        )
    if content.get("hba1c_goal_percent") is not None:
        goals.append(
            _goal(
                version,
                subject,
                "hba1c",
                f"HbA1c < {content['hba1c_goal_percent']} %",
                {
                    "coding": [{"system": LOINC, "code": HBA1C_LOINC, "display": "HbA1c"}],
                    "text": "HbA1c",
                },
                {"detailQuantity": _percent(content["hba1c_goal_percent"], "<")},
            )
        )
    return goals


def _medication_request(version, subject, index: int, med: dict) -> dict:
    dose = {"value": med["dose"], "unit": med["dose_unit"]}
    if med["dose_unit"] in DOSE_UCUM:
        dose.update(system=UCUM, code=DOSE_UCUM[med["dose_unit"]])
    timing_text = ", ".join(part for part in (med["timing"], med["frequency"]) if part)
    text = f"{med['product']} {med['dose']} {med['dose_unit']}"
    if timing_text:
        text += f" {timing_text}"
    extras = []
    if med.get("carb_ratio_g_per_u"):
        extras.append(f"carb ratio 1 U per {med['carb_ratio_g_per_u']} g")
    if med.get("correction_factor_mg_dl_per_u"):
        extras.append(f"correction 1 U per {med['correction_factor_mg_dl_per_u']} mg/dL")
    dosage = {
        "text": "; ".join([text, *extras]),
        "doseAndRate": [{"doseQuantity": dose}],
    }
    if timing_text:
        dosage["timing"] = {"code": {"text": timing_text}}
    if med.get("titration_rule"):
        dosage["additionalInstruction"] = [{"text": med["titration_rule"]}]
    return {
        "resourceType": "MedicationRequest",
        "id": _id(version, f"medication-{index}"),
        "status": "active",
        "intent": "order",
        "category": [{"text": str(MEDICATION_KINDS.get(med["kind"], med["kind"]))}],
        "medicationCodeableConcept": {"text": med["product"]},
        "subject": subject,
        "authoredOn": version.created_at.isoformat(),
        "requester": {"display": str(version.created_by)},
        "dosageInstruction": [dosage],
    }


def _every(days: int, description: str) -> dict:
    return {
        "detail": {
            "status": "in-progress",
            "description": description,
            "scheduledTiming": {"repeat": {"frequency": 1, "period": days, "periodUnit": "d"}},
        }
    }


def _activities(content: dict, med_refs: list[str]) -> list[dict]:
    activities = [{"reference": {"reference": ref}} for ref in med_refs]
    diet = content["diet"]
    diet_text = "; ".join(
        part
        for part in (
            f"carbohydrate {diet['carb_g_per_day']} g/day" if diet["carb_g_per_day"] else "",
            f"energy {diet['kcal_per_day']} kcal/day" if diet["kcal_per_day"] else "",
            diet["notes"],
        )
        if part
    )
    if diet_text:
        activities.append(
            {"detail": {"status": "in-progress", "description": f"Diet: {diet_text}"}}
        )
    exercise = content["exercise"]
    if exercise["minutes_per_week"] or exercise["notes"]:
        text = f"Exercise: {exercise['minutes_per_week'] or 0} minutes per week"
        if exercise["notes"]:
            text += f"; {exercise['notes']}"
        activities.append({"detail": {"status": "in-progress", "description": text}})
    monitoring = content["monitoring"]
    if monitoring["mode"] == "cgm":
        text = f"CGM, worn at least {monitoring['cgm_wear_goal_percent']} % of the time"
        activities.append({"detail": {"status": "in-progress", "description": text}})
    else:
        tags = ", ".join(str(SMBG_TAGS[t]) for t in monitoring["smbg_tags"])
        text = f"Finger-stick glucose {monitoring['smbg_readings_per_day']} times a day"
        if tags:
            text += f" ({tags})"
        activity = _every(1, text)
        activity["detail"]["scheduledTiming"]["repeat"]["frequency"] = monitoring[
            "smbg_readings_per_day"
        ]
        activities.append(activity)
    if monitoring["seven_point_before_visits"]:
        activities.append(
            {"detail": {"status": "in-progress", "description": "7-point profile before visits"}}
        )
    activities.append(_every(content["visit_cadence_days"], "Follow-up visit"))
    activities.append(_every(content["report_cadence_days"], "Glucose report"))
    for check in content["checks"]:
        activities.append(
            _every(check["interval_days"], str(CHECKS.get(check["key"], check["label"])))
        )
    return activities


def care_plan_bundle(*, version: CarePlanVersion, base_url: str = "") -> dict:
    """The FHIR R4 Bundle of ``version`` (see the module docstring)."""
    patient = version.plan.patient
    subject = {"reference": f"Patient/{patient.pk}", "display": patient.name}
    goals = _goals(version, subject)
    meds = [
        _medication_request(version, subject, i, med)
        for i, med in enumerate(version.content["medications"])
    ]
    care_plan_id = _id(version, "careplan")
    content = version.content
    care_plan = {
        "resourceType": "CarePlan",
        "id": care_plan_id,
        "identifier": [
            {"system": f"{base_url}care-plans", "value": f"{version.plan_id}-{version.number}"}
        ],
        "status": "active",
        "intent": "plan",
        "title": f"Diabetes care plan, version {version.number}",
        "description": version.reason,
        "subject": subject,
        "period": {"start": version.created_at.isoformat()},
        "created": version.created_at.isoformat(),
        "author": {"display": str(version.created_by)},
        "goal": [{"reference": f"urn:uuid:{goal['id']}"} for goal in goals],
        "activity": _activities(content, [f"urn:uuid:{m['id']}" for m in meds]),
    }
    if content.get("patient_instructions"):
        care_plan["note"] = [{"text": content["patient_instructions"]}]
    resources = [care_plan, *goals, *meds]
    return {
        "resourceType": "Bundle",
        "id": _id(version, "bundle"),
        "type": "collection",
        "timestamp": version.created_at.isoformat(),
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
            for resource in resources
        ],
    }
