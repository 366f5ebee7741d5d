"""Compare two periods' metrics with clinical direction: the ONE place that says which way is
better for each metric and how big a change must be to count.

Rules, in order:

0. **Time below range first** (``period_verdict``): when time below range (< 70 mg/dL, or
   below the plan's own range) or time below 54 *rose* (by at least its minimum meaningful
   change, so the row says "worse") *and* is over the plan's goal for it (as shown, 1 decimal),
   the period is **worse**, whatever else improved, and the report says so before any row.

For each metric:

1. **Same**: the two values *as shown* (``glycemia.display``, in the reader's unit) are equal
   -> "same". GMI 7.8 -> 7.8 % is never "worse".
2. **Small**: the change is smaller than the metric's minimum meaningful change
   (``MIN_CHANGE``) -> "small" (shown neutral, no colour). A 0.6-point change in CGM wear is
   noise, not progress.
3. **Direction** (``DIRECTION``):
   - higher is better: time in range, time in tight range, CGM active;
   - lower is better: time below range (very low, low), time above range (high, very high),
     CV, SD, GRI, LBGI, HBGI, MAGE;
   - own range (a plan whose range is not 70-180, pregnancy 63-140): the plan's own bands
     replace the 70-180 ones: ``in_target_percent`` higher is better, ``below_target_percent``
     and ``above_target_percent`` lower is better; ``in_range_percent``, ``low_percent`` and
     ``high_percent`` (70-180) are not compared. Callers pass the own-range values (a report's
     goals carry them).
   - mean glucose and GMI: lower is better **only while time below range is within its goals
     and did not rise** (the plan's "< 70" or "below target" goal, else the consensus < 4 %;
     its "< 54" goal, else < 1 %). With too much, or more, time below range a lower mean may
     just be more hypoglycaemia (110 -> 85 mg/dL while below 70 went 1 -> 3.5 %), and a
     higher one is not a success either: the direction is "not_judged" and the reader looks
     at time below range.

Minimum meaningful changes (``MIN_CHANGE``), in the metric's own unit:
- time in range / tight range: 5 percentage points. Battelino et al., Diabetes Care 2019:
  "each 5 % increase in TIR is associated with clinically significant benefits".
- time below 70 (low band, or all of < 70, or below the plan's range): 1 point (about 15
  minutes a day); below 54: 0.5 point (goal < 1 %).
- time 181-250 (or above the plan's range): 5 points (as TIR); above 250: 2 points (goal < 5 %).
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
    # A plan's own range (pregnancy 63-140), compared instead of the 70-180 bands.
    "in_target_percent": HIGHER,
    "below_target_percent": LOWER,
    "above_target_percent": LOWER,
    # All of < 70 (very low + low): not a row, but the measure of ``period_verdict``.
    "below_70_percent": LOWER,
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
    "in_target_percent": 5.0,
    "below_target_percent": 1.0,
    "above_target_percent": 5.0,
    "below_70_percent": 1.0,
}
# The rows of a comparison, in order, for a 70-180 plan; a plan with its own range compares
# its own bands in place of the 70-180 ones (``compared_keys``).
COMPARED_KEYS = (
    "in_range_percent",
    "tight_range_percent",
    "very_low_percent",
    "low_percent",
    "high_percent",
    "very_high_percent",
    "mean_mg_dl",
    "gmi_percent",
    "sd_mg_dl",
    "cv_percent",
    "gri",
    "lbgi",
    "hbgi",
    "mage",
    "active_percent",
)
OWN_RANGE_KEYS = {
    "in_range_percent": "in_target_percent",
    "low_percent": "below_target_percent",
    "high_percent": "above_target_percent",
}
GLUCOSE_KEYS = frozenset({"mean_mg_dl", "sd_mg_dl", "mage"})
DEFAULT_BELOW_GOAL = 4.0  # consensus: < 4 % of readings below 70 mg/dL (Battelino 2019)
DEFAULT_VERY_LOW_GOAL = 1.0  # consensus: < 1 % below 54 mg/dL (Battelino 2019)
BELOW_GOAL_KEYS = ("below_70_percent", "below_target_percent")


def own_range(targets: dict | None) -> bool:
    """Whether the plan has its own target range (not 70-180: pregnancy 63-140)."""
    targets = targets or {}
    return (float(targets.get("range_low", 70)), float(targets.get("range_high", 180))) != (
        70.0,
        180.0,
    )


def compared_keys(targets: dict | None) -> tuple[str, ...]:
    """The compared metrics, in order: a plan's own range replaces the 70-180 bands.

    >>> compared_keys({"range_low": 63, "range_high": 140})[:4]
    ('in_target_percent', 'tight_range_percent', 'very_low_percent', 'below_target_percent')
    """
    if not own_range(targets):
        return COMPARED_KEYS
    return tuple(OWN_RANGE_KEYS.get(key, key) for key in COMPARED_KEYS)


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


def below_range_percent(metrics: dict, targets: dict | None = None) -> float | None:
    """Time below range of a period: very low + low (< 70 mg/dL), or the below-target value
    of a plan with its own range (pregnancy: < 63)."""
    if metrics.get("below_target_percent") is not None and (own_range(targets) or targets is None):
        return metrics["below_target_percent"]
    if metrics.get("below_70_percent") is not None:
        return metrics["below_70_percent"]
    vl, lo = metrics.get("very_low_percent"), metrics.get("low_percent")
    return None if vl is None or lo is None else vl + lo


def _goal(targets: dict | None, keys: tuple[str, ...], default: float) -> tuple[str, float]:
    for goal in (targets or {}).get("goals", []):
        if goal.get("key") in keys and goal.get("target") is not None:
            return goal.get("comparison") or "<", float(goal["target"])
    return "<", default


def lows_checks(current: dict, previous: dict, *, targets: dict | None = None) -> list[dict]:
    """Time below range, then time below 54, of two periods against the plan's goals:
    ``{"key", "current", "previous", "comparison", "target", "over_goal", "rose"}``.

    ``over_goal``: the current value *as shown* misses the goal; ``rose``: it went up by at
    least the minimum meaningful change (its row reads "worse").

    >>> [(c["key"], c["over_goal"], c["rose"]) for c in lows_checks(
    ...     {"very_low_percent": 0.5, "low_percent": 4.0}, {"very_low_percent": 0.2,
    ...     "low_percent": 0.8})]
    [('below_70_percent', True, True), ('very_low_percent', False, False)]
    """
    below_key = "below_target_percent" if own_range(targets) else "below_70_percent"
    measures = (
        (
            below_key,
            below_range_percent(current, targets),
            below_range_percent(previous, targets),
            _goal(targets, BELOW_GOAL_KEYS, DEFAULT_BELOW_GOAL),
        ),
        (
            "very_low_percent",
            current.get("very_low_percent"),
            previous.get("very_low_percent"),
            _goal(targets, ("very_low_percent",), DEFAULT_VERY_LOW_GOAL),
        ),
    )
    checks = []
    for key, now, before, (comparison, target) in measures:
        met = display.goal_met(now, comparison, target)
        rose = (
            now is not None
            and before is not None
            and direction(key, float(now), float(before)) == "worse"
        )
        checks.append(
            {
                "key": key,
                "current": now,
                "previous": before,
                "comparison": comparison,
                "target": target,
                "over_goal": met is False,
                "rose": rose,
            }
        )
    return checks


def period_verdict(current: dict, previous: dict, *, targets: dict | None = None) -> dict | None:
    """Rule 0: ``{"direction": "worse", "reasons": [check, ...]}`` when time below range or
    below 54 rose and is over its goal (``lows_checks``), whatever else improved; else None.

    >>> period_verdict({"very_low_percent": 0.5, "low_percent": 4.0},
    ...     {"very_low_percent": 0.2, "low_percent": 0.8})["reasons"][0]["key"]
    'below_70_percent'
    """
    reasons = [
        c for c in lows_checks(current, previous, targets=targets) if c["rose"] and c["over_goal"]
    ]
    return {"direction": "worse", "reasons": reasons} if reasons else None


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

    `targets` (the plan's) gives the range whose bands are compared (``compared_keys``) and
    the time-below-range goals that decide whether a lower mean counts as better; `unit` is
    the reader's, so "same" means "shows the same number". The period's verdict (rule 0) is
    ``period_verdict``'s.

    >>> compare_periods({"in_range_percent": 72.0}, {"in_range_percent": 65.5})[0]["direction"]
    'better'
    """
    lows_ok = not any(
        c["over_goal"] or c["rose"] for c in lows_checks(current, previous, targets=targets)
    )
    rows = []
    for key in compared_keys(targets):
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
