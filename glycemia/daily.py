"""Per-day, per-hour and day/night breakdowns (local time in `tz`).

Night is 00:00-06:00 local (hours 0-5), day 06:00-24:00, as iglu's day/night split and the
AGP report use.
"""

from __future__ import annotations

import numpy as np

from glycemia import constants as c
from glycemia.metrics import BAND_KEYS, ROUNDING, band_counts_of_runs, cgm_metrics
from glycemia.series import NS_PER_DAY, NS_PER_MINUTE, clean_series, day_iso, local_ns


def _group_stats(
    keys: np.ndarray, v: np.ndarray, exact: bool, *, median: bool = False
) -> list[tuple[int, dict]]:
    """Summary per distinct key (sorted); groups are days/hours.
    ``median``: each group's median too (a median depends only on the group's values, not
    on their order).

    What does not depend on the order of the additions (band counts, min, max, the median,
    the deviations, the rounding) is computed for all groups at once; each group's two sums
    stay numpy's own pairwise sums of that group (``x.mean()``, ``np.std(x, ddof=1)``: the
    same floats), so the rows are those of one numpy pass per group, in a fraction of the
    calls (#23)."""
    order = np.argsort(keys, kind="stable")  # each group's readings in their own order
    keys, v = keys[order], v[order]
    uniq, starts = np.unique(keys, return_index=True)
    bounds = np.append(starts, keys.size)
    sizes = np.diff(bounds)
    ends = bounds[1:]
    # Each group's mean as ``x.mean()`` computes it: its own pairwise sum over its size.
    means = np.array([v[a:b].sum() for a, b in zip(starts.tolist(), ends.tolist(), strict=True)])
    means = means / sizes
    # np.std(x, ddof=1): squared deviations from the group's mean, their pairwise sum.
    deviations = v - np.repeat(means, sizes)
    deviations *= deviations
    squares = [deviations[a:b].sum() for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    sds = np.sqrt(np.array(squares) / np.maximum(sizes - 1, 1))
    columns = {
        "readings": sizes,
        "mean_mg_dl": means,
        "sd_mg_dl": sds,
        "min_mg_dl": np.minimum.reduceat(v, starts),
        "max_mg_dl": np.maximum.reduceat(v, starts),
        **{
            k: 100.0 * counts / sizes
            for k, counts in zip(BAND_KEYS, band_counts_of_runs(v, starts), strict=True)
        },
    }
    if not exact:
        for key, column in columns.items():
            if key in ROUNDING:
                columns[key] = np.round(column, ROUNDING[key])
    if median:  # np.median: the middle value, or the mean of the middle two
        medians = []
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            x, half = np.sort(v[a:b]), (b - a) // 2
            medians.append(float(x[half] if (b - a) % 2 else (x[half - 1] + x[half]) / 2))
        columns["median_mg_dl"] = medians if exact else [round(m, 1) for m in medians]
    names = list(columns)
    lists = [c if isinstance(c, list) else c.tolist() for c in columns.values()]
    out = []
    for i, key in enumerate(uniq.tolist()):
        row = {k: column[i] for k, column in zip(names, lists, strict=True)}
        if row["readings"] == 1:
            row["sd_mg_dl"] = None
        row["tir"] = row["in_range_percent"]
        if median:
            row["median_mg_dl"] = row.pop("median_mg_dl")  # after "tir", as before
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
