"""Care-plan processes: defaults from the consensus, validation, revision, diff, and the
helpers other apps ask (targets for the reports engine, cadences for visits).

Plan content is one dict (stored as JSON on ``CarePlanVersion.content``)::

    {
        "targets": {"preset": "standard", "label": "...", "range_low": 70, "range_high": 180,
                    "goals": [{"key": "in_range_percent", "label": "...",
                               "comparison": ">", "target": 70.0}, ...]},
        "hba1c_goal_percent": 7.0,
        "medications": [{"kind": "insulin_basal", "product": "Insulin glargine", "dose": 18,
                         "dose_unit": "U", "timing": "bedtime", "frequency": "once daily",
                         "carb_ratio_g_per_u": None, "correction_factor_mg_dl_per_u": None,
                         "titration_rule": "+2 U every 3 days while fasting > 130"}],
        "diet": {"carb_g_per_day": 180, "kcal_per_day": 2000, "notes": ""},
        "exercise": {"minutes_per_week": 150, "notes": ""},
        "monitoring": {"mode": "cgm", "cgm_wear_goal_percent": 70,
                       "smbg_readings_per_day": None, "smbg_tags": [],
                       "seven_point_before_visits": False},
        "report_cadence_days": 14, "visit_cadence_days": 90, "review_interval_days": 90,
        "checks": [{"key": "hba1c", "label": "HbA1c", "interval_days": 90}, ...],
        "patient_instructions": "",
    }

Glucose values are mg/dL (DESIGN §3); forms convert mmol/L input before it gets here.
"""

from __future__ import annotations

import copy
import datetime as dt
from numbers import Number
from typing import Any

from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from care_plans.models import (
    DEFAULT_REPORT_CADENCE_DAYS,
    REPORT_CADENCE_DAYS,
    REVIEW_INTERVAL_DAYS,
    VISIT_CADENCE_DAYS,
    CarePlan,
    CarePlanVersion,
)
from glycemia.targets import PRESETS
from patients.models import Patient

# --- Vocabulary ---------------------------------------------------------------------------

MEDICATION_KINDS = {
    "insulin_basal": gettext_lazy("Basal insulin"),
    "insulin_bolus": gettext_lazy("Mealtime (bolus) insulin"),
    "metformin": gettext_lazy("Metformin"),
    "sglt2": gettext_lazy("SGLT2 inhibitor"),
    "glp1_ra": gettext_lazy("GLP-1 receptor agonist"),
    "dpp4": gettext_lazy("DPP-4 inhibitor"),
    "sulfonylurea": gettext_lazy("Sulfonylurea"),
    "other": gettext_lazy("Other"),
}
DOSE_UNITS = ("U", "mg", "µg", "g", "mL", "tablet")
_UNIT_ALIASES = {"u": "U", "iu": "U", "units": "U", "ug": "µg", "mcg": "µg", "μg": "µg"}
_TO_MG = {"mg": 1.0, "µg": 0.001, "g": 1000.0}

# Largest plausible single prescribed dose per kind, to catch typing slips (18 -> 180 U),
# not to prescribe. Sources: product labels' maximum daily doses — metformin 3000 mg (IR),
# canagliflozin 300 mg (highest SGLT2i), sitagliptin 100 mg (highest DPP-4i), tolbutamide
# 3000 mg (highest sulfonylurea), GLP-1 RA up to 50 mg (oral semaglutide; injectables are
# µg to a few mg). Insulin: 200 U basal (U-500 users aside), 100 U per bolus.
MAX_DOSE: dict[str, tuple[float, str]] = {
    "insulin_basal": (200, "U"),
    "insulin_bolus": (100, "U"),
    "metformin": (3000, "mg"),
    "sglt2": (300, "mg"),
    "glp1_ra": (50, "mg"),
    "dpp4": (100, "mg"),
    "sulfonylurea": (3000, "mg"),
    "other": (10000, ""),
}

GOAL_LABELS = {
    "in_range_percent": gettext_lazy("Time in range (TIR)"),
    "in_target_percent": gettext_lazy("Time in target range (TIR)"),
    "below_70_percent": gettext_lazy("Time below range (TBR), below 70 mg/dL"),
    "below_target_percent": gettext_lazy("Time below range (TBR)"),
    "very_low_percent": gettext_lazy("Time below 54 mg/dL (level 2 hypoglycemia)"),
    "low_percent": gettext_lazy("Time 54–69 mg/dL (level 1 hypoglycemia)"),
    "above_180_percent": gettext_lazy("Time above range (TAR), above 180 mg/dL"),
    "above_target_percent": gettext_lazy("Time above range (TAR)"),
    "high_percent": gettext_lazy("Time 181–250 mg/dL"),
    "very_high_percent": gettext_lazy("Time above 250 mg/dL"),
    "tight_range_percent": gettext_lazy("Time in tight range 70–140 mg/dL"),
    "cv_percent": gettext_lazy("Glucose variability (CV)"),
}
GOAL_COMPARISONS = (">", ">=", "<", "<=")

