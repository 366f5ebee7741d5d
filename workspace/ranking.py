"""Triage ranking: which patient an endocrinologist should look at first (pure, no Django).

Risk order (most urgent first), each step judged against the patient's own care-plan goals:

1. **Level-2 hypoglycaemia** — time < 54 mg/dL (3.0 mmol/L) does not meet the plan's goal
   (consensus default < 1 %). Level-2 hypoglycaemia is "clinically significant, requiring
   immediate attention" (International Hypoglycaemia Study Group, Diabetes Care 2017;
   Battelino et al., Diabetes Care 2019, table 2).
2. **Level-1 hypoglycaemia** — time below the plan's lower limit (70 mg/dL, or 63 mg/dL in
   pregnancy) does not meet its goal (default < 4 %). Battelino 2019: time below range is the
   first goal to address ("primary goal: reduce hypoglycaemia").
3. **No data for ≥ 3 days** — a patient whose device has stopped sending cannot be judged;
   Tidepool TIDE and Dexcom Clarity Clinic both surface "no recent data" above glycaemic flags.
4. **TIR drop ≥ 10 points** against the previous 14 days — a change of 5 points of TIR is
   clinically meaningful (Battelino 2019); a fall of twice that is a worsening to act on.
5. **GRI zone E or D** (GRI > 60) — the two highest-risk zones of the Glycemia Risk Index
   (Klonoff et al., J Diabetes Sci Technol 2023).
6. **Everyone else by GRI**, highest first; patients without a GRI last.

Meter-only patients (finger-sticks, no CGM in the window) are judged on the same steps with
the share of finger-sticks below 54 and below the range; a finger-stick mean above the plan's
upper limit stands in for step 5 (no GRI without CGM).

Inside each step, a patient whose review is current ("Mark reviewed") sits below every
unreviewed patient, until their flags change or a new report arrives: see ``risk_rank``.
"""

from __future__ import annotations

import operator

# Consensus defaults (Battelino et al., Diabetes Care 2019) when a plan names no goal.
DEFAULT_VERY_LOW_GOAL = 1.0  # % of time < 54 mg/dL
DEFAULT_BELOW_GOAL = 4.0  # % of time below the range (< 70 mg/dL)
DEFAULT_TIR_GOAL = 70.0  # % of time in range
DEFAULT_CV_GOAL = 36.0  # % coefficient of variation
NO_DATA_DAYS = 3  # days without a reading before "no recent data"
TIR_DROP_POINTS = 10.0  # twice the 5-point change Battelino 2019 calls meaningful
GRI_HIGH_ZONES = ("D", "E")  # Klonoff 2023: GRI > 60
CGM_ACTIVE_MIN = 70.0  # % wear for valid 14-day metrics (Battelino 2019)
METER_ADHERENCE_MIN = 70.0  # % of the plan's finger-sticks, mirroring the CGM wear rule

FLAG_VERY_LOW = "very_low"
FLAG_LOW = "low"
FLAG_NO_DATA = "no_data"
FLAG_TIR_DROP = "tir_drop"
FLAG_GRI_HIGH = "gri_high"
FLAG_METER_HIGH = "meter_high"
FLAG_HIGH = "high"  # TIR goal not met
FLAG_VARIABLE = "variable"
FLAG_LOW_WEAR = "insufficient_data"
FLAG_METER_ADHERENCE = "meter_adherence"
FLAG_METER = "meter_only"
FLAG_REVIEW = "review_overdue"
FLAG_VISIT = "visit_overdue"
FLAGS = (
    FLAG_VERY_LOW,
    FLAG_LOW,
    FLAG_NO_DATA,
    FLAG_TIR_DROP,
    FLAG_GRI_HIGH,
    FLAG_METER_HIGH,
    FLAG_HIGH,
    FLAG_VARIABLE,
    FLAG_LOW_WEAR,
    FLAG_METER_ADHERENCE,
    FLAG_METER,
    FLAG_REVIEW,
    FLAG_VISIT,
)
# The flag that puts a patient in each risk step; a patient's step is their first one.
TIERS = (FLAG_VERY_LOW, FLAG_LOW, FLAG_NO_DATA, FLAG_TIR_DROP, (FLAG_GRI_HIGH, FLAG_METER_HIGH))
TIER_REST = len(TIERS)

_MET = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def goal(
    targets: dict | None, keys: tuple[str, ...], default: float, comparison: str = "<"
) -> tuple[str, float]:
    """(comparison, threshold) of the first goal in ``targets`` named by one of ``keys``.

    >>> goal({"goals": [{"key": "very_low_percent", "comparison": "<", "target": 0.5}]},
    ...      ("very_low_percent",), 1.0)
    ('<', 0.5)
    >>> goal({"goals": []}, ("very_low_percent",), 1.0)
    ('<', 1.0)
    """
    for item in (targets or {}).get("goals", []):
        if item.get("key") in keys and item.get("target") is not None:
            return item.get("comparison", comparison), float(item["target"])
    return comparison, default


def misses(value: float | None, comparison: str, threshold: float) -> bool:
    """True when ``value`` does not meet the goal "value <comparison> threshold".

    >>> misses(1.0, "<", 1.0), misses(0.9, "<", 1.0), misses(None, "<", 1.0)
    (True, False, False)
    """
    if value is None:
        return False
    return not _MET.get(comparison, operator.lt)(value, threshold)


