"""CGM metrics: the DESIGN §5 object, computed the way R iglu computes them.

Conventions (iglu 4.3.0, the implementation the field cites): percentages count readings;
bands have exact bounds (very low < 54 <= low < 70 <= in range <= 180 < high <= 250 < very
high); SD is the sample SD (n - 1); LBGI/HBGI average the Kovatchev risk over ALL readings;
GRI uses the five bands; MAGE is iglu's moving-average algorithm (see `glycemia.mage`).

Window: `start`/`end` are local dates (inclusive) in `tz`. When both are None the window is
the span of the data: `days` counts the local dates from the first to the last reading and
active % = distinct interval slots / (round(span / interval) + 1). When a date is given the
window is whole local days (DST days have 23 or 25 hours) and active % = distinct interval
slots / (window minutes / interval). Both are capped at 100. The interval is each local
day's own (DESIGN §3, `series.day_wear`): a day of a 5-minute sensor expects 288 readings, a
day of a 15-minute one 96, and days without readings the interval most readings were taken
at (`series.window_interval`, also the `interval_minutes` reported and used for events).

Rounding: percentages and indices to 2 decimals, mg/dL to 1; `exact=True` returns unrounded
floats (used to check against reference values).
"""

from __future__ import annotations

import math

import numpy as np

from glycemia import constants as c
from glycemia.agp import _agp_dict
from glycemia.events import glycemic_events
from glycemia.mage import MAGE_ALGORITHM, mage
from glycemia.series import (
    NS_PER_DAY,
    NS_PER_MINUTE,
    clean_series,
    day_iso,
    day_minutes,
    day_wear,
    local_day_numbers,
    local_midnight_ns,
    local_ns,
    parse_date,
    sample_sd,
    window_interval,
)

# The summary keys: what the daily rollups can give without raw readings (rollups.py).
SUMMARY_KEYS = (
    "readings",
    "days",
    "active_percent",
    "mean_mg_dl",
    "sd_mg_dl",
    "cv_percent",
    "gmi_percent",
    "very_low_percent",
    "low_percent",
    "in_range_percent",
    "high_percent",
    "very_high_percent",
    "tight_range_percent",
    "gri",
    "gri_zone",
    "lbgi",
    "hbgi",
)
# Band percentages, in the order of `band_counts`.
BAND_KEYS = SUMMARY_KEYS[7:13]
# DESIGN §5: every key of the metrics object.
METRIC_KEYS = SUMMARY_KEYS + ("mage", "hypo_events", "hyper_events", "agp")

# Output precision per key (decimals); keys not listed are not floats.
ROUNDING = {
    "active_percent": 2,
    "mean_mg_dl": 1,
    "sd_mg_dl": 1,
    "cv_percent": 2,
    "gmi_percent": 2,
    "very_low_percent": 2,
    "low_percent": 2,
    "in_range_percent": 2,
    "high_percent": 2,
    "very_high_percent": 2,
    "tight_range_percent": 2,
    "gri": 2,
    "lbgi": 2,
    "hbgi": 2,
    "mage": 1,
}


def kovatchev_risk(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(low risk, high risk) per reading: 22.77 * (ln(g)^1.084 - 5.381)^2 on one side."""
    f = np.log(values) ** c.KOVATCHEV_EXPONENT - c.KOVATCHEV_SHIFT
    risk = c.KOVATCHEV_SCALE * f * f
    return np.where(f < 0, risk, 0.0), np.where(f > 0, risk, 0.0)


# Kovatchev risks of the whole mg/dL values 0 .. 1023 (0 stands in for 1, never looked up),
# computed once by `kovatchev_risk` itself: sensors report whole mg/dL, and a lookup gives
# each reading the same float as the log and the power would (numpy's ufuncs work element by
# element; test_metrics.py checks it on the machine's own SIMD paths) in a third of the time.
_RISK_TABLE = kovatchev_risk(np.arange(1024, dtype="float64").clip(1))


def whole_mg_dl(
    values: np.ndarray, lowest: float | None = None, highest: float | None = None
) -> np.ndarray | None:
    """The values as int64 when every one is a whole mg/dL from 1 to 1023 (what sensors
    report), else None: the risk table's domain, checked once per series (`cgm_metrics`
    hands it to the AGP as well). ``lowest``/``highest``: the values' min and max when the
    caller has them."""
    if not values.size:
        return None
    if lowest is None or highest is None:
        lowest, highest = values.min(), values.max()
    if lowest >= 1 and highest < _RISK_TABLE[0].size:
        whole = values.astype("int64")
        if (whole == values).all():
            return whole
    return None


def risks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`kovatchev_risk`, by table lookup when every value is a whole mg/dL from 1 to 1023."""
    whole = whole_mg_dl(values)
    if whole is not None:
        return _RISK_TABLE[0].take(whole), _RISK_TABLE[1].take(whole)
    return kovatchev_risk(values)