CHECKS = {
    "hba1c": gettext_lazy("HbA1c"),
    "eyes": gettext_lazy("Eye examination (retinopathy)"),
    "kidneys": gettext_lazy("Kidney function (eGFR and urine albumin)"),
    "feet": gettext_lazy("Foot examination"),
    "lipids": gettext_lazy("Lipids"),
    "blood_pressure": gettext_lazy("Blood pressure"),
}
# ADA Standards of Care: HbA1c every 3 months when not at goal; eyes, kidneys, feet yearly.
DEFAULT_CHECKS = (("hba1c", 90), ("eyes", 365), ("kidneys", 365), ("feet", 365))

SMBG_TAGS = {
    "fasting": gettext_lazy("fasting"),
    "pre_meal": gettext_lazy("before meals"),
    "post_meal": gettext_lazy("after meals"),
    "bedtime": gettext_lazy("bedtime"),
    "night": gettext_lazy("night"),
}
MONITORING_MODES = {"cgm": gettext_lazy("CGM"), "smbg": gettext_lazy("Finger-stick (SMBG)")}

# Plausible bounds of a target range (mg/dL): below 50 is never a target, above 250 is
# "very high" by definition (DESIGN §5).
RANGE_MIN_MG_DL = 50
RANGE_MAX_MG_DL = 250
HBA1C_GOAL_MIN, HBA1C_GOAL_MAX = 5.0, 10.0  # % — ADA individualised goals lie 6.0–8.5
OLDER_ADULT_AGE = 65  # Battelino 2019 "older / high-risk" preset applies above this age
# HbA1c goal (< %) that goes with each preset: ADA Standards of Care (6.x) < 7 % for most
# adults, < 8 % for older adults with complex health / high hypoglycaemia risk (13.x, the
# consensus "older / high-risk" group), < 6 % in pregnancy when achievable without lows (15.x).
PRESET_HBA1C_GOALS = {"standard": 7.0, "older_high_risk": 8.0, "pregnancy_t1": 6.0}
# Time-below goals are upper limits: "at least 4 % below 70" is never a goal.
BELOW_GOAL_KEYS = frozenset(
    {"below_70_percent", "below_target_percent", "very_low_percent", "low_percent"}
)


# --- Defaults -----------------------------------------------------------------------------


