"""Finger-stick (SMBG) summaries. Never CGM metrics: sparse readings cannot give time in range,
AGP or GMI. Percentages count readings against the target (default 70-180 inclusive).
"""

from __future__ import annotations

import numpy as np

from glycemia import constants as c
from glycemia.series import NS_PER_DAY, as_ns, day_iso, local_ns, parse_date

MEAL_TAGS = ("fasting", "before_meal", "after_meal", "bedtime", "untagged")


def _tag(tag) -> str:
    if tag is None or (isinstance(tag, float) and np.isnan(tag)) or tag == "":
        return "untagged"
    tag = str(tag)
    return tag if tag in MEAL_TAGS else "untagged"


def meter_metrics(
    times,
    values,
    meal_tags=None,
    *,
    tz: str = "UTC",
    start=None,
    end=None,
    target_low: float = 70,
    target_high: float = 180,
    schedule: int | dict | None = None,
) -> dict:
    """SMBG summary over local dates [start, end] (default: span of the data).

    `schedule`: expected readings per day (int), or per tag per day ({"fasting": 1, ...});
    `adherence_percent` is the % of days in the window meeting it (None without schedule).
    """
    t = as_ns(times)
    v = np.asarray(values, dtype="float64")
    tags = np.array(
        [_tag(x) for x in (meal_tags if meal_tags is not None else [None] * t.size)],
        dtype=object,
    )
    ok = ~np.isnan(v)
    t, v, tags = t[ok], v[ok], tags[ok]
    days = local_ns(t, tz) // NS_PER_DAY
    first = parse_date(start) if start is not None else (int(days.min()) if days.size else None)
    last = parse_date(end) if end is not None else (int(days.max()) if days.size else None)
    if first is not None and last is not None:
        keep = (days >= first) & (days <= last)
        t, v, tags, days = t[keep], v[keep], tags[keep], days[keep]
    n = int(v.size)
    ndays = 0 if first is None or last is None else max(0, last - first + 1)
    out: dict = {
        "kind": "smbg",
        "start": None if first is None else day_iso(first),
        "end": None if last is None else day_iso(last),
        "readings": n,
        "days": ndays,
        "readings_per_day": round(n / ndays, 2) if ndays else None,
        "mean_mg_dl": round(float(v.mean()), 1) if n else None,
        "sd_mg_dl": round(float(v.std(ddof=1)), 1) if n > 1 else None,
        "cv_percent": round(100 * float(v.std(ddof=1)) / float(v.mean()), 2) if n > 1 else None,
        "min_mg_dl": float(v.min()) if n else None,
        "max_mg_dl": float(v.max()) if n else None,
        "in_target_percent": (
            round(100.0 * int(np.count_nonzero((v >= target_low) & (v <= target_high))) / n, 2)
            if n
            else None
        ),
        "below_70": int(np.count_nonzero(v < c.LOW_BELOW)),
        "below_54": int(np.count_nonzero(v < c.VERY_LOW_BELOW)),
        "target_low": target_low,
        "target_high": target_high,
    }
    by_tag = {}
    for tag in MEAL_TAGS:
        x = v[tags == tag]
        by_tag[tag] = {
            "readings": int(x.size),
            "mean_mg_dl": round(float(x.mean()), 1) if x.size else None,
        }
    out["by_meal_tag"] = by_tag
    out["adherence_percent"] = _adherence(days, tags, first, ndays, schedule)
    return out


def _adherence(days, tags, first, ndays, schedule) -> float | None:
    if schedule is None or not ndays:
        return None
    offsets = (days - first).astype("int64")
    if isinstance(schedule, dict):
        met = np.ones(ndays, dtype=bool)
        for tag, per_day in schedule.items():
            counts = np.bincount(offsets[tags == tag], minlength=ndays)
            met &= counts >= per_day
    else:
        met = np.bincount(offsets, minlength=ndays) >= int(schedule)
    return round(100.0 * int(np.count_nonzero(met)) / ndays, 2)