def _band_masks(v: np.ndarray) -> tuple[np.ndarray, ...]:
    """(< 54, < 70, > 180, > 250, 70-140) per value: the DESIGN §5 bounds, in one place."""
    return (
        v < c.VERY_LOW_BELOW,
        v < c.LOW_BELOW,
        v > c.HIGH_ABOVE,
        v > c.VERY_HIGH_ABOVE,
        (v >= c.TIGHT_LOW) & (v <= c.TIGHT_HIGH),
    )


def band_counts(v: np.ndarray) -> tuple[int, int, int, int, int, int]:
    """Counts (very low, low, in range, high, very high, tight 70-140) with DESIGN §5 bounds."""
    return _bands(v.size, *(int(np.count_nonzero(mask)) for mask in _band_masks(v)))


# Whole mg/dL values below / at most each cut-off: the last whole value inside each band
# (v < 54 is w <= 53, v > 180 is w > 180, 70 <= v <= 140 is 69 < w <= 140).
_WHOLE_CUTS = np.array(
    [
        math.ceil(c.VERY_LOW_BELOW) - 1,
        math.ceil(c.LOW_BELOW) - 1,
        math.floor(c.HIGH_ABOVE),
        math.floor(c.VERY_HIGH_ABOVE),
        math.ceil(c.TIGHT_LOW) - 1,
        math.floor(c.TIGHT_HIGH),
    ]
)
_WHOLE_MINLENGTH = int(_WHOLE_CUTS.max()) + 1


# Per whole value 0 .. 1023: the value itself and its low and high Kovatchev risk. The
# histogram of a series' whole values times these rows gives the sum of its values and of
# its risks at once (#23).
_SUM_ROWS = np.stack([np.arange(float(_RISK_TABLE[0].size)), *_RISK_TABLE])


def whole_sums(whole: np.ndarray) -> tuple[tuple, float, float, float]:
    """(band counts, sum of the values, sum of the low risks, sum of the high risks) of whole
    mg/dL values (`whole_mg_dl`), all from one histogram instead of a comparison per cut-off
    and a sum over every reading: the counts at or below each cut-off are read off its
    running sum, the sums are counts times the table's rows.

    The sum of the values is exact either way (whole numbers far below 2**53), so it is the
    float ``values.sum()`` gives. The risk sums add each distinct value's risk times its count
    instead of every reading's risk one by one: the same sum to within a few units in the
    last place (~1e-15 relative), as the rollup path's grouped sums are.

    >>> whole_sums(np.array([50, 60, 100, 200, 300]))[:2]
    ((1, 1, 1, 1, 1, 1), 710.0)
    """
    histogram = np.bincount(whole, minlength=_WHOLE_MINLENGTH)
    total, low_risk, high_risk = (_SUM_ROWS[:, : histogram.size] @ histogram).tolist()
    at_most = histogram.cumsum()
    vlow, below70, upto180, upto250, below_tight, upto_tight = at_most[_WHOLE_CUTS].tolist()
    n = whole.size
    counts = _bands(n, vlow, below70, n - upto180, n - upto250, upto_tight - below_tight)
    return counts, total, low_risk, high_risk


