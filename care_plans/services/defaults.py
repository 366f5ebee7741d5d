"""What a care plan holds: the vocabulary (medication kinds, dose units and limits, goals,
checks, monitoring modes) and a new plan's default content from the consensus presets.

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
        "wake_time": "07:00", "bedtime": "22:00", "meal_times": ["07:00", "12:00", "18:00"],
        "titration_algorithm": "treat_to_target",  # or "ada_2_units_every_3_days", or ""
    }

The last four are read by the plan suggestions (``glycemia.suggestions``): the hour before
``wake_time`` is the fasting hour, ``bedtime`` starts the night's fall, ``meal_times`` place
meals on days with none recorded, and ``titration_algorithm`` (one per plan; "" = none) is the
basal titration table a suggestion may propose from. Content saved before these fields existed
reads them as their defaults (``with_schedule_defaults``).

Glucose values are mg/dL (DESIGN §3); forms convert mmol/L input before it gets here.
"""

from __future__ import annotations

import copy
import datetime as dt
from numbers import Number
from typing import Any

from django.apps import apps
from django.utils import timezone
from django.utils.translation import gettext_lazy

from care_plans.models import DEFAULT_REPORT_CADENCE_DAYS
from glycemia.suggestions import TITRATION_ALGORITHMS as _ALGORITHMS
from glycemia.targets import PRESETS
from patients.models import Patient

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


# The patient's day, as the plan suggestions read it (glycemia.suggestions.case defaults).
DEFAULT_WAKE_TIME = "07:00"
DEFAULT_BEDTIME = "22:00"
DEFAULT_MEAL_TIMES = ("07:00", "12:00", "18:00")
MAX_MEAL_TIMES = 6
# Basal titration tables a plan may name (one per plan); keys are glycemia.suggestions'.
TITRATION_ALGORITHMS = {
    "treat_to_target": gettext_lazy("Treat-to-Target (Riddle 2003): weekly, by mean fasting"),
    "ada_2_units_every_3_days": gettext_lazy("ADA: +2 U every 3 days to the fasting goal"),
}
assert set(TITRATION_ALGORITHMS) == set(_ALGORITHMS), "glycemia.suggestions names the tables"
# Short names an API client may send for the same tables.
TITRATION_ALIASES = {"ada_2u_3d": "ada_2_units_every_3_days", "t2t": "treat_to_target"}


def with_schedule_defaults(content: dict) -> dict:
    """``content`` with the schedule fields a plan saved before they existed reads as (the
    defaults, no titration table): what the page, the editor and the diff compare."""
    if not isinstance(content, dict) or not content:
        return content
    out = dict(content)
    out.setdefault("wake_time", DEFAULT_WAKE_TIME)
    out.setdefault("bedtime", DEFAULT_BEDTIME)
    out.setdefault("meal_times", list(DEFAULT_MEAL_TIMES))
    out.setdefault("titration_algorithm", "")
    return out


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
        "wake_time": DEFAULT_WAKE_TIME,
        "bedtime": DEFAULT_BEDTIME,
        "meal_times": list(DEFAULT_MEAL_TIMES),
        # None named: a basal increase is proposed only from a table the clinician chose.
        "titration_algorithm": "",
    }
