"""Per-day, per-hour and day/night breakdowns (local time in `tz`).

Night is 00:00-06:00 local (hours 0-5), day 06:00-24:00, as iglu's day/night split and the
AGP report use.
"""

from __future__ import annotations

import numpy as np

from glycemia import constants as c
from glycemia.metrics import BAND_KEYS, band_counts, cgm_metrics, round_metrics
from glycemia.series import NS_PER_DAY, NS_PER_MINUTE, clean_series, day_iso, local_ns


def _group_stats(
    keys: np.ndarray, v: np.ndarray, exact: bool, *, median: bool = False
) -> list[tuple[int, dict]]:
    """Summary per distinct key (sorted). One numpy pass per group; groups are days/hours.
    ``median``: each group's median too (a median depends only on the group's values, not
    on their order)."""
    order = np.argsort(keys, kind="stable")
    keys, v = keys[order], v[order]
    uniq, starts = np.unique(keys, return_index=True)
    bounds = np.append(starts, keys.size)
    out = []
    for i, key in enumerate(uniq.tolist()):
        x = v[bounds[i] : bounds[i + 1]]
        n = x.size
        counts = band_counts(x)
        row = {
            "readings": n,
            "mean_mg_dl": float(x.mean()),
            "sd_mg_dl": float(x.std(ddof=1)) if n > 1 else None,
            "min_mg_dl": float(x.min()),
            "max_mg_dl": float(x.max()),
            **{k: 100.0 * cnt / n for k, cnt in zip(BAND_KEYS, counts, strict=True)},
        }
        row["tir"] = row["in_range_percent"]
        if not exact:
            round_metrics(row)
            row["tir"] = row["in_range_percent"]
        if median:
            row["median_mg_dl"] = float(np.median(x)) if exact else round(float(np.median(x)), 1)
        out.append((key, row))
    return out


def daily_stats(times, values, *, tz: str = "UTC", exact: bool = False) -> list[dict]:
    """One dict per local date with readings: date, readings, mean, sd, min, max, bands, tir.

    >>> daily_stats(times, values, tz="UTC")[0]["date"]  # doctest: +SKIP
    '2016-10-24'
    """
    t, v = clean_series(times, values)
    if t.size == 0:
        return []
    days = local_ns(t, tz) // NS_PER_DAY
    return [{"date": day_iso(d), **row} for d, row in _group_stats(days, v, exact)]


def hourly_stats(times, values, *, tz: str = "UTC", exact: bool = False) -> list[dict]:
    """One dict per local clock hour (0-23) that has readings, pooled over all days."""
    t, v = clean_series(times, values)
    if t.size == 0:
        return []
    hours = (local_ns(t, tz) % NS_PER_DAY) // (60 * NS_PER_MINUTE)
    # The median from the groups already cut (not a mask over the whole series per hour).
    rows = _group_stats(hours, v, exact, median=True)
    return [{"hour": int(h), **row} for h, row in rows]


def day_night_split(times, values, *, tz: str = "UTC", exact: bool = False, **kwargs) -> dict:
    """{"night": metrics 00:00-06:00 local, "day": metrics 06:00-24:00} (§5 keys; no AGP,
    and no MAGE: a moving-average MAGE over a trace cut into daily pieces means nothing).

    Extra keyword arguments (start, end, interval_minutes) go to `cgm_metrics`; active % is
    relative to the whole window, so it is the share of all expected readings each part has.
    """
    t, v = clean_series(times, values)
    hours = (local_ns(t, tz) % NS_PER_DAY) // (60 * NS_PER_MINUTE)
    night = (hours >= c.NIGHT_START_HOUR) & (hours < c.NIGHT_END_HOUR)
    out = {}
    for name, mask in (("night", night), ("day", ~night)):
        metrics = cgm_metrics(t[mask], v[mask], tz=tz, exact=exact, full=False, **kwargs)
        metrics.pop("agp")
        metrics["part"] = name
        out[name] = metrics
    return out
