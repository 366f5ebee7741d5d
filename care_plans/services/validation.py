"""Validation: a plan's content cleaned and checked field by field (``care_plan_clean``,
``care_plan_validate``), with the messages forms and the API attach to each field.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from care_plans.models import (
    DEFAULT_REPORT_CADENCE_DAYS,
    REPORT_CADENCE_DAYS,
    REVIEW_INTERVAL_DAYS,
    VISIT_CADENCE_DAYS,
)
from care_plans.services.defaults import (
    _TO_MG,
    _UNIT_ALIASES,
    BELOW_GOAL_KEYS,
    CHECKS,
    DEFAULT_BEDTIME,
    DEFAULT_MEAL_TIMES,
    DEFAULT_WAKE_TIME,
    DOSE_UNITS,
    GOAL_COMPARISONS,
    GOAL_LABELS,
    HBA1C_GOAL_MAX,
    HBA1C_GOAL_MIN,
    MAX_DOSE,
    MAX_MEAL_TIMES,
    MEDICATION_KINDS,
    MONITORING_MODES,
    RANGE_MAX_MG_DL,
    RANGE_MIN_MG_DL,
    SMBG_TAGS,
    TITRATION_ALGORITHMS,
    TITRATION_ALIASES,
    _number,
)
from glycemia.targets import PRESETS


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


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::00)?")


def _clock(value: Any) -> str | None:
    """'7:05', '07:05' or '07:05:00' -> '07:05'; None if not a clock time of one day."""
    match = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return f"{int(match[1]):02d}:{match[2]}"


def _clean_schedule(content: dict, clean: dict, errors: _Errors) -> None:
    """The patient's day (wake time, bedtime, meal times) and the plan's basal titration
    table; missing fields take their defaults (a plan saved before they existed)."""
    for key, default in (("wake_time", DEFAULT_WAKE_TIME), ("bedtime", DEFAULT_BEDTIME)):
        raw = content.get(key)
        clock = default if raw in (None, "") else _clock(raw)
        if clock is None:
            errors.add(key, _("Enter a time of day as HH:MM (e.g. 07:00)."))
        clean[key] = clock or default
    raw = content.get("meal_times")
    if raw in (None, "", []):
        raw = list(DEFAULT_MEAL_TIMES)
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[,\s;，]+", raw) if part]
    if not isinstance(raw, list) or len(raw) > MAX_MEAL_TIMES:
        errors.add(
            "meal_times",
            _("Meal times are up to %(n)s times of day (HH:MM).") % {"n": MAX_MEAL_TIMES},
        )
        raw = []
    clocks = [_clock(x) for x in raw]
    if any(c is None for c in clocks):
        errors.add("meal_times", _("Enter each meal time as HH:MM (e.g. 12:30)."))
    clean["meal_times"] = sorted({c for c in clocks if c}) or list(DEFAULT_MEAL_TIMES)
    algorithm = content.get("titration_algorithm") or ""
    if isinstance(algorithm, str):
        algorithm = TITRATION_ALIASES.get(algorithm, algorithm)
    if algorithm and not (isinstance(algorithm, str) and algorithm in TITRATION_ALGORITHMS):
        errors.add(
            "titration_algorithm",
            _("Basal titration must be one of %(choices)s, or none.")
            % {"choices": ", ".join(TITRATION_ALGORITHMS)},
        )
        algorithm = ""
    clean["titration_algorithm"] = algorithm or ""


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
    _clean_schedule(content, clean, errors)
    return clean, dict(errors)


def care_plan_validate(content: dict) -> dict[str, list[str]]:
    """Errors of a plan's content by dotted field path (``{}`` when valid).

    >>> care_plan_validate({**content, "report_cadence_days": 10})
    {'report_cadence_days': ['Report cadence must be one of 7, 14, 28 days.']}
    """
    return care_plan_clean(content)[1]
