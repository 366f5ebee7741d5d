"""glycemia/series.py day_wear and window_interval as of main 8a517f1 (#23), frozen: the
reference the differential tests in test_series_before.py compare the faster versions with.

Copied unchanged below this docstring (clean_series and the functions day_wear needs) except
for imports.
"""

import numpy as np
import pandas as pd

from glycemia.constants import DEVICE_INTERVALS
from glycemia.series import (
    NS_PER_DAY,
    NS_PER_MINUTE,
    as_ns,
    distinct_slots,  # unchanged since 8a517f1: not copied
    is_utc,
    local_midnight_ns,
    snap_interval,
)


def _day_intervals(gaps: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per run of readings [start, end): the median of its gaps snapped (`snap_interval`),
    5 for a run of one reading; `gaps` is np.diff of the times.

    Only which side of 3 and 10 minutes the median falls on matters, so it is decided by
    counting gaps below each limit (`_median_below`'s rule, for every run at once); a run with
    an even number of gaps exactly half below a limit takes np.median itself.
    """
    ngaps = ends - starts - 1  # a run's gaps are gaps[start : end - 1]
    half = ngaps // 2
    ambiguous = np.zeros(ngaps.size, dtype=bool)
    below = []
    for limit in (3 * NS_PER_MINUTE, 10 * NS_PER_MINUTE):
        running = np.concatenate(([0], np.cumsum(gaps < limit)))
        k = running[np.maximum(ends - 1, starts)] - running[starts]
        below.append(k > half)
        ambiguous |= (ngaps % 2 == 0) & (k == half) & (ngaps > 0)
    intervals = np.where(
        below[0], DEVICE_INTERVALS[0], np.where(below[1], DEVICE_INTERVALS[1], DEVICE_INTERVALS[2])
    ).astype("int64")
    intervals[ngaps <= 0] = DEVICE_INTERVALS[1]
    for i in np.flatnonzero(ambiguous).tolist():
        intervals[i] = snap_interval(np.median(gaps[starts[i] : ends[i] - 1]))
    return intervals


def day_wear(t: np.ndarray, local: np.ndarray, tz: str):
    """Per local day with readings: (day numbers, readings, interval minutes, slots).

    DESIGN §3: each day has its own sampling interval, so a switch from a 5-minute to a
    15-minute sensor keeps wear right (issue #17). A day's interval is the median spacing of
    its consecutive readings snapped to 1, 5 or 15 minutes (`detect_interval`'s rule; 5 for
    a day with one reading); its slots are the distinct intervals since its local midnight
    holding a reading (two readings of one slot, say one sensor through two apps, count
    once). `t` is sorted (`clean_series`), `local` its local wall-clock ns in `tz`.
    The rollups store both per day (`glycemia.rollups.daily_wear`), so the rollup path and
    the raw path count wear the same way.

    >>> day_wear(t, local_ns(t, "UTC"), "UTC")  # doctest: +SKIP
    (array([19723]), array([288]), array([5]), array([288]))
    """
    if t.size == 0:
        empty = np.zeros(0, dtype="int64")
        return empty, empty, empty, empty
    days = local // NS_PER_DAY
    step = np.diff(days)
    if (step >= 0).all():  # the usual case: no local date steps back, days are runs
        starts = np.flatnonzero(np.concatenate(([True], step > 0)))
        unique_days = days[starts]
        group = np.repeat(np.arange(starts.size), np.diff(np.append(starts, days.size)))
        intervals = _day_intervals(np.diff(t), starts, np.append(starts[1:], days.size))
    else:
        unique_days, group = np.unique(days, return_inverse=True)
        intervals = np.full(unique_days.size, DEVICE_INTERVALS[1], dtype="int64")
        same = group[1:] == group[:-1]
        if same.any():
            medians = pd.Series(np.diff(t)[same]).groupby(group[1:][same]).median()
            intervals[medians.index.to_numpy()] = snap_interval(medians.to_numpy())
    counts = np.bincount(group, minlength=unique_days.size)
    if is_utc(tz):
        midnights = unique_days * NS_PER_DAY
    else:
        midnights = np.array([local_midnight_ns(int(d), tz) for d in unique_days], dtype="int64")
    slot = (t - midnights[group]) // (intervals[group] * NS_PER_MINUTE)
    slots = distinct_slots(group, slot, unique_days.size)
    return unique_days, counts, intervals, slots


def window_interval(intervals, counts) -> int:
    """The interval most readings were taken at: the count-weighted median of days' intervals
    (the lower one on a tie). Days of a window without readings are expected at it.

    >>> window_interval([5, 15], [2016, 672]), window_interval([5, 15], [100, 300])
    (5, 15)
    """
    intervals = np.asarray(intervals)
    counts = np.asarray(counts, dtype="float64")
    if intervals.size == 0 or counts.sum() <= 0:
        return DEVICE_INTERVALS[1]
    order = np.argsort(intervals, kind="stable")
    cumulative = np.cumsum(counts[order])
    middle = int(np.argmax(2 * cumulative >= cumulative[-1]))
    return int(intervals[order][middle])


def clean_series(times, values) -> tuple[np.ndarray, np.ndarray]:
    """Sorted int64 ns times and float64 values; NaN dropped; exact duplicates keep the last."""
    t = as_ns(times)
    v = np.asarray(values, dtype="float64")
    if t.shape != v.shape:
        raise ValueError("times and values must have the same length")
    ok = ~np.isnan(v)
    if not ok.all():
        t, v = t[ok], v[ok]
    if t.size > 1:
        d = np.diff(t)
        if (d < 0).any():
            order = np.argsort(t, kind="stable")
            t, v = t[order], v[order]
            d = np.diff(t)
        dup = d == 0
        if dup.any():
            keep = np.ones(t.size, dtype=bool)
            keep[:-1] = ~dup  # drop the earlier of two equal instants
            t, v = t[keep], v[keep]
    return t, v
