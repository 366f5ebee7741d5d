"""Compare two periods' metrics with clinical direction: the ONE place that says which way is
better for each metric and how big a change must be to count.

Rules, in order, for each metric:

1. **Same**: the two values *as shown* (``glycemia.display``, in the reader's unit) are equal
   -> "same". GMI 7.8 -> 7.8 % is never "worse".
2. **Small**: the change is smaller than the metric's minimum meaningful change
   (``MIN_CHANGE``) -> "small" (shown neutral, no colour). A 0.6-point change in CGM wear is
   noise, not progress.
3. **Direction** (``DIRECTION``):
   - higher is better: time in range, time in tight range, CGM active;
   - lower is better: time below range (very low, low), time above range (high, very high),
     CV, SD, GRI, LBGI, HBGI, MAGE;
   - mean glucose and GMI: lower is better **only while time below range is within its goal**
     (the plan's "< 70" or "below target" goal, else the consensus < 4 %). With too much time
     below range a lower mean may just be more hypoglycaemia, and a higher one is not a
     success either: the direction is "not_judged" and the reader looks at time below range.

Minimum meaningful changes (``MIN_CHANGE``), in the metric's own unit:
- time in range / tight range: 5 percentage points. Battelino et al., Diabetes Care 2019:
  "each 5 % increase in TIR is associated with clinically significant benefits".
- time below 70 (low band): 1 point (about 15 minutes a day); below 54: 0.5 point (goal < 1 %).
- time 181-250: 5 points (as TIR); above 250: 2 points (goal < 5 %).
- mean glucose 5 mg/dL, SD 5 mg/dL, MAGE 10 mg/dL; GMI 0.2 points (about 8 mg/dL of mean).
- CV 2 points (goal <= 36 %); GRI 5 (a quarter of a 20-point zone); LBGI 0.5; HBGI 1.0.
- CGM active: 5 points (wear is judged against a 70 % threshold; smaller moves are noise).
These thresholds are this product's choice where the consensus gives none; change them here.

>>> [r["direction"] for r in compare_periods({"mean_mg_dl": 124.0, "very_low_percent": 0.2,
...     "low_percent": 1.0}, {"mean_mg_dl": 128.0, "very_low_percent": 0.2, "low_percent": 1.0})]
['same', 'same', 'small']
"""

from __future__ import annotations

from glycemia import display

HIGHER = "higher"
LOWER = "lower"
LOWER_IF_NO_LOWS = "lower while time below range is within goal"

DIRECTION = {
    "in_range_percent": HIGHER,
    "tight_range_percent": HIGHER,
    "very_low_percent": LOWER,
    "low_percent": LOWER,
    "high_percent": LOWER,
    "very_high_percent": LOWER,
    "mean_mg_dl": LOWER_IF_NO_LOWS,
    "gmi_percent": LOWER_IF_NO_LOWS,
    "sd_mg_dl": LOWER,
    "cv_percent": LOWER,
    "gri": LOWER,
    "lbgi": LOWER,
    "hbgi": LOWER,
    "mage": LOWER,
    "active_percent": HIGHER,
}
MIN_CHANGE = {
    "in_range_percent": 5.0,  # Battelino 2019
    "tight_range_percent": 5.0,
    "very_low_percent": 0.5,
    "low_percent": 1.0,
    "high_percent": 5.0,
    "very_high_percent": 2.0,
    "mean_mg_dl": 5.0,
    "gmi_percent": 0.2,
    "sd_mg_dl": 5.0,
    "cv_percent": 2.0,
    "gri": 5.0,
    "lbgi": 0.5,
    "hbgi": 1.0,
    "mage": 10.0,
    "active_percent": 5.0,
}
COMPARED_KEYS = tuple(DIRECTION)
GLUCOSE_KEYS = frozenset({"mean_mg_dl", "sd_mg_dl", "mage"})
DEFAULT_BELOW_GOAL = 4.0  # consensus: < 4 % of readings below 70 mg/dL (Battelino 2019)
BELOW_GOAL_KEYS = ("below_70_percent", "below_target_percent")


def shown(key: str, value, unit: str = "mg/dL"):
    """`value` of metric `key` rounded as the pages show it (glucose in `unit`)."""
    if value is None:
        return None
    if key in GLUCOSE_KEYS:
        return display.glucose_value(value, unit)
    if key in ("lbgi", "hbgi"):
        return display.rounded(value, display.INDEX_DECIMALS)
    return display.rounded(value, 1)


def below_range_goal(targets: dict | None) -> float:
    """The plan's goal for time below range (the "< 70" or "below target" goal), in %."""
    for goal in (targets or {}).get("goals", []):
        if goal.get("key") in BELOW_GOAL_KEYS and goal.get("target") is not None:
            return float(goal["target"])
    return DEFAULT_BELOW_GOAL


def below_range_percent(metrics: dict) -> float | None:
    """Time below range of a period: very low + low (< 70 mg/dL), or the stored below-target
    value of a plan with its own range (pregnancy: < 63)."""
    if metrics.get("below_target_percent") is not None:
        return metrics["below_target_percent"]
    vl, lo = metrics.get("very_low_percent"), metrics.get("low_percent")
    return None if vl is None or lo is None else vl + lo


def direction(
    key: str,
    current: float,
    previous: float,
    *,
    lows_within_goal: bool = True,
    unit: str = "mg/dL",
) -> str:
    """'better', 'worse', 'same', 'small' or 'not_judged' (see the module rules)."""
    now, before = shown(key, current, unit), shown(key, previous, unit)
    if now == before:
        return "same"
    if abs(float(current) - float(previous)) < MIN_CHANGE.get(key, 0.0):
        return "small"
    rule = DIRECTION[key]
    if rule == LOWER_IF_NO_LOWS:
        if not lows_within_goal:
            return "not_judged"
        rule = LOWER
    up = now > before
    if rule == HIGHER:
        return "better" if up else "worse"
    return "worse" if up else "better"


def compare_periods(
    current: dict, previous: dict, *, targets: dict | None = None, unit: str = "mg/dL"
) -> list[dict]:
    """Per key present in either: {"key", "current", "previous", "delta", "direction"}.

    `targets` (the plan's) gives the time-below-range goal that decides whether a lower mean
    counts as better; `unit` is the reader's, so "same" means "shows the same number".

    >>> compare_periods({"in_range_percent": 72.0}, {"in_range_percent": 65.5})[0]["direction"]
    'better'
    """
    below = below_range_percent(current)
    lows_ok = below is None or display.percent_value(below) < below_range_goal(targets)
    rows = []
    for key in COMPARED_KEYS:
        if key not in current and key not in previous:
            continue
        now, before = current.get(key), previous.get(key)
        if now is None or before is None:
            rows.append(
                {"key": key, "current": now, "previous": before, "delta": None, "direction": None}
            )
            continue
        rows.append(
            {
                "key": key,
                "current": now,
                "previous": before,
                "delta": round(float(now) - float(before), 2),
                "direction": direction(
                    key, float(now), float(before), lows_within_goal=lows_ok, unit=unit
                ),
            }
        )
    return rows
