"""Demo care plans for ``seed_demo``: a realistic first version per patient, and for some a
second version that answers a (pretend) review, so history and diff pages have content.

Free text (instructions, titration rules, timing, notes) is what a clinician types, and the
product shows it as written; the demo writes it as a clinician would for this patient: in the
patient's language and glucose unit. The reasons for a change are the author's own words, in
the author's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from care_plans.models import CarePlan, CarePlanVersion
from care_plans.services import NothingChanged, care_plan_default_content, care_plan_revise
from glycemia import display
from patients.models import Patient


def _medications(patient: Patient) -> dict[str, dict]:
    """The demo's medicines with their free text in the patient's language and unit."""
    with translation.override(patient.language or "en"):
        return {
            "basal": {
                "kind": "insulin_basal",
                "product": "Insulin glargine U-100",
                "dose": 18,
                "dose_unit": "U",
                "timing": _("bedtime"),
                "frequency": _("once daily"),
                "titration_rule": _(
                    "Add 2 U every 3 days while fasting glucose is above %(glucose)s"
                )
                % {"glucose": display.glucose(130, patient.unit)},
            },
            "bolus": {
                "kind": "insulin_bolus",
                "product": "Insulin aspart",
                "dose": 6,
                "dose_unit": "U",
                "timing": _("before meals"),
                "frequency": _("three times daily"),
                "carb_ratio_g_per_u": 10,
                "correction_factor_mg_dl_per_u": 50,
            },
            "metformin": {
                "kind": "metformin",
                "product": "Metformin XR",
                "dose": 1000,
                "dose_unit": "mg",
                "timing": _("with dinner"),
                "frequency": _("once daily"),
            },
            "sglt2": {
                "kind": "sglt2",
                "product": "Empagliflozin",
                "dose": 10,
                "dose_unit": "mg",
                "timing": _("morning"),
                "frequency": _("once daily"),
            },
        }


def _first_content(patient: Patient) -> dict:
    content = care_plan_default_content(patient=patient)
    meds = _medications(patient)
    with translation.override(patient.language or "en"):
        if patient.diabetes_type == Patient.DiabetesType.T1:
            content["medications"] = [meds["basal"], meds["bolus"]]
            content["diet"] = {
                "carb_g_per_day": 180,
                "kcal_per_day": None,
                "notes": _("Count carbs."),
            }
        elif patient.diabetes_type == Patient.DiabetesType.T2:
            content["medications"] = [meds["metformin"]]
            content["diet"] = {"carb_g_per_day": 150, "kcal_per_day": 1800, "notes": ""}
        elif patient.diabetes_type == Patient.DiabetesType.GDM:
            content["diet"] = {
                "carb_g_per_day": 175,
                "kcal_per_day": None,
                "notes": _("3 meals, 2-3 snacks"),
            }
            content["monitoring"]["seven_point_before_visits"] = True
        content["patient_instructions"] = (
            _("Wear your sensor every day. Treat a low below %(glucose)s with 15 g of fast sugar.")
            % {"glucose": display.glucose(70, patient.unit)}
            if content["monitoring"]["mode"] == "cgm"
            else _("Check your glucose when you wake up and 1 hour after each meal.")
        )
    return content


def _second_content(patient: Patient, first: dict, author) -> tuple[dict, str]:
    content = {**first, "medications": [dict(m) for m in first["medications"]]}
    with translation.override(getattr(author, "language", "") or "en"):
        for med in content["medications"]:
            if med["kind"] == "insulin_basal":
                med["dose"] = med["dose"] + 2
                return content, _("Fasting glucose above target for two weeks: basal insulin +2 U.")
            sglt2 = _medications(patient)["sglt2"]
            taken = {m["kind"] for m in content["medications"]}
            if med["kind"] == "metformin" and sglt2["kind"] not in taken:
                content["medications"].append(sglt2)
                return content, _("Time in range below 70 %: add an SGLT2 inhibitor.")
        # Weekly reports while glucose settles (or, already weekly, back to fortnightly).
        content["report_cadence_days"] = 7 if first.get("report_cadence_days") != 7 else 14
        return content, _("More frequent reports while glucose settles.")


def _initial_reason(author) -> str:
    with translation.override(getattr(author, "language", "") or "en"):
        return _("Initial plan from the consensus targets.")


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
            reason=_initial_reason(author),
            content=content,
        )
        # Back-date through the queryset: versions refuse save() once written.
        CarePlanVersion.objects.filter(pk=first.pk).update(
            created_at=now - dt.timedelta(days=60 + i % 45)
        )
        created.append(first)
        if i % 3 == 0:
            content, reason = _second_content(patient, content, author)
            try:
                second = care_plan_revise(
                    patient=patient, by=author, reason=reason, content=content
                )
            except NothingChanged:  # a demo patient whose plan has nothing left to change
                continue
            CarePlanVersion.objects.filter(pk=second.pk).update(
                created_at=now - dt.timedelta(days=10 + i % 20)
            )
            created.append(second)
    return created