def band_counts_of_runs(v: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, ...]:
    """``band_counts`` of each run ``v[starts[i]:starts[i + 1]]`` (the last to the end; runs
    not empty), as six int64 arrays: every day or hour of a series in one pass.

    >>> [a.tolist() for a in band_counts_of_runs(np.array([50.0, 100, 200, 300]), [0, 2])]
    [[1, 0], [0, 0], [1, 0], [0, 1], [0, 1], [1, 0]]
    """
    return _bands(
        np.diff(np.append(starts, v.size)),
        *(np.add.reduceat(mask.view(np.int8), starts, dtype=np.int64) for mask in _band_masks(v)),
    )


def _bands(n, n_vlow, n_below70, n_above180, n_vhigh, n_tight) -> tuple:
    """The six band counts from the counts below/above the cut-offs (ints or arrays)."""
    return (
        n_vlow,
        n_below70 - n_vlow,
        n - n_below70 - n_above180,
        n_above180 - n_vhigh,
        n_vhigh,
        n_tight,
    )


def gri_value(vlow: float, low: float, high: float, vhigh: float) -> float:
    """Glycemia Risk Index from band percentages (Klonoff 2023), capped at 100.

    >>> gri_value(1.0, 2.0, 10.0, 2.0)  # 3*1 + 2.4*2 + 0.8*10 + 1.6*2
    19.0
    """
    raw = (
        c.GRI_WEIGHT_VERY_LOW * vlow
        + c.GRI_WEIGHT_LOW * low
        + c.GRI_WEIGHT_VERY_HIGH * vhigh
        + c.GRI_WEIGHT_HIGH * high
    )
    return min(raw, c.GRI_CAP)


def gri_zone(gri: float | None) -> str | None:
    """A 0-20, B over 20-40, C over 40-60, D over 60-80, E over 80 (Klonoff 2023)."""
    if gri is None:
        return None
    for upper, zone in c.GRI_ZONES:
        if gri <= upper:
            return zone
    return c.GRI_ZONE_TOP


def gmi_value(mean: float | None) -> float | None:
    return None if mean is None else c.GMI_INTERCEPT + c.GMI_SLOPE * mean


def summary_from_sums(n, total, sum_sq, counts, rl_sum, rh_sum, *, sd=None) -> dict:
    """The additive part of the metrics (shared with the rollup path)."""
    out = {"readings": int(n)}
    if n == 0:
        for key in SUMMARY_KEYS:
            if key not in ("readings", "days", "active_percent"):
                out[key] = None
        return out
    mean = total / n
    if sd is None and n > 1:
        sd = math.sqrt(max(sum_sq - total * total / n, 0.0) / (n - 1))
    vlow, low, in_range, high, vhigh, tight = (100.0 * k / n for k in counts)
    gri = gri_value(vlow, low, high, vhigh)
    out.update(
        mean_mg_dl=mean,
        sd_mg_dl=sd,
        cv_percent=None if sd is None or mean == 0 else 100.0 * sd / mean,
        gmi_percent=gmi_value(mean),
        very_low_percent=vlow,
        low_percent=low,
        in_range_percent=in_range,
        high_percent=high,
        very_high_percent=vhigh,
        tight_range_percent=tight,
        gri=gri,
        gri_zone=gri_zone(gri),
        lbgi=rl_sum / n,
        hbgi=rh_sum / n,
    )
    return out


def summary(v: np.ndarray, whole: np.ndarray | None | bool = True) -> dict:
    """Additive metrics of clean values (mean, SD, bands, GRI, LBGI/HBGI).
    ``whole``: `whole_mg_dl(v)` when the caller has it (True: find it here)."""
    n = v.size
    if n == 0:
        return summary_from_sums(0, 0.0, 0.0, (0,) * 6, 0.0, 0.0)
    if whole is True:
        whole = whole_mg_dl(v)
    if whole is None:
        rl, rh = kovatchev_risk(v)
        counts, total, low_risk, high_risk = band_counts(v), float(v.sum()), rl.sum(), rh.sum()
    else:
        counts, total, low_risk, high_risk = whole_sums(whole)
    sd = sample_sd(v, total) if n > 1 else None
    return summary_from_sums(n, total, 0.0, counts, float(low_risk), float(high_risk), sd=sd)


