"""Plan suggestions, rule 3: basal titration (``titration_rule`` → ``basal_increase``) for
type 2 diabetes on one basal insulin, by the algorithm the plan names — Treat-to-Target
(Riddle 2003: ``treat_to_target_increase``) or ADA "+2 U every 3 days" — from the fasting
glucose of each day (``fasting_by_day`` on CGM, ``meter_fasting_by_day`` from finger-sticks).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from glycemia import constants as c
from glycemia import display
from glycemia.series import day_iso
from glycemia.targets import meter_targets

from .case import (
    DEFAULT_WAKE_TIME,
    Case,
    cgm_hour_values,
    cgm_series,
    meter_series,
    meter_tag_values,
    window_metrics,
)
from .common import (
    BLOCKER_WORDS,
    RULE_TITRATION,
    UNIT,
    as_number,
    clock_minutes,
    dose_text,
    measured,
    mg,
    plain,
    suggestion,
)

# --- Sources and thresholds ---------------------------------------------------------------

SOURCE_TREAT_TO_TARGET = (
    "Riddle MC, Rosenstock J, Gerich J. The Treat-to-Target Trial. Diabetes Care 2003;26:"
    "3080–3086, Table 1: weekly, by the mean of the fasting values of the preceding 2 days: "
    "≥ 180 mg/dL +8 U, 140–180 +6 U, 120–140 +4 U, 100–120 +2 U; no increase if a glucose "
    "< 72 mg/dL was documented in the preceding week. Applied only above the plan's fasting "
    "goal (ADA 2024, 6: fasting 80–130 mg/dL; 13: 90–150 for older/high-risk adults)."
)
SOURCE_ADA_TITRATION = (
    "American Diabetes Association, Standards of Care in Diabetes—2024, 9, Fig. 9.4: "
    "increase basal insulin by 2 units every 3 days to reach the fasting goal without "
    "hypoglycaemia (fasting goal: 6, 80–130 mg/dL; 13, 90–150 for older/high-risk adults). "
    "No increase after a fasting value < 72 mg/dL (Riddle et al., Diabetes Care 2003)."
)

# Treat-to-Target (Riddle 2003, Table 1): half-open bands of the mean fasting glucose.
TREAT_TO_TARGET_BANDS = ((180.0, 8), (140.0, 6), (120.0, 4), (100.0, 2))
NO_INCREASE_BELOW_MG_DL = 72.0  # Riddle 2003: no increase after a glucose < 72 mg/dL
TITRATION_ALGORITHMS = {
    # window: the days looked at (the < 72 check and the fasting values); mean_days: the most
    # recent fasting values averaged; min_days: fewest fasting values to decide on; the
    # window is also how long a basal change settles before the next increase.
    "treat_to_target": {
        "label": "Treat-to-Target (Riddle 2003)",
        "source": SOURCE_TREAT_TO_TARGET,
        "window_days": 7,  # weekly titration, "< 72 in the preceding week"
        "mean_days": 2,  # "mean of the fasting values of the preceding 2 days"
        "min_days": 2,
    },
    "ada_2_units_every_3_days": {
        "label": "ADA: +2 U every 3 days",
        "source": SOURCE_ADA_TITRATION,
        "window_days": 3,
        "mean_days": 3,
        "min_days": 2,
        "step_units": 2,
    },
}


def treat_to_target_increase(mean_fasting_mg_dl: float) -> int:
    """Units to add by the Treat-to-Target table (Riddle 2003): half-open bands.

    >>> [treat_to_target_increase(x) for x in (200, 180, 179.9, 140, 120, 100, 99.9)]
    [8, 8, 6, 6, 4, 2, 0]
    """
    for lower, units in TREAT_TO_TARGET_BANDS:
        if mean_fasting_mg_dl >= lower:
            return units
    return 0


# --- Fasting glucose ----------------------------------------------------------------------


def fasting_by_day(times, values, *, tz: str = "UTC", wake_time=DEFAULT_WAKE_TIME):
    """CGM fasting glucose per local day: the median of the readings in the hour before the
    wake time, for days with at least 3 readings in that hour -> {ISO date: mg/dL}.

    >>> t = np.array(["2024-05-02T06:05", "2024-05-02T06:20", "2024-05-02T06:50",
    ...               "2024-05-02T07:00"], dtype="datetime64[s]")
    >>> fasting_by_day(t, [150, 140, 146, 200], tz="UTC")
    {'2024-05-02': 146.0}
    """
    s = cgm_series(times, values, tz)
    minute = clock_minutes(wake_time, DEFAULT_WAKE_TIME)
    return {day_iso(d): v for d, v in cgm_hour_values(s, minute).items()}


def meter_fasting_by_day(times, values, tags, *, tz: str = "UTC") -> dict[str, float]:
    """Finger-stick fasting glucose per local day: the median of the day's fasting-tagged
    readings -> {ISO date: mg/dL}."""
    s = meter_series(times, values, tags, tz)
    return {day_iso(d): v for d, v in meter_tag_values(s, "fasting").items()}


# --- Rule 3: basal titration --------------------------------------------------------------


def titration_rule(case: Case, blockers: list[str]) -> dict | None:
    rule = RULE_TITRATION
    if case.diabetes_type != "T2":
        case.note(rule, "basal titration tables are for type 2 diabetes (Riddle 2003; ADA 9)")
        return None
    basal = case.of_kind("insulin_basal")
    if len(basal) != 1:
        case.note(
            rule, "no basal insulin in the plan" if not basal else "more than one basal insulin"
        )
        return None
    index, med = basal[0]
    # The plan's one table (content ``titration_algorithm``, what care_plans stores); a
    # table named on the basal insulin itself is read too.
    name = case.content.get("titration_algorithm") or med.get("titration_algorithm")
    algorithm = TITRATION_ALGORITHMS.get(name) if isinstance(name, str) else None
    if algorithm is None:
        case.note(rule, "the plan names no titration algorithm for the basal insulin")
        return None
    dose = as_number(med.get("dose"))
    if dose is None or dose <= 0:
        case.note(rule, "the basal insulin has no dose")
        return None
    window = algorithm["window_days"]
    reason = case.settling("insulin_basal", window)
    if reason:
        case.note(rule, reason)
        return None
    start = max(case.last - window + 1, case.first, case.since_change("insulin_basal"))
    if case.mode is None:
        case.note(rule, "no readings")
        return None
    s = case.readings.where(case.readings.day >= start)
    if case.mode == "cgm":
        wear = window_metrics(s, case.tz, start, case.last)["active_percent"]
        if (display.percent_value(wear) or 0.0) < c.SUFFICIENT_ACTIVE_PERCENT:
            case.note(
                rule, f"CGM wear {display.percent(wear)} over the last {window} days (< 70 %)"
            )
            return None
    fasting = {d: v for d, v in case.clock_values(s, "fasting").items() if start <= d <= case.last}
    lowest = min(fasting.items(), key=lambda item: (item[1], item[0]), default=None)
    if lowest is not None and lowest[1] < NO_INCREASE_BELOW_MG_DL:
        case.note(
            rule,
            f"fasting glucose {measured(lowest[1])} on {day_iso(lowest[0])} "
            f"(< {NO_INCREASE_BELOW_MG_DL:g} {UNIT}): no increase (Riddle 2003)",
        )
        return None
    if len(fasting) < algorithm["min_days"]:
        case.note(
            rule,
            f"{len(fasting)} days with a fasting value in the last {window} days "
            f"(at least {algorithm['min_days']} needed)",
        )
        return None
    used = sorted(fasting)[-algorithm["mean_days"] :]
    mean = float(np.mean([fasting[d] for d in used]))
    shown = display.glucose_value(mean, UNIT)  # judged as shown, as the fasting goal is
    goal_low, goal_high = meter_targets(case.targets).get("fasting", (80, 130))
    if goal_high is None or shown <= goal_high:
        case.note(rule, f"mean fasting glucose {mg(mean)} is not above the fasting goal")
        return None
    units = algorithm.get("step_units") or treat_to_target_increase(shown)
    if not units:
        case.note(rule, f"mean fasting glucose {mg(mean)} is below the table's lowest band")
        return None
    new = plain(Decimal(repr(dose)) + units)
    unit = med.get("dose_unit") or "U"
    params = {
        "algorithm": name,
        "mean_fasting_mg_dl": mean,
        "fasting_goal_mg_dl": [goal_low, goal_high],
        "fasting_days": len(used),
        "step_units": units,
        "blockers": list(blockers),
    }
    summary = (
        f"Mean fasting glucose {mg(mean)} over the last {len(used)} days with a fasting value, "
        f"above the fasting goal ({display.glucose_range(goal_low, goal_high, UNIT)}), no fasting "
        f"value below {mg(NO_INCREASE_BELOW_MG_DL)}. {algorithm['label']}: "
    )
    if blockers:
        summary += (
            f"no increase is proposed while {' and '.join(BLOCKER_WORDS[b] for b in blockers)}."
        )
        change = None
        del params["step_units"]  # a blocked increase carries no number
    else:
        product = med.get("product") or "basal insulin"
        params.update(
            product=med.get("product") or None, dose_unit=unit, dose_from=plain(dose), dose_to=new
        )
        summary += (
            f"raise {product} by {units} {unit}: {dose_text(dose, unit)} → {dose_text(new, unit)}."
        )
        change = {f"medications.{index}.dose": {"from": plain(dose), "to": new}}
    return suggestion(
        rule, "basal_increase", algorithm["source"], used, summary, change, blockers, params
    )
