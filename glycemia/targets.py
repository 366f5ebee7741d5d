"""Consensus CGM targets (Battelino et al., Diabetes Care 2019) as data, and their evaluation.

A preset is a target range plus goals (metric key, comparison, threshold). Keys name metrics of
`glycemia.metrics.cgm_metrics`, or range metrics computed for the preset's own range:
`in_target_percent`, `below_target_percent`, `above_target_percent` (for 63-140 in pregnancy).
Care plans start from a preset and may change the numbers; `evaluate_metrics` accepts any
dict of the same shape.
"""

from __future__ import annotations

import operator

import numpy as np

from glycemia import constants as c
from glycemia import display

PRESETS: dict[str, dict] = {
    # Battelino 2019, type 1 and type 2 diabetes.
    "standard": {
        "label": "Type 1 / type 2 diabetes",
        "range_low": 70,
        "range_high": 180,
        "goals": [
            {
                "key": "in_range_percent",
                "label": "Time in range 70-180",
                "comparison": ">",
                "target": 70.0,
            },
            {"key": "below_70_percent", "label": "Time below 70", "comparison": "<", "target": 4.0},
            {"key": "very_low_percent", "label": "Time below 54", "comparison": "<", "target": 1.0},
            {
                "key": "above_180_percent",
                "label": "Time above 180",
                "comparison": "<",
                "target": 25.0,
            },
            {
                "key": "very_high_percent",
                "label": "Time above 250",
                "comparison": "<",
                "target": 5.0,
            },
            {
                "key": "cv_percent",
                "label": "Glucose variability (CV)",
                "comparison": "<=",
                "target": 36.0,
            },
        ],
    },
    # Battelino 2019, older or high-risk people.
    "older_high_risk": {
        "label": "Older / high-risk",
        "range_low": 70,
        "range_high": 180,
        "goals": [
            {
                "key": "in_range_percent",
                "label": "Time in range 70-180",
                "comparison": ">",
                "target": 50.0,
            },
            {"key": "below_70_percent", "label": "Time below 70", "comparison": "<", "target": 1.0},
            {
                "key": "very_high_percent",
                "label": "Time above 250",
                "comparison": "<",
                "target": 10.0,
            },
        ],
    },
    # Battelino 2019, pregnancy with type 1 diabetes: range 63-140.
    "pregnancy_t1": {
        "label": "Pregnancy, type 1",
        "range_low": 63,
        "range_high": 140,
        "goals": [
            {
                "key": "in_target_percent",
                "label": "Time in range 63-140",
                "comparison": ">",
                "target": 70.0,
            },
            {
                "key": "below_target_percent",
                "label": "Time below 63",
                "comparison": "<",
                "target": 4.0,
            },
            {"key": "very_low_percent", "label": "Time below 54", "comparison": "<", "target": 1.0},
            {
                "key": "above_target_percent",
                "label": "Time above 140",
                "comparison": "<",
                "target": 25.0,
            },
        ],
    },
}

# The consensus range goals and the plan-range metric each is read from when the plan's range
# is not 70-180 (evaluate_metrics; accounts.display labels them with the plan's limits).
PLAN_RANGE_KEYS = {
    "in_range_percent": "in_target_percent",
    "below_70_percent": "below_target_percent",
    "above_180_percent": "above_target_percent",
}

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def range_percents(values, low: float, high: float) -> dict[str, float | None]:
    """% of readings below `low`, in [low, high] (inclusive) and above `high`.

    >>> range_percents([60, 63, 100, 140, 141], 63, 140)
    {'below_target_percent': 20.0, 'in_target_percent': 60.0, 'above_target_percent': 20.0}
    """
    v = np.asarray(values, dtype="float64")
    v = v[~np.isnan(v)]
    if v.size == 0:
        return {
            "below_target_percent": None,
            "in_target_percent": None,
            "above_target_percent": None,
        }
    below = np.count_nonzero(v < low)
    above = np.count_nonzero(v > high)
    n = v.size
    return {
        "below_target_percent": 100.0 * below / n,
        "in_target_percent": 100.0 * (n - below - above) / n,
        "above_target_percent": 100.0 * above / n,
    }


def _derived(metrics: dict) -> dict:
    """Cumulative < 70 and > 180 from the band percents (what the consensus goals use)."""
    out = dict(metrics)
    vl, lo = metrics.get("very_low_percent"), metrics.get("low_percent")
    hi, vh = metrics.get("high_percent"), metrics.get("very_high_percent")
    out.setdefault("below_70_percent", None if vl is None or lo is None else vl + lo)
    out.setdefault("above_180_percent", None if hi is None or vh is None else hi + vh)
    return out