def round_metrics(metrics: dict) -> dict:
    """Round the float keys in place (np.round, as pandas rounds), in one vectorized call."""
    keys = [k for k in ROUNDING if metrics.get(k) is not None]
    if not keys:
        return metrics
    values = np.array([float(metrics[k]) for k in keys])
    for digits in set(ROUNDING[k] for k in keys):
        pick = np.array([ROUNDING[k] == digits for k in keys])
        values[pick] = np.round(values[pick], digits)
    for key, value in zip(keys, values.tolist(), strict=True):
        metrics[key] = value
    return metrics


def resolve_window(local: np.ndarray, tz: str, start, end):
    """(first day, last day, window start ns, window end ns, span mode) for the request."""
    start_day, end_day = parse_date(start), parse_date(end)
    span_mode = start_day is None and end_day is None
    if local.size and (start_day is None or end_day is None):
        days = local_day_numbers(local[[0, -1]])
        start_day = int(days[0]) if start_day is None else start_day
        end_day = int(days[1]) if end_day is None else end_day
    if start_day is None or end_day is None or end_day < start_day:
        return start_day, end_day, None, None, span_mode
    lo = local_midnight_ns(start_day, tz)
    hi = local_midnight_ns(end_day + 1, tz)
    return start_day, end_day, lo, hi, span_mode


def _distinct_sorted(x: np.ndarray) -> int:
    """Number of distinct values of a sorted array (no hashing, no sort)."""
    return 0 if x.size == 0 else 1 + int(np.count_nonzero(x[1:] != x[:-1]))