def thresholds(targets: dict | None) -> dict:
    """The goals triage judges by, from a care plan's targets (consensus defaults otherwise).

    >>> t = thresholds({"range_low": 63, "range_high": 140, "goals": [
    ...     {"key": "below_target_percent", "comparison": "<", "target": 4.0}]})
    >>> t["range_low"], t["below"], t["very_low"]
    (63.0, ('<', 4.0), ('<', 1.0))
    """
    targets = targets or {}
    return {
        "range_low": float(targets.get("range_low") or 70),
        "range_high": float(targets.get("range_high") or 180),
        "very_low": goal(targets, ("very_low_percent",), DEFAULT_VERY_LOW_GOAL),
        "below": goal(targets, ("below_70_percent", "below_target_percent"), DEFAULT_BELOW_GOAL),
        "in_range": goal(targets, ("in_range_percent", "in_target_percent"), DEFAULT_TIR_GOAL, ">"),
        "cv": goal(targets, ("cv_percent",), DEFAULT_CV_GOAL, "<="),
    }


def triage_flags(
    row: dict,
    limits: dict,
    *,
    data_age_days: float | None,
    meter_readings_goal: float | None = None,
    review_overdue: bool = False,
    visit_overdue: bool = False,
) -> list[str]:
    """Flags of one patient, most urgent first.

    ``row`` holds the window's figures: ``mode`` ("cgm", "meter" or "none"); for CGM
    ``very_low_percent``, ``below_percent`` (below the plan's lower limit),
    ``in_range_percent`` (in the plan's range), ``tir_change``, ``gri_zone``, ``cv_percent``,
    ``active_percent``; for meters ``meter_very_low_percent``, ``meter_below_percent``,
    ``meter_mean_mg_dl``, ``meter_per_day``. ``limits`` comes from ``thresholds``.

    >>> limits = thresholds(None)
    >>> triage_flags({"mode": "cgm", "very_low_percent": 1.2, "below_percent": 5.0,
    ...     "in_range_percent": 75, "gri_zone": "B", "cv_percent": 30,
    ...     "active_percent": 95}, limits, data_age_days=0.1)
    ['very_low', 'low']
    >>> triage_flags({"mode": "none"}, limits, data_age_days=None)
    ['no_data']
    """
    flags: list[str] = []
    mode = row.get("mode")
    if mode == "cgm":
        if misses(row.get("very_low_percent"), *limits["very_low"]):
            flags.append(FLAG_VERY_LOW)
        if misses(row.get("below_percent"), *limits["below"]):
            flags.append(FLAG_LOW)
    elif mode == "meter":
        if misses(row.get("meter_very_low_percent"), *limits["very_low"]):
            flags.append(FLAG_VERY_LOW)
        if misses(row.get("meter_below_percent"), *limits["below"]):
            flags.append(FLAG_LOW)
    if data_age_days is None or data_age_days >= NO_DATA_DAYS:
        flags.append(FLAG_NO_DATA)
    if mode == "cgm":
        change = row.get("tir_change")
        if change is not None and change <= -TIR_DROP_POINTS:
            flags.append(FLAG_TIR_DROP)
        if row.get("gri_zone") in GRI_HIGH_ZONES:
            flags.append(FLAG_GRI_HIGH)
        if misses(row.get("in_range_percent"), *limits["in_range"]):
            flags.append(FLAG_HIGH)
        if misses(row.get("cv_percent"), *limits["cv"]):
            flags.append(FLAG_VARIABLE)
        active = row.get("active_percent")
        if active is not None and active < CGM_ACTIVE_MIN:
            flags.append(FLAG_LOW_WEAR)
    elif mode == "meter":
        mean = row.get("meter_mean_mg_dl")
        if mean is not None and mean > limits["range_high"]:
            flags.append(FLAG_METER_HIGH)
        per_day = row.get("meter_per_day")
        if meter_readings_goal and per_day is not None:
            if 100.0 * per_day / meter_readings_goal < METER_ADHERENCE_MIN:
                flags.append(FLAG_METER_ADHERENCE)
        flags.append(FLAG_METER)
    if review_overdue:
        flags.append(FLAG_REVIEW)
    if visit_overdue:
        flags.append(FLAG_VISIT)
    return flags


def tier(flags: list[str]) -> int:
    """The risk step (0 = most urgent) of a patient with these flags.

    >>> tier(["low", "tir_drop"]), tier(["meter_high"]), tier(["high"])
    (1, 4, 5)
    """
    for index, names in enumerate(TIERS):
        names = names if isinstance(names, tuple) else (names,)
        if any(name in flags for name in names):
            return index
    return TIER_REST


def risk_rank(step: int, gri: float | None, *, reviewed: bool) -> int:
    """One sortable integer, ascending = riskiest first: review state, step, then GRI.

    Reviewed patients come after all unreviewed ones; inside a step, higher GRI first and
    no GRI last.

    >>> risk_rank(0, 12.5, reviewed=False) < risk_rank(0, 3.0, reviewed=False)
    True
    >>> risk_rank(5, 90.0, reviewed=False) < risk_rank(0, 90.0, reviewed=True)
    True
    >>> risk_rank(5, 0.0, reviewed=False) < risk_rank(5, None, reviewed=False)
    True
    """
    gri_part = 1001 if gri is None else 1000 - round(min(max(gri, 0.0), 100.0) * 10)
    return (100_000 if reviewed else 0) + step * 10_000 + gri_part


def gri_components(
    very_low: float | None, low: float | None, high: float | None, very_high: float | None
) -> tuple[float | None, float | None]:
    """(hypoglycaemia, hyperglycaemia) components of the GRI grid (Klonoff 2023).

    Hypo = VLow + 0.8·Low, hyper = VHigh + 0.5·High, so GRI = 3·hypo + 1.6·hyper.

    >>> gri_components(1.0, 5.0, 20.0, 4.0)
    (5.0, 14.0)
    """
    if None in (very_low, low, high, very_high):
        return None, None
    return round(very_low + 0.8 * low, 2), round(very_high + 0.5 * high, 2)