def evaluate_metrics(metrics: dict, targets: dict | str, times=None, values=None) -> list[dict]:
    """Each goal of `targets` (a preset name or dict) against `metrics` -> list of results.

    Range goals (in/below/above target) need `values` (mg/dL) when the range is not 70-180;
    for 70-180 they come from the band percents. With `values` and a range other than 70-180,
    the consensus keys (``in_range_percent``, ``below_70_percent``, ``above_180_percent``) are
    read against the plan's range too (``PLAN_RANGE_KEYS``). A goal whose value is missing has
    met=None.

    >>> [g["value"] for g in evaluate_metrics({"in_range_percent": 100.0}, {"range_low": 70,
    ...     "range_high": 141, "goals": [{"key": "in_range_percent", "comparison": ">",
    ...     "target": 70}]}, values=[100, 150, 160, 120])]
    [50.0]
    """
    preset = PRESETS[targets] if isinstance(targets, str) else targets
    known = _derived(metrics)
    low, high = preset.get("range_low", 70), preset.get("range_high", 180)
    if values is not None:
        known.update(range_percents(values, low, high))
    elif (low, high) == (70, 180):
        known.setdefault("in_target_percent", known.get("in_range_percent"))
        known.setdefault("below_target_percent", known.get("below_70_percent"))
        known.setdefault("above_target_percent", known.get("above_180_percent"))
    if (low, high) != (c.LOW_BELOW, c.HIGH_ABOVE) and known.get("in_target_percent") is not None:
        # A plan with its own range reads its range goals against that range, as triage ranks
        # them: "time in range" of a 70-141 plan is 70-141, not the consensus 70-180.
        for key, own in PLAN_RANGE_KEYS.items():
            known[key] = known[own]
    results = []
    for goal in preset["goals"]:
        value = known.get(goal["key"])
        # Decided on the value as shown (1 decimal), so a reader can check it from the page.
        met = display.goal_met(value, goal["comparison"], goal["target"])
        results.append(
            {
                "key": goal["key"],
                "label": goal.get("label", goal["key"]),
                "comparison": goal["comparison"],
                "target": goal["target"],
                # Unrounded: pages round once, with glycemia.display (no double rounding).
                "value": None if value is None else float(value),
                "met": met,
            }
        )
    return results


def evaluate(times, values, targets: dict | str, **metric_kwargs) -> list[dict]:
    """Compute CGM metrics of the readings and evaluate `targets` (see `evaluate_metrics`)."""
    from glycemia.metrics import cgm_metrics
    from glycemia.series import clean_series, local_ns

    metrics = cgm_metrics(times, values, exact=True, **metric_kwargs)
    t, v = clean_series(times, values)
    start, end = metrics["start"], metrics["end"]
    if start is not None and (metric_kwargs.get("start") or metric_kwargs.get("end")):
        days = (local_ns(t, metric_kwargs.get("tz", "UTC")) // 86_400_000_000_000).astype(
            "datetime64[D]"
        )
        keep = (days >= np.datetime64(start)) & (days <= np.datetime64(end))
        v = v[keep]
    return evaluate_metrics(metrics, targets, values=v)


# Which band of the five-band bar (very low, low, in range, high, very high) each goal key
# speaks for, and whether the goal counts the band alone or cumulatively with its neighbour
# ("< 70" covers low + very low).
GOAL_BANDS = {
    "in_range_percent": "in_range",
    "in_target_percent": "in_range",
    "below_70_percent": "low",
    "below_target_percent": "low",
    "low_percent": "low",
    "very_low_percent": "very_low",
    "above_180_percent": "high",
    "above_target_percent": "high",
    "high_percent": "high",
    "very_high_percent": "very_high",
}
CUMULATIVE_GOALS = frozenset(
    {"below_70_percent", "below_target_percent", "above_180_percent", "above_target_percent"}
)


def _subtract(a, b):
    return None if a is None or b is None else max(0.0, float(a) - float(b))