def active_percent(t: np.ndarray, interval: int, lo, hi, span_mode: bool) -> float | None:
    """Distinct interval slots with a reading / expected readings x 100, capped at 100.

    `t` is sorted (clean_series), so the slot numbers are too and distinct slots are counted
    as changes between neighbours.
    """
    step = interval * NS_PER_MINUTE
    if span_mode:
        if t.size == 0:
            return None
        expected = round((t[-1] - t[0]) / step) + 1
        slots = _distinct_sorted(np.rint((t - t[0]) / step))
    else:
        if lo is None or hi <= lo:
            return None
        expected = (hi - lo) / step
        slots = _distinct_sorted((t - lo) // step)
    return min(100.0, 100.0 * slots / expected)


def active_percent_by_day(
    t: np.ndarray, local: np.ndarray, tz: str, lo, hi, span_mode: bool, days=None
) -> tuple[float | None, int]:
    """(active %, window interval): each local day's slots at its own interval (issue #17).

    Expected readings are each day's minutes in the window at that day's interval
    (`day_wear`), and the window's days without readings at the interval most readings were
    taken at (`window_interval`, also returned). With one interval on every day this is
    `active_percent` exactly: a whole-days window expects window minutes / interval, the
    span of the data round(span / interval) + 1. ``days``: local // day when the caller has
    them (`cgm_metrics` shares them with the AGP).

    >>> active_percent_by_day(t, local, "UTC", lo, hi, False)  # doctest: +SKIP
    (92.97, 5)
    """
    local_days = local // NS_PER_DAY if days is None else days
    days, counts, intervals, slots = day_wear(t, local, tz, local_days)
    interval = window_interval(intervals, counts)
    if span_mode:
        if t.size == 0:
            return None, interval
        starts = np.array([local_midnight_ns(int(d), tz) for d in days], dtype="int64")
        ends = np.array([local_midnight_ns(int(d) + 1, tz) for d in days], dtype="int64")
        overlap = np.clip(np.minimum(ends, t[-1]) - np.maximum(starts, t[0]), 0, None)
        uncovered = (t[-1] - t[0]) - overlap.sum()
        steps = intervals * NS_PER_MINUTE
        expected = round(float((overlap / steps).sum() + uncovered / (interval * NS_PER_MINUTE)))
        expected += 1
        step = intervals[np.searchsorted(days, local_days)] * NS_PER_MINUTE
        slot = np.rint((t - t[0]) / step).astype("int64")
        filled = np.unique(slot * 16 + step // NS_PER_MINUTE).size  # per interval, distinct
        return min(100.0, 100.0 * filled / expected), interval
    if lo is None or hi <= lo:
        return None, interval
    minutes = day_minutes(days, tz)
    expected = float((minutes / intervals).sum()) + ((hi - lo) / NS_PER_MINUTE - minutes.sum()) / (
        interval
    )
    return min(100.0, 100.0 * int(slots.sum()) / expected), interval


def cgm_metrics(
    times,
    values,
    *,
    tz: str = "UTC",
    start=None,
    end=None,
    interval_minutes: int | None = None,
    agp_bin_minutes: int = 60,
    exact: bool = False,
    full: bool = True,
) -> dict:
    """DESIGN §5 metrics of CGM readings (UTC instants, mg/dL) in local-date window [start, end].

    ``full=False`` leaves out MAGE and the AGP (``None``): for a part of a trace, such as the
    nights only, a moving-average MAGE across the daily gaps means nothing, and both cost most.

    >>> m = cgm_metrics(times, values, tz="Europe/Bucharest", start="2024-05-01", end="2024-05-14")
    >>> m["in_range_percent"], m["gri_zone"], m["sufficient"]  # doctest: +SKIP
    (72.35, 'B', True)
    """
    t, v = clean_series(times, values)
    local = local_ns(t, tz)
    start_day, end_day, lo, hi, span_mode = resolve_window(local, tz, start, end)
    if lo is not None and not span_mode and t.size and (t[0] < lo or t[-1] >= hi):
        # t is sorted: the readings in [lo, hi) are one slice
        first, end = t.searchsorted([lo, hi]).tolist()
        t, v, local = t[first:end], v[first:end], local[first:end]
    # the extremes: the risk table's domain and which kinds of events can occur
    lowest, highest = (float(v.min()), float(v.max())) if v.size else (None, None)
    whole = whole_mg_dl(v, lowest, highest)
    local_days = local // NS_PER_DAY  # day wear and the AGP's clock both need them
    out = summary(v, whole)
    days = 0 if start_day is None or end_day is None else max(0, end_day - start_day + 1)
    out["days"] = days
    if interval_minutes:  # one interval given for the whole window
        interval = int(interval_minutes)
        out["active_percent"] = active_percent(t, interval, lo, hi, span_mode)
    else:  # each day's own (DESIGN §3), and the window's for events
        out["active_percent"], interval = active_percent_by_day(
            t, local, tz, lo, hi, span_mode, local_days
        )
    no_mage = {"mage": None, "mage_plus": None, "mage_minus": None}
    mage_values = mage(t, v, tz, int(local[0]) if local.size else None) if full else no_mage
    out["mage"] = mage_values["mage"]
    # both kinds of events at once, and only the runs some reading reaches
    out["hypo_events"], out["hyper_events"] = (
        glycemic_events(t, v, interval, lowest, highest) if v.size else ([], [])
    )
    out["agp"] = (
        _agp_dict(
            t,
            v,
            tz=tz,
            bin_minutes=agp_bin_minutes,
            smooth=True,
            local=local,
            whole=whole,
            days=local_days,
        )
        if full
        else None
    )
    result = {key: out[key] for key in METRIC_KEYS}
    result.update(
        kind="cgm",
        start=None if start_day is None else day_iso(start_day),
        end=None if end_day is None else day_iso(end_day),
        interval_minutes=interval,
        sufficient=bool(
            days >= c.SUFFICIENT_DAYS
            and (out["active_percent"] or 0.0) >= c.SUFFICIENT_ACTIVE_PERCENT
        ),
        mage_algorithm=MAGE_ALGORITHM,
    )
    if exact:
        result["mage_plus"] = mage_values["mage_plus"]
        result["mage_minus"] = mage_values["mage_minus"]
        return result
    return round_metrics(result)
