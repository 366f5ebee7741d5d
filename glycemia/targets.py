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
    for 70-180 they come from the band percents. A goal whose value is missing has met=None.
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
    results = []
    for goal in preset["goals"]:
        value = known.get(goal["key"])
        met = None if value is None else bool(_COMPARE[goal["comparison"]](value, goal["target"]))
        results.append(
            {
                "key": goal["key"],
                "label": goal.get("label", goal["key"]),
                "comparison": goal["comparison"],
                "target": goal["target"],
                "value": None if value is None else round(float(value), 2),
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