def band_rows(metrics: dict, targets: dict) -> list[dict]:
    """The five bands of the time-in-ranges bar *in the plan's own range*, top band first,
    each with its limits (mg/dL), % and the plan's goal for it (or None).

    For 70-180 the bands are the consensus ones. For another range (pregnancy 63-140) the
    middle band is the plan's range and its neighbours stretch to meet it: low 54 to the
    range's lower limit, high from its upper limit to 250, so the bar, its legend and the
    goals table show the same numbers. Needs ``in_target_percent`` / ``below_target_percent``
    / ``above_target_percent`` in `metrics` (a report's goals carry them) for such ranges.

    >>> [r["percent"] for r in band_rows({"very_low_percent": 1, "low_percent": 3,
    ...   "in_range_percent": 70, "high_percent": 20, "very_high_percent": 6}, PRESETS["standard"])]
    [6.0, 20.0, 70.0, 3.0, 1.0]
    """
    low, high = targets.get("range_low", 70), targets.get("range_high", 180)
    m = _derived(metrics)
    if (low, high) == (c.LOW_BELOW, c.HIGH_ABOVE) or m.get("in_target_percent") is None:
        low, high = int(c.LOW_BELOW), int(c.HIGH_ABOVE)
        percents = {
            "very_low": m.get("very_low_percent"),
            "low": m.get("low_percent"),
            "in_range": m.get("in_range_percent"),
            "high": m.get("high_percent"),
            "very_high": m.get("very_high_percent"),
        }
    else:
        percents = {
            "very_low": m.get("very_low_percent"),
            "low": _subtract(m.get("below_target_percent"), m.get("very_low_percent")),
            "in_range": m.get("in_target_percent"),
            "high": _subtract(m.get("above_target_percent"), m.get("very_high_percent")),
            "very_high": m.get("very_high_percent"),
        }
    limits = {
        "very_high": (c.VERY_HIGH_ABOVE, None),
        "high": (high, c.VERY_HIGH_ABOVE),
        "in_range": (low, high),
        "low": (c.VERY_LOW_BELOW, low),
        "very_low": (None, c.VERY_LOW_BELOW),
    }
    goals = {}
    for goal in targets.get("goals", []):
        band = GOAL_BANDS.get(goal["key"])
        if band and band not in goals:
            goals[band] = {**goal, "cumulative": goal["key"] in CUMULATIVE_GOALS}
    return [
        {
            "band": band,
            "low": limits[band][0],
            "high": limits[band][1],
            "percent": None if percents[band] is None else float(percents[band]),
            "goal": goals.get(band),
        }
        for band in ("very_high", "high", "in_range", "low", "very_low")
    ]


def sufficiency(*, days: int, period_days: int, active_percent: float | None) -> dict:
    """Enough CGM data for this report? Judged against the report's own period.

    The consensus asks for 14 days with >= 70 % CGM active (Battelino 2019). A weekly report
    (pregnancy plans report every 7 days) cannot span 14 days, so it is judged on its own
    period: all of its days, >= 70 % active. ``required_days`` says which rule was applied.

    >>> sufficiency(days=7, period_days=7, active_percent=92.0)
    {'sufficient': True, 'required_days': 7, 'required_active_percent': 70.0}
    """
    required = min(c.SUFFICIENT_DAYS, period_days)
    active = display.percent_value(active_percent) or 0.0
    return {
        "sufficient": bool(days >= required and active >= c.SUFFICIENT_ACTIVE_PERCENT),
        "required_days": required,
        "required_active_percent": c.SUFFICIENT_ACTIVE_PERCENT,
    }


# Finger-stick (SMBG) targets by meal tag, mg/dL, per preset.
# Standard: ADA Standards of Care 2024, 6.x: before meals (and fasting) 80-130, 1-2 h after
# the start of a meal < 180. Older / high-risk: ADA 13.x, complex or poor health: fasting and
# before meals 90-150. Pregnancy: ADA 15.x: fasting < 95, 1 h after a meal < 140.
METER_TARGETS: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "standard": {"fasting": (80, 130), "before_meal": (80, 130), "after_meal": (None, 180)},
    "older_high_risk": {"fasting": (90, 150), "before_meal": (90, 150), "after_meal": (None, 180)},
    "pregnancy_t1": {"fasting": (None, 95), "before_meal": (None, 95), "after_meal": (None, 140)},
}
METER_TAGS = ("fasting", "before_meal", "after_meal")


def meter_targets(targets: dict) -> dict[str, tuple[float | None, float | None]]:
    """The finger-stick targets of a plan: its own if it has ``meter_targets``, else those of
    its preset (a custom plan with a range up to 140 is treated as pregnancy)."""
    own = targets.get("meter_targets")
    if own:
        return {tag: tuple(own[tag]) for tag in METER_TAGS if tag in own}
    preset = targets.get("preset")
    if preset not in METER_TARGETS:
        preset = "pregnancy_t1" if targets.get("range_high", 180) <= 140 else "standard"
    return METER_TARGETS[preset]


def evaluate_meter(metrics: dict, targets: dict) -> list[dict]:
    """Average finger-stick glucose per meal tag (fasting, before meal, after meal) against the
    plan's targets, each ``{"key", "tag", "low", "high", "value", "readings", "met"}``; met is
    decided on the mean rounded to whole mg/dL (None without readings).

    >>> evaluate_meter({"by_meal_tag": {"fasting": {"readings": 7, "mean_mg_dl": 141.2}}},
    ...                PRESETS["standard"])[0]["met"]
    False
    """
    by_tag = metrics.get("by_meal_tag") or {}
    out = []
    for tag, (low, high) in meter_targets(targets).items():
        row = by_tag.get(tag) or {}
        value = row.get("mean_mg_dl")
        shown = display.rounded(value, 0)
        met = None
        if shown is not None:
            met = (low is None or shown >= low) and (high is None or shown <= high)
        out.append(
            {
                "key": f"{tag}_mean_mg_dl",
                "tag": tag,
                "low": low,
                "high": high,
                "value": value,
                "readings": row.get("readings", 0),
                "met": met,
            }
        )
    return out