def _age(birth_date: dt.date, on: dt.date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def preset_for(patient: Patient, *, on: dt.date | None = None) -> str:
    """The consensus preset a new plan starts from.

    GDM -> ``pregnancy_t1``: the consensus (Battelino 2019) publishes CGM targets only for
    pregnancy with type 1 diabetes; for GDM and type 2 in pregnancy it says data are limited,
    and clinics use the same 63-140 mg/dL range, so we do too. Older than 65 ->
    ``older_high_risk``. Otherwise (T1, T2, other) -> ``standard``.
    """
    on = on or timezone.localdate()
    if patient.diabetes_type == Patient.DiabetesType.GDM:
        return "pregnancy_t1"
    if _age(patient.birth_date, on) > OLDER_ADULT_AGE:
        return "older_high_risk"
    return "standard"


def _goal_numbers(targets: dict) -> list[tuple]:
    return [
        (g.get("key"), g.get("comparison"), _number(g.get("target")))
        for g in targets.get("goals") or []
    ]


def _same_targets(a: dict, b: dict) -> bool:
    """Same range and goals (key, comparison, target), whatever the preset and labels."""
    return (
        _number(a.get("range_low")) == _number(b.get("range_low"))
        and _number(a.get("range_high")) == _number(b.get("range_high"))
        and _goal_numbers(a) == _goal_numbers(b)
    )


def targets_settle_preset(targets: dict, base: dict | None) -> dict:
    """``targets`` with the preset (and label) its numbers deserve.

    ``targets["preset"]`` is the one chosen ("start from"). It stays if the range and goals
    are exactly that preset's; else, if they are exactly those of ``base`` (the targets the
    editor started from), nothing really changed and ``base``'s preset and label stay (a
    pregnancy plan saved unchanged stays pregnancy, so its finger-stick targets do too);
    else the numbers are the clinician's own: "custom".
    """
    chosen = targets.get("preset")
    base = base or {}
    if chosen in PRESETS and _same_targets(targets, PRESETS[chosen]):
        preset = chosen
        label = base.get("label") if base.get("preset") == chosen else PRESETS[chosen]["label"]
    elif base and _same_targets(targets, base):
        preset, label = base.get("preset") or "custom", base.get("label", "")
    else:
        preset, label = "custom", ""
    return {**targets, "preset": preset, "label": label}


def targets_from_preset(preset: str) -> dict:
    source = PRESETS[preset]
    return {
        "preset": preset,
        "label": source["label"],
        "range_low": source["range_low"],
        "range_high": source["range_high"],
        "goals": copy.deepcopy(source["goals"]),
    }


def _meter_only(patient: Patient) -> bool:
    """Finger-stick readings and no CGM reading on record (a patient with no data yet gets the
    CGM plan: the consensus default)."""
    if patient.pk is None:
        return False
    readings = apps.get_model("readings", "Reading").objects.filter(patient=patient)
    return readings.filter(kind="smbg").exists() and not readings.filter(kind="cgm").exists()


def care_plan_default_content(*, patient: Patient) -> dict:
    """A first plan for ``patient`` from the consensus preset for their diabetes type and age.

    >>> care_plan_default_content(patient=gdm_patient)["targets"]["range_high"]
    140
    """
    preset = preset_for(patient)
    pregnancy = preset == "pregnancy_t1"
    if not pregnancy and _meter_only(patient):
        # A patient who tests with a meter and wears no sensor: a finger-stick schedule (ADA
        # 7.x: fasting and before meals when on insulin or adjusting therapy), no wear goal.
        monitoring = {
            "mode": "smbg",
            "cgm_wear_goal_percent": None,
            "smbg_readings_per_day": 2,
            "smbg_tags": ["fasting", "pre_meal"],
            "seven_point_before_visits": False,
        }
    elif pregnancy:
        # GDM: finger-sticks fasting and after each meal (ADA 15.x), close follow-up.
        monitoring = {
            "mode": "smbg",
            "cgm_wear_goal_percent": None,
            "smbg_readings_per_day": 4,
            "smbg_tags": ["fasting", "post_meal"],
            "seven_point_before_visits": False,
        }
    else:
        monitoring = {
            "mode": "cgm",
            "cgm_wear_goal_percent": 70,  # consensus: ≥ 70 % of the period for valid metrics
            "smbg_readings_per_day": None,
            "smbg_tags": [],
            "seven_point_before_visits": False,
        }
    hba1c = PRESET_HBA1C_GOALS[preset]
    return {
        "targets": targets_from_preset(preset),
        "hba1c_goal_percent": hba1c,
        "medications": [],
        "diet": {"carb_g_per_day": None, "kcal_per_day": None, "notes": ""},
        "exercise": {"minutes_per_week": 150, "notes": ""},  # ADA: ≥ 150 min/week
        "monitoring": monitoring,
        "report_cadence_days": 7 if pregnancy else DEFAULT_REPORT_CADENCE_DAYS,
        "visit_cadence_days": 14 if pregnancy else 90,
        "review_interval_days": 28 if pregnancy else 90,
        "checks": [
            {"key": key, "label": str(CHECKS[key]), "interval_days": days}
            for key, days in DEFAULT_CHECKS
        ],
        "patient_instructions": "",
    }


# --- Validation ---------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A real number (not bool) or a numeric string, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Number):
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            return float(value.strip().replace(",", "."))
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int_or_float(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class NothingChanged(ValidationError):
    """A new version identical to the current one: refused (there is nothing to sign)."""


class _Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def _clean_targets(raw: Any, errors: _Errors) -> dict:
    if not isinstance(raw, dict) or not raw:
        errors.add("targets", _("Targets are required."))
        return {}
    preset = raw.get("preset") or "custom"
    if preset != "custom" and preset not in PRESETS:
        errors.add(
            "targets.preset",
            _("Unknown preset %(preset)s; choose one of %(choices)s.")
            % {"preset": preset, "choices": ", ".join([*PRESETS, "custom"])},
        )
    label = _text(raw.get("label")) or (PRESETS[preset]["label"] if preset in PRESETS else "")
    low, high = _number(raw.get("range_low")), _number(raw.get("range_high"))
    for field, value in (("range_low", low), ("range_high", high)):
        if value is None:
            errors.add(f"targets.{field}", _("Enter the target range limit in mg/dL."))
        elif not RANGE_MIN_MG_DL <= value <= RANGE_MAX_MG_DL:
            errors.add(
                f"targets.{field}",
                _("A target range limit must be between %(min)s and %(max)s mg/dL.")
                % {"min": RANGE_MIN_MG_DL, "max": RANGE_MAX_MG_DL},
            )
    if low is not None and high is not None and low >= high:
        errors.add("targets.range_high", _("The upper limit must be above the lower limit."))
    goals = []
    raw_goals = raw.get("goals", [])
    if not isinstance(raw_goals, list):
        errors.add("targets.goals", _("Goals must be a list."))
        raw_goals = []
    seen = set()
    for i, goal in enumerate(raw_goals):
        path = f"targets.goals.{i}"
        goal = goal if isinstance(goal, dict) else {}
        key, comparison = goal.get("key"), goal.get("comparison")
        target = _number(goal.get("target"))
        if key not in GOAL_LABELS:
            errors.add(f"{path}.key", _("Unknown goal %(key)s.") % {"key": key})
        elif key in seen:
            errors.add(f"{path}.key", _("Goal %(key)s appears twice.") % {"key": key})
        seen.add(key)
        if comparison not in GOAL_COMPARISONS:
            errors.add(f"{path}.comparison", _("Comparison must be one of > >= < <=."))
        elif key in BELOW_GOAL_KEYS and comparison != "<":
            errors.add(
                f"{path}.comparison", _("A time-below-range goal is always “less than” (<).")
            )
        if target is None:
            errors.add(f"{path}.target", _("Enter the goal as a percentage."))
        elif not 0 <= target <= 100:
            errors.add(f"{path}.target", _("A goal is a percentage between 0 and 100."))
        goals.append(
            {
                "key": key,
                "label": _text(goal.get("label")) or str(GOAL_LABELS.get(key, key)),
                "comparison": comparison,
                "target": target,
            }
        )
    return {
        "preset": preset,
        "label": label,
        "range_low": None if low is None else _int_or_float(low),
        "range_high": None if high is None else _int_or_float(high),
        "goals": goals,
    }


def _clean_medication(raw: Any, path: str, errors: _Errors) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    kind = raw.get("kind")
    if kind not in MEDICATION_KINDS:
        errors.add(
            f"{path}.kind",
            _("Medication kind must be one of %(choices)s.")
            % {"choices": ", ".join(MEDICATION_KINDS)},
        )
    product = _text(raw.get("product"))
    if not product:
        errors.add(f"{path}.product", _("Name the product (e.g. insulin glargine)."))
    unit = _text(raw.get("dose_unit"))
    unit = _UNIT_ALIASES.get(unit.lower(), unit)
    if not unit:
        errors.add(f"{path}.dose_unit", _("Give the dose unit (U, mg, µg…)."))
    elif unit not in DOSE_UNITS:
        errors.add(
            f"{path}.dose_unit",
            _("Dose unit must be one of %(units)s.") % {"units": ", ".join(DOSE_UNITS)},
        )
    elif kind in ("insulin_basal", "insulin_bolus") and unit != "U":
        errors.add(f"{path}.dose_unit", _("Insulin is dosed in units (U)."))
    elif kind in MAX_DOSE and kind not in ("insulin_basal", "insulin_bolus", "other"):
        if unit not in _TO_MG:
            errors.add(f"{path}.dose_unit", _("This medication is dosed in mg, µg or g."))
    dose = _number(raw.get("dose"))
    if dose is None:
        errors.add(f"{path}.dose", _("Enter the dose as a number."))
    elif dose <= 0:
        errors.add(f"{path}.dose", _("The dose must be more than zero."))
    elif kind in MAX_DOSE and unit in DOSE_UNITS:
        limit, limit_unit = MAX_DOSE[kind]
        amount = dose
        if limit_unit == "mg" and unit in _TO_MG:
            amount = dose * _TO_MG[unit]
        if amount > limit:
            errors.add(
                f"{path}.dose",
                _("%(dose)s %(unit)s is above the plausible maximum of %(limit)s %(limit_unit)s.")
                % {
                    "dose": _int_or_float(dose),
                    "unit": unit,
                    "limit": limit,
                    "limit_unit": limit_unit or unit,
                },
            )
    carb_ratio = _number(raw.get("carb_ratio_g_per_u"))
    if raw.get("carb_ratio_g_per_u") not in (None, "") and not (
        carb_ratio is not None and 1 <= carb_ratio <= 100
    ):
        errors.add(f"{path}.carb_ratio_g_per_u", _("Carb ratio must be 1–100 g per unit."))
    correction = _number(raw.get("correction_factor_mg_dl_per_u"))
    if raw.get("correction_factor_mg_dl_per_u") not in (None, "") and not (
        correction is not None and 5 <= correction <= 400
    ):
        errors.add(
            f"{path}.correction_factor_mg_dl_per_u",
            _("Correction factor must be 5–400 mg/dL per unit."),
        )
    bolus_only = carb_ratio is not None or correction is not None
    if bolus_only and kind in MEDICATION_KINDS and kind != "insulin_bolus":
        errors.add(
            f"{path}.carb_ratio_g_per_u",
            _("Carb ratio and correction factor apply to mealtime insulin only."),
        )
    return {
        "kind": kind,
        "product": product,
        "dose": None if dose is None else _int_or_float(dose),
        "dose_unit": unit,
        "timing": _text(raw.get("timing")),
        "frequency": _text(raw.get("frequency")),
        "carb_ratio_g_per_u": None if carb_ratio is None else _int_or_float(carb_ratio),
        "correction_factor_mg_dl_per_u": None if correction is None else _int_or_float(correction),
        "titration_rule": _text(raw.get("titration_rule")),
    }


def _optional_between(
    raw: dict, key: str, path: str, low: float, high: float, message: str, errors: _Errors
) -> int | float | None:
    value = raw.get(key)
    if value in (None, ""):
        return None
    number = _number(value)
    if number is None or not low <= number <= high:
        errors.add(path, message)
        return None
    return _int_or_float(number)


def _choice(value: Any, allowed: tuple, path: str, what: str, errors: _Errors) -> int | None:
    number = _number(value)
    if number is None or number not in allowed:
        errors.add(
            path,
            _("%(what)s must be one of %(choices)s days.")
            % {"what": what, "choices": ", ".join(str(a) for a in allowed)},
        )
        return None
    return int(number)


def care_plan_clean(content: Any) -> tuple[dict, dict[str, list[str]]]:
    """(normalized content, errors by dotted field path)."""
    errors = _Errors()
    content = content if isinstance(content, dict) else {}
    clean: dict[str, Any] = {"targets": _clean_targets(content.get("targets"), errors)}
    clean["hba1c_goal_percent"] = _optional_between(
        content,
        "hba1c_goal_percent",
        "hba1c_goal_percent",
        HBA1C_GOAL_MIN,
        HBA1C_GOAL_MAX,
        _("The HbA1c goal must be between %(min)s and %(max)s %%.")
        % {"min": HBA1C_GOAL_MIN, "max": HBA1C_GOAL_MAX},
        errors,
    )
    meds = content.get("medications", [])
    if not isinstance(meds, list):
        errors.add("medications", _("Medications must be a list."))
        meds = []
    clean["medications"] = [
        _clean_medication(m, f"medications.{i}", errors) for i, m in enumerate(meds)
    ]
    keys = [(m["kind"], m["product"].lower()) for m in clean["medications"]]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            errors.add(f"medications.{i}.product", _("This medication is listed twice."))

    diet = content.get("diet") if isinstance(content.get("diet"), dict) else {}
    clean["diet"] = {
        "carb_g_per_day": _optional_between(
            diet,
            "carb_g_per_day",
            "diet.carb_g_per_day",
            50,
            500,
            _("Carbohydrate target must be 50–500 g per day."),
            errors,
        ),
        "kcal_per_day": _optional_between(
            diet,
            "kcal_per_day",
            "diet.kcal_per_day",
            800,
            5000,
            _("Energy target must be 800–5000 kcal per day."),
            errors,
        ),
        "notes": _text(diet.get("notes")),
    }
    exercise = content.get("exercise") if isinstance(content.get("exercise"), dict) else {}
    clean["exercise"] = {
        "minutes_per_week": _optional_between(
            exercise,
            "minutes_per_week",
            "exercise.minutes_per_week",
            0,
            2000,
            _("Exercise goal must be 0–2000 minutes per week."),
            errors,
        ),
        "notes": _text(exercise.get("notes")),
    }

    monitoring = content.get("monitoring") if isinstance(content.get("monitoring"), dict) else {}
    mode = monitoring.get("mode")
    if mode not in MONITORING_MODES:
        errors.add("monitoring.mode", _("Monitoring must be CGM or SMBG."))
    wear = _optional_between(
        monitoring,
        "cgm_wear_goal_percent",
        "monitoring.cgm_wear_goal_percent",
        0,
        100,
        _("CGM wear goal is a percentage between 0 and 100."),
        errors,
    )
    if mode == "cgm" and wear is None and "monitoring.cgm_wear_goal_percent" not in errors:
        errors.add("monitoring.cgm_wear_goal_percent", _("Set a CGM wear goal (e.g. 70 %)."))
    per_day = _optional_between(
        monitoring,
        "smbg_readings_per_day",
        "monitoring.smbg_readings_per_day",
        1,
        10,
        _("Finger-sticks per day must be 1–10."),
        errors,
    )
    if mode == "smbg" and per_day is None and "monitoring.smbg_readings_per_day" not in errors:
        errors.add(
            "monitoring.smbg_readings_per_day", _("Set how many finger-sticks a day to take.")
        )
    tags = monitoring.get("smbg_tags") or []
    if not isinstance(tags, list) or any(t not in SMBG_TAGS for t in tags):
        errors.add(
            "monitoring.smbg_tags",
            _("Finger-stick times must be among %(tags)s.") % {"tags": ", ".join(SMBG_TAGS)},
        )
        tags = []
    clean["monitoring"] = {
        "mode": mode,
        "cgm_wear_goal_percent": wear,
        "smbg_readings_per_day": per_day,
        "smbg_tags": [t for t in SMBG_TAGS if t in tags],
        "seven_point_before_visits": bool(monitoring.get("seven_point_before_visits")),
    }

    clean["report_cadence_days"] = _choice(
        content.get("report_cadence_days", DEFAULT_REPORT_CADENCE_DAYS),
        REPORT_CADENCE_DAYS,
        "report_cadence_days",
        _("Report cadence"),
        errors,
    )
    clean["visit_cadence_days"] = _choice(
        content.get("visit_cadence_days"),
        VISIT_CADENCE_DAYS,
        "visit_cadence_days",
        _("Visit cadence"),
        errors,
    )
    clean["review_interval_days"] = _choice(
        content.get("review_interval_days"),
        REVIEW_INTERVAL_DAYS,
        "review_interval_days",
        _("Review interval"),
        errors,
    )

    checks = content.get("checks", [])
    if not isinstance(checks, list):
        errors.add("checks", _("Checks must be a list."))
        checks = []
    clean["checks"] = []
    for i, check in enumerate(checks):
        check = check if isinstance(check, dict) else {}
        key = check.get("key")
        if key not in CHECKS:
            errors.add(
                f"checks.{i}.key",
                _("Check must be one of %(keys)s.") % {"keys": ", ".join(CHECKS)},
            )
        days = _number(check.get("interval_days"))
        if days is None or not 7 <= days <= 730:
            errors.add(f"checks.{i}.interval_days", _("A check interval must be 7–730 days."))
        clean["checks"].append(
            {
                "key": key,
                "label": _text(check.get("label")) or str(CHECKS.get(key, key)),
                "interval_days": None if days is None else int(days),
            }
        )
    clean["patient_instructions"] = _text(content.get("patient_instructions"))
    return clean, dict(errors)


def care_plan_validate(content: dict) -> dict[str, list[str]]:
    """Errors of a plan's content by dotted field path (``{}`` when valid).

    >>> care_plan_validate({**content, "report_cadence_days": 10})
    {'report_cadence_days': ['Report cadence must be one of 7, 14, 28 days.']}
    """
    return care_plan_clean(content)[1]


# --- Reading and revising -----------------------------------------------------------------


def care_plan_current(*, patient: Patient) -> CarePlanVersion | None:
    return (
        CarePlanVersion.objects.filter(plan__patient=patient)
        .select_related("created_by", "plan")
        .order_by("-number")
        .first()
    )


def report_link_error(patient: Patient, report_id: Any) -> str | None:
    """Why ``report_id`` cannot be linked, or None. Only this patient's reports may be cited;
    until the reports app defines ``Report`` any integer id is kept (see the model)."""
    if report_id is None:
        return None
    if isinstance(report_id, bool) or not isinstance(report_id, int):
        return _("A report is given by its id.")
    try:
        report_model = apps.get_model("reports", "Report")
    except LookupError:
        return None
    if not report_model.objects.filter(pk=report_id, patient=patient).exists():
        return _("Report %(id)s is not one of this patient's reports.") % {"id": report_id}
    return None


def nothing_changed_message(number: int) -> str:
    return _(
        "Nothing changed: this is the same as version %(n)s. Change the plan, or leave it as it is."
    ) % {"n": number}


def care_plan_revise(
    *,
    patient: Patient,
    by,
    reason: str,
    content: dict,
    responds_to_report_id: int | None = None,
) -> CarePlanVersion:
    """Validate ``content`` and save it as the patient's next version.

    Raises ``ValidationError`` (a dict of field path -> messages) when invalid, and its
    subclass ``NothingChanged`` when the content is the current version's (``care_plan_diff``
    finds no change): a version is a signed change, never a copy. The plan row
    is locked (``select_for_update``) while the next number is chosen, so two clinicians
    saving at once get consecutive numbers; the unique (plan, number) constraint is the
    backstop where the database cannot lock rows (SQLite serializes writers instead).
    """
    clean, errors = care_plan_clean(content)
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Say why the plan changes.")]
    report_error = report_link_error(patient, responds_to_report_id)
    if report_error:
        errors["responds_to_report"] = [report_error]
    if errors:
        raise ValidationError(errors)
    plan, _created = CarePlan.objects.get_or_create(patient=patient)
    with transaction.atomic():
        plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
        last = plan.versions.order_by("-number").first()
        if last is not None and not care_plan_diff(old=last, new=clean):
            raise NothingChanged({NON_FIELD_ERRORS: [nothing_changed_message(last.number)]})
        return CarePlanVersion.objects.create(
            plan=plan,
            number=(last.number if last else 0) + 1,
            created_by=by,
            reason=reason,
            content=clean,
            responds_to_report_id=responds_to_report_id,
        )


# --- Diff ---------------------------------------------------------------------------------

_SCALAR_FIELDS = (
    ("targets.preset", gettext_lazy("Target preset")),
    ("targets.range_low", gettext_lazy("Target range, lower limit")),
    ("targets.range_high", gettext_lazy("Target range, upper limit")),
    ("hba1c_goal_percent", gettext_lazy("HbA1c goal (%)")),
    ("diet.carb_g_per_day", gettext_lazy("Carbohydrate (g/day)")),
    ("diet.kcal_per_day", gettext_lazy("Energy (kcal/day)")),
    ("diet.notes", gettext_lazy("Diet notes")),
    ("exercise.minutes_per_week", gettext_lazy("Exercise (minutes/week)")),
    ("exercise.notes", gettext_lazy("Exercise notes")),
    ("monitoring.mode", gettext_lazy("Monitoring")),
    ("monitoring.cgm_wear_goal_percent", gettext_lazy("CGM wear goal (%)")),
    ("monitoring.smbg_readings_per_day", gettext_lazy("Finger-sticks per day")),
    ("monitoring.smbg_tags", gettext_lazy("Finger-stick times")),
    ("monitoring.seven_point_before_visits", gettext_lazy("7-point profile before visits")),
    ("report_cadence_days", gettext_lazy("Report every (days)")),
    ("visit_cadence_days", gettext_lazy("Visit every (days)")),
    ("review_interval_days", gettext_lazy("Review every (days)")),
    ("patient_instructions", gettext_lazy("Instructions for the patient")),
)
_MED_FIELDS = (
    "dose",
    "dose_unit",
    "timing",
    "frequency",
    "carb_ratio_g_per_u",
    "correction_factor_mg_dl_per_u",
    "titration_rule",
)


def _get(content: dict, path: str) -> Any:
    value: Any = content
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _content_of(version: CarePlanVersion | dict | None) -> dict:
    if version is None:
        return {}
    return version.content if isinstance(version, CarePlanVersion) else version


def _keyed_diff(old: list, new: list, key, field: str, label, compare: tuple) -> list[dict]:
    changes = []
    old_by = {key(item): item for item in old}
    new_by = {key(item): item for item in new}
    for k, item in new_by.items():
        if k not in old_by:
            changes.append(
                {
                    "field": field,
                    "key": k,
                    "label": label(item),
                    "change": "added",
                    "old": None,
                    "new": item,
                }
            )
            continue
        before = old_by[k]
        extra = sorted((set(before) | set(item)) - set(compare))  # fields added later too
        fields = [f for f in (*compare, *extra) if before.get(f) != item.get(f)]
        if fields:
            changes.append(
                {
                    "field": field,
                    "key": k,
                    "label": label(item),
                    "change": "changed",
                    "old": before,
                    "new": item,
                    "fields": fields,
                }
            )
    for k, item in old_by.items():
        if k not in new_by:
            change = "stopped" if field == "medications" else "removed"
            changes.append(
                {
                    "field": field,
                    "key": k,
                    "label": label(item),
                    "change": change,
                    "old": item,
                    "new": None,
                }
            )
    return changes


def care_plan_diff(
    *, old: CarePlanVersion | dict | None, new: CarePlanVersion | dict
) -> list[dict]:
    """What changed between two versions (or contents), field by field.

    Each change is ``{"field", "label", "change", "old", "new"}`` with ``change`` one of
    ``changed``, ``added``, ``removed`` and, for medications, ``stopped``; medications are
    matched by kind + product (case-insensitive), so a new dose of the same insulin is a
    change and a switch of product is a stop plus an addition. Changed list items carry
    ``fields`` (which of their fields differ).

    >>> care_plan_diff(old=v1, new=v2)
    [{'field': 'medications', 'label': 'Insulin glargine', 'change': 'changed',
      'old': {... 'dose': 18 ...}, 'new': {... 'dose': 20 ...}, 'fields': ['dose']}]
    """
    a, b = _content_of(old), _content_of(new)
    changes = []
    for path, label in _SCALAR_FIELDS:
        before, after = _get(a, path), _get(b, path)
        if before != after:
            kind = "added" if before in (None, "", []) else "changed"
            if after in (None, "", []):
                kind = "removed"
            changes.append(
                {"field": path, "label": str(label), "change": kind, "old": before, "new": after}
            )
    changes += _keyed_diff(
        _get(a, "targets.goals") or [],
        _get(b, "targets.goals") or [],
        key=lambda g: g.get("key"),
        field="targets.goals",
        label=lambda g: str(GOAL_LABELS.get(g.get("key"), g.get("label") or g.get("key"))),
        compare=("comparison", "target", "label"),
    )
    changes += _keyed_diff(
        a.get("medications") or [],
        b.get("medications") or [],
        key=lambda m: (m.get("kind"), (m.get("product") or "").lower()),
        field="medications",
        label=lambda m: m.get("product") or str(MEDICATION_KINDS.get(m.get("kind"), "")),
        compare=_MED_FIELDS,
    )
    changes += _keyed_diff(
        a.get("checks") or [],
        b.get("checks") or [],
        key=lambda c: c.get("key"),
        field="checks",
        label=lambda c: str(CHECKS.get(c.get("key"), c.get("label") or c.get("key"))),
        compare=("interval_days", "label"),
    )
    return changes + _other_changes(a, b)


MED_FIELD_LABELS = {
    "kind": gettext_lazy("Kind"),
    "product": gettext_lazy("Product"),
    "dose": gettext_lazy("Dose"),
    "dose_unit": gettext_lazy("Unit"),
    "timing": gettext_lazy("When"),
    "frequency": gettext_lazy("How often"),
    "carb_ratio_g_per_u": gettext_lazy("Carb ratio (g per U)"),
    "correction_factor_mg_dl_per_u": gettext_lazy("Correction factor"),
    "titration_rule": gettext_lazy("Titration rule"),
}


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a plan's content by dotted path (list items by index)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        out = {}
        for i, item in enumerate(value):
            out.update(_leaves(item, f"{path}.{i}"))
        return out
    return {path: value}


def _other_changes(a: dict, b: dict) -> list[dict]:
    """Any other field that differs (the plan's label, a field added to the content later):
    nothing a clinician changed may be missing from the review step or the compare page."""
    keyed = ("targets.goals", "medications", "checks")
    scalar = {path for path, _label in _SCALAR_FIELDS}
    old, new = _leaves(a), _leaves(b)
    return [
        {
            "field": path,
            "label": path,
            "change": "changed",
            "old": old.get(path),
            "new": new.get(path),
        }
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
        and path not in scalar
        and not any(path == k or path.startswith(f"{k}.") for k in keyed)
    ]


# --- Helpers for other apps ---------------------------------------------------------------


def effective_targets(patient: Patient) -> dict:
    """THE patient's targets in force — range and goals — for every page that judges their
    glucose (reports, plan, home, triage, workspace): the current care plan's, else the
    consensus preset for their diabetes type and age (``preset_for``).

    ``{"preset", "label", "range_low", "range_high", "goals": [{"key", "label",
    "comparison", "target"}]}`` in mg/dL and %. Pass it straight to
    ``glycemia.targets.evaluate_metrics`` (goals met / not met, decided on the shown value)
    or ``glycemia.targets.band_rows`` (the five bands in the plan's own range). One query.

    >>> targets = effective_targets(pregnant_patient)
    >>> targets["range_low"], targets["range_high"]
    (63, 140)
    """
    return targets_of_version(care_plan_current(patient=patient), patient=patient)


targets_for = effective_targets  # the older name, kept for callers


# An up-titration rule raises a dose ("+2 U every 3 days while fasting > 130", "increase by
# 10 %", "加 2 U"). Free text: these words and a leading "+" mark one; a rule that only lowers
# ("-2 U if below 70") does not.
_UP_WORDS = (
    "+",
    "increase",
    "raise",
    "up-titrat",
    "titrate up",
    "uptitrat",
    "增加",
    "加量",
    "上调",
)


def is_up_titration(rule: str) -> bool:
    """Whether a titration rule can raise a dose.

    >>> is_up_titration("+2 U every 3 days while fasting > 130"), is_up_titration("-2 U if < 70")
    (True, False)
    """
    text = (rule or "").lower()
    return any(word in text for word in _UP_WORDS)


def titration_warnings(content: dict, metrics: dict) -> list[str]:
    """A warning per medication with an up-titration rule while time below range is above the
    plan's goal (the report or the plan page shows it): raising a dose then adds lows.

    `metrics` are a period's (report metrics plus goal values, or the plan page's window).
    """
    from glycemia import display
    from glycemia.compare import below_range_goal, below_range_percent

    below = below_range_percent(metrics)
    goal = below_range_goal(content.get("targets"))
    if below is None or display.percent_value(below) < goal:
        return []
    return [
        _(
            "%(product)s has an up-titration rule (“%(rule)s”) but time below range is "
            "%(below)s (goal < %(goal)s %%): do not raise the dose before the lows are addressed."
        )
        % {
            "product": med.get("product") or "",
            "rule": med.get("titration_rule"),
            "below": display.percent(below),
            "goal": f"{goal:g}",
        }
        for med in content.get("medications", [])
        if is_up_titration(med.get("titration_rule") or "")
    ]


def targets_of_version(version: CarePlanVersion | None, *, patient: Patient) -> dict:
    """``targets_for(patient)`` from a version already fetched with ``care_plan_current``, so
    a caller that needs both the version and its targets makes one query, not two (and the
    targets it stores are those of the version it names).

    >>> targets_of_version(None, patient=patient)["preset"]  # doctest: +SKIP
    'standard'
    """
    if version is None:
        return targets_from_preset(preset_for(patient))
    return copy.deepcopy(version.content["targets"])


def plan_goal_status(
    *, patient: Patient, targets: dict, metrics: dict, start: dt.date, end: dt.date
) -> list[dict]:
    """The plan's goals against the patient's current window (``evaluate_metrics`` rows).

    The daily rollups count the consensus bands (70-180); a plan with its own range
    (pregnancy 63-140) is judged on the window's CGM readings, so its goals show current
    values too.
    """
    from glycemia.targets import evaluate_metrics

    if (targets.get("range_low"), targets.get("range_high")) == (70, 180):
        return evaluate_metrics(metrics, targets)
    from readings.models import Reading
    from readings.windows import readings_arrays

    _times, values = readings_arrays(patient, Reading.Kind.CGM, start, end)
    return evaluate_metrics(metrics, targets, values=values if values.size else None)


def report_cadence_days(patient: Patient) -> int:
    """Days between periodic reports: the plan's cadence, 14 when there is no plan."""
    current = care_plan_current(patient=patient)
    return current.report_cadence_days if current else DEFAULT_REPORT_CADENCE_DAYS


def review_due(patient: Patient) -> tuple[dt.date | None, bool]:
    """(date the current version is due for review, whether that date has passed).

    ``(None, False)`` without a plan. The date is in the patient's local calendar.
    """
    current = care_plan_current(patient=patient)
    if current is None:
        return None, False
    written = timezone.localdate(current.created_at, patient.tzinfo)
    due = written + dt.timedelta(days=current.review_interval_days)
    return due, due < timezone.localdate(timezone.now(), patient.tzinfo)


def reviews_overdue(patients) -> set[int]:
    """Ids of the patients whose current plan is past its review date: one query for all.

    Same rule as ``review_due``, for lists such as the triage queue.
    """
    by_id = {patient.pk: patient for patient in patients}
    latest: dict[int, tuple] = {}
    rows = (
        CarePlanVersion.objects.filter(plan__patient_id__in=list(by_id))
        .order_by("plan__patient_id", "-number")
        .values_list("plan__patient_id", "created_at", "review_interval_days")
    )
    for patient_id, created_at, interval in rows:
        latest.setdefault(patient_id, (created_at, interval))
    now = timezone.now()
    overdue = set()
    for patient_id, (created_at, interval) in latest.items():
        zone = by_id[patient_id].tzinfo
        due = timezone.localdate(created_at, zone) + dt.timedelta(days=interval)
        if due < timezone.localdate(now, zone):
            overdue.add(patient_id)
    return overdue


def checks_due(patient: Patient, last_done: dict[str, dt.date] | None = None) -> list[dict]:
    """The plan's periodic checks with their next due date (for the visits worklist).

    ``last_done`` maps a check key to the date it was last done; a check never done is due
    today. Returns ``[{"key", "label", "interval_days", "due": date}]``, soonest first.
    """
    current = care_plan_current(patient=patient)
    if current is None:
        return []
    last_done = last_done or {}
    today = timezone.localdate(timezone.now(), patient.tzinfo)
    rows = []
    for check in current.content.get("checks", []):
        done = last_done.get(check["key"])
        due = done + dt.timedelta(days=check["interval_days"]) if done else today
        rows.append({**check, "label": str(CHECKS.get(check["key"], check["label"])), "due": due})
    return sorted(rows, key=lambda row: row["due"])
