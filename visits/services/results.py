"""A completed visit's results as data: each validated with its unit, HbA1c in either unit,
and the history of them for the clinician's workspace.

``results_clean`` takes what a form or the API sent (``hba1c`` + ``hba1c_unit``, or the older
``hba1c_percent``; blood pressure as a pair; weight; eGFR; urine albumin/creatinine as
``urine_acr`` + ``urine_acr_unit`` (mg/mmol or mg/g, kept in mg/g), or the older
``urine_acr_mg_g``; the eye,
retinopathy, foot and foot-risk findings) and returns the ``VisitCompletion`` columns, or
raises ``VisitError`` naming what is wrong — a value outside its plausible range is a typing
error, not a result. ``results_history`` lists a patient's results over time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

from glycemia import hba1c as hba1c_units
from glycemia.hba1c import mmol_mol_from_percent
from patients.models import Patient
from visits.models import (
    DIASTOLIC_RANGE,
    EGFR_RANGE,
    SYSTOLIC_RANGE,
    URINE_ACR_MAX_MG_G,
    WEIGHT_RANGE_KG,
    CheckResult,
    FootRisk,
    RetinopathyGrade,
    VisitCompletion,
)
from visits.services.slots import VisitError

RESULT_COLUMNS = (
    "hba1c_percent",
    "hba1c_mmol_mol",
    "systolic_mm_hg",
    "diastolic_mm_hg",
    "weight_kg",
    "egfr",
    "urine_acr_mg_g",
    "eyes",
    "retinopathy_grade",
    "feet",
    "foot_risk",
)
# What a caller may send (besides the columns above, minus the derived mmol/mol).
RESULT_INPUTS = (*RESULT_COLUMNS, "hba1c", "hba1c_unit", "urine_acr", "urine_acr_unit")

# Urine albumin/creatinine ratio: mg/g (US) or mg/mmol (UK, Europe, China). Creatinine is
# 113.12 g/mol, so 1 mg/mmol = 1000 / 113.12 = 8.84 mg/g (KDIGO 2012: 3 mg/mmol ≈ 30 mg/g).
ACR_MG_G_PER_MG_MMOL = Decimal("8.84")
ACR_UNITS = ("mg/mmol", "mg/g")


def acr_mg_mmol(mg_g: Decimal | None) -> Decimal | None:
    """A ratio stored in mg/g, in mg/mmol (one decimal)."""
    if mg_g is None:
        return None
    return (Decimal(mg_g) / ACR_MG_G_PER_MG_MMOL).quantize(Decimal("0.1"))


def _number(value, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise VisitError(_("%(what)s must be a number.") % {"what": what}) from None
    if not number.is_finite():
        raise VisitError(_("%(what)s must be a number.") % {"what": what})
    return number


def _within(number: Decimal, low, high, what: str, unit: str) -> Decimal:
    if not Decimal(low) <= number <= Decimal(high):
        raise VisitError(
            _("%(what)s must be %(low)s–%(high)s %(unit)s.")
            % {"what": what, "low": low, "high": high, "unit": unit}
        )
    return number


def _whole(number: Decimal, what: str) -> int:
    if number != number.to_integral_value():
        raise VisitError(_("%(what)s must be a whole number.") % {"what": what})
    return int(number)


def _choice(value, choices, what: str) -> str:
    if value not in dict(choices):
        raise VisitError(_("%(what)s: choose one of the listed values.") % {"what": what})
    return value


def _given(data: dict, key: str) -> bool:
    return data.get(key) not in (None, "")


def results_clean(data: dict) -> dict:
    """The ``VisitCompletion`` result columns from ``data`` (only those given).

    >>> results_clean({"hba1c": 53, "hba1c_unit": "mmol/mol"})  # doctest: +SKIP
    {'hba1c_percent': Decimal('7.0'), 'hba1c_mmol_mol': 53}
    """
    out: dict = {}
    if _given(data, "hba1c") and _given(data, "hba1c_percent"):
        raise VisitError(_("Send HbA1c once: hba1c with hba1c_unit, or hba1c_percent."))
    if _given(data, "hba1c") or _given(data, "hba1c_percent"):
        if _given(data, "hba1c"):
            value, unit = data["hba1c"], data.get("hba1c_unit") or ""
            if unit not in hba1c_units.UNITS:
                raise VisitError(_("HbA1c unit must be % or mmol/mol."))
        else:
            value, unit = data["hba1c_percent"], hba1c_units.PERCENT
        number = _number(value, "HbA1c")
        try:
            out["hba1c_percent"], out["hba1c_mmol_mol"] = hba1c_units.normalize(number, unit)
        except ValueError:
            low, high = (
                (hba1c_units.PERCENT_MIN, hba1c_units.PERCENT_MAX)
                if unit == hba1c_units.PERCENT
                else (hba1c_units.MMOL_MOL_MIN, hba1c_units.MMOL_MOL_MAX)
            )
            raise VisitError(
                _("HbA1c must be %(low)s–%(high)s %(unit)s.")
                % {"low": low, "high": high, "unit": unit}
            ) from None
    elif _given(data, "hba1c_unit"):
        raise VisitError(_("hba1c_unit needs hba1c."))
    systolic, diastolic = _given(data, "systolic_mm_hg"), _given(data, "diastolic_mm_hg")
    if systolic != diastolic:
        raise VisitError(_("Blood pressure needs both systolic and diastolic."))
    if systolic:
        sys_ = _whole(_number(data["systolic_mm_hg"], _("Systolic")), _("Systolic"))
        dia = _whole(_number(data["diastolic_mm_hg"], _("Diastolic")), _("Diastolic"))
        _within(Decimal(sys_), *SYSTOLIC_RANGE, _("Systolic"), "mmHg")
        _within(Decimal(dia), *DIASTOLIC_RANGE, _("Diastolic"), "mmHg")
        if sys_ <= dia:
            raise VisitError(_("Systolic pressure must be above diastolic."))
        out["systolic_mm_hg"], out["diastolic_mm_hg"] = sys_, dia
    if _given(data, "weight_kg"):
        weight = _within(
            _number(data["weight_kg"], _("Weight")), *WEIGHT_RANGE_KG, _("Weight"), "kg"
        )
        out["weight_kg"] = weight.quantize(Decimal("0.1"))
    if _given(data, "egfr"):
        egfr = _whole(_number(data["egfr"], "eGFR"), "eGFR")
        _within(Decimal(egfr), *EGFR_RANGE, "eGFR", "mL/min/1.73 m²")
        out["egfr"] = egfr
    what = _("Urine albumin/creatinine")
    if _given(data, "urine_acr") and _given(data, "urine_acr_mg_g"):
        raise VisitError(_("Send the urine albumin/creatinine once: urine_acr with its unit."))
    if _given(data, "urine_acr"):
        unit = data.get("urine_acr_unit") or ""
        if unit not in ACR_UNITS:
            raise VisitError(_("Urine albumin/creatinine unit must be mg/mmol or mg/g."))
        acr = _number(data["urine_acr"], what)
        if unit == "mg/mmol":
            high = (Decimal(URINE_ACR_MAX_MG_G) / ACR_MG_G_PER_MG_MMOL).quantize(Decimal("0.1"))
            acr = _within(acr, 0, high, what, unit) * ACR_MG_G_PER_MG_MMOL
        else:
            _within(acr, 0, URINE_ACR_MAX_MG_G, what, unit)
        out["urine_acr_mg_g"] = acr.quantize(Decimal("0.1"))
    elif _given(data, "urine_acr_unit"):
        raise VisitError(_("urine_acr_unit needs urine_acr."))
    elif _given(data, "urine_acr_mg_g"):
        acr = _number(data["urine_acr_mg_g"], what)
        _within(acr, 0, URINE_ACR_MAX_MG_G, what, "mg/g")
        out["urine_acr_mg_g"] = acr.quantize(Decimal("0.1"))
    for key, choices, what in (
        ("eyes", CheckResult.choices, _("Eye examination")),
        ("feet", CheckResult.choices, _("Foot examination")),
        ("retinopathy_grade", RetinopathyGrade.choices, _("Retinopathy grade")),
        ("foot_risk", FootRisk.choices, _("Foot risk category")),
    ):
        if _given(data, key):
            out[key] = _choice(data[key], choices, what)
    return out


def results_history(patient: Patient) -> list[dict]:
    """Every completed visit's results, oldest first: ``{"date", "visit", **columns}`` with
    the date in the patient's zone (visits without a result are left out)."""
    rows = []
    for completion in (
        VisitCompletion.objects.filter(visit__patient=patient)
        .select_related("visit")
        .order_by("visit__start_at")
    ):
        values = {c: getattr(completion, c) for c in RESULT_COLUMNS}
        if not any(v not in (None, "") for v in values.values()):
            continue
        day: dt.date = timezone.localdate(completion.visit.start_at, patient.tzinfo)
        if values["hba1c_percent"] is not None and values["hba1c_mmol_mol"] is None:
            values["hba1c_mmol_mol"] = mmol_mol_from_percent(values["hba1c_percent"])
        values["urine_acr_mg_mmol"] = acr_mg_mmol(values["urine_acr_mg_g"])
        rows.append(
            {
                "date": day,
                "visit": completion.visit_id,
                **values,
                "retinopathy_label": completion.get_retinopathy_grade_display(),
                "foot_risk_label": completion.get_foot_risk_display(),
            }
        )
    return rows
