"""Shared array plumbing: clean a reading series, local time, device interval, windows.

Every public function in `glycemia` takes `times` (UTC instants as datetime64 or int64 epoch
nanoseconds) and `values` (mg/dL). `clean_series` sorts them, drops NaN values and keeps the
LAST value of readings that share an exact instant (iglu's CGMS2DayByDay convention; storage
already dedupes per device, so this only happens across devices).

Time of day and local dates are always computed in the time zone passed in (`tz`, IANA name):
a patient who moved is analysed in the zone of the request, so one call never mixes zones.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from glycemia.constants import DEVICE_INTERVALS

NS_PER_MINUTE = 60_000_000_000
NS_PER_DAY = 86_400_000_000_000
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "utc"})


def as_ns(times) -> np.ndarray:
    """UTC instants -> int64 epoch nanoseconds (accepts datetime64 of any unit or int64)."""
    arr = np.asarray(times)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[ns]").view("int64")
    if arr.dtype == object and arr.size:
        # pandas >= 3 infers microseconds from datetime objects: ask for ns explicitly.
        return pd.to_datetime(arr, utc=True).as_unit("ns").asi8
    return arr.astype("int64", copy=False)


def clean_series(times, values) -> tuple[np.ndarray, np.ndarray]:
    """Sorted int64 ns times and float64 values; NaN dropped; exact duplicates keep the last."""
    t = as_ns(times)
    v = np.asarray(values, dtype="float64")
    if t.shape != v.shape:
        raise ValueError("times and values must have the same length")
    # the max of values with a NaN is NaN: one reduction tells the usual series has none
    if v.size and np.isnan(v.max()):
        ok = ~np.isnan(v)
        t, v = t[ok], v[ok]
    if t.size > 1:
        d = t[1:] - t[:-1]
        if d.min() <= 0:  # out of order or repeated (the usual series is neither)
            if (d < 0).any():
                order = np.argsort(t, kind="stable")
                t, v = t[order], v[order]
                d = t[1:] - t[:-1]
            dup = d == 0
            if dup.any():
                keep = np.ones(t.size, dtype=bool)
                keep[:-1] = ~dup  # drop the earlier of two equal instants
                t, v = t[keep], v[keep]
    return t, v


def sample_sd(x: np.ndarray, total: float | None = None) -> float:
    """np.std(x, ddof=1) of a 1-D float array of 2+ values, with numpy's own arithmetic (sum,
    mean, squared deviations, pairwise sums: the same float) without its per-call overhead.
    ``total``: x.sum() when the caller has it."""
    d = x - (x.sum() if total is None else total) / x.size
    d *= d  # squared in place (the same products, one array fewer)
    return math.sqrt(float(d.sum()) / (x.size - 1))


def is_utc(tz: str) -> bool:
    return tz in _UTC_NAMES


def local_ns(t: np.ndarray, tz: str) -> np.ndarray:
    """Local wall-clock time (as naive epoch ns) of UTC instants `t` in zone `tz`."""
    if is_utc(tz) or t.size == 0:
        return t
    idx = pd.DatetimeIndex(t.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    return idx.tz_localize(None).asi8


def local_day_numbers(local: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of local wall-clock ns (floor division works before 1970 too)."""
    return local // NS_PER_DAY


def day_iso(day_number: int) -> str:
    return str(np.datetime64(int(day_number), "D"))


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


@lru_cache(maxsize=8192)
def local_midnight_ns(day_number: int, tz: str) -> int:
    """UTC instant (ns) at which local date `day_number` starts in `tz`.

    A midnight that does not exist (DST jump at 00:00) resolves to the first instant of the
    day, as zoneinfo does for fold=0.
    """
    date = dt.date(1970, 1, 1) + dt.timedelta(days=int(day_number))
    if is_utc(tz):
        start = dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    else:
        start = dt.datetime(date.year, date.month, date.day, tzinfo=_zone(tz))
    return int(start.timestamp()) * 1_000_000_000


def parse_date(value) -> int | None:
    """'YYYY-MM-DD' / date / datetime64 -> day number (None passes through)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return (value - dt.date(1970, 1, 1)).days
    if isinstance(value, str):
        return _iso_day_number(value)
    return int(np.datetime64(str(value)[:10], "D").astype("int64"))


@lru_cache(maxsize=1024)
def _iso_day_number(text: str) -> int:
    """`parse_date` of a string, remembered (a report asks the same dates for every patient)."""
    return int(np.datetime64(text[:10], "D").astype("int64"))


def _median_below(d: np.ndarray, limit: int) -> bool:
    """np.median(d) < limit for int64 `d`, by counting instead of partitioning (faster).

    With k values below the limit: odd n -> the middle one is below iff k > n // 2; even n ->
    the mean of the two middle ones decides only when exactly half are below.
    """
    below = d < limit
    k = int(np.count_nonzero(below))
    n = d.size
    half = n // 2
    if n % 2:
        return k > half
    if k != half:
        return k > half
    # the two middle values: the largest below the limit and the smallest at or above it
    return int(d[below].max()) + int(d[~below].min()) < 2 * limit


def detect_interval(t: np.ndarray) -> int:
    """Device interval in minutes: the median spacing snapped to 1, 5 or 15 (5 if unknown)."""
    if t.size < 2:
        return 5
    d = np.diff(t)
    if _median_below(d, 3 * NS_PER_MINUTE):
        return DEVICE_INTERVALS[0]
    if _median_below(d, 10 * NS_PER_MINUTE):
        return DEVICE_INTERVALS[1]
    return DEVICE_INTERVALS[2]


def snap_interval(median_ns: np.ndarray) -> np.ndarray:
    """Median spacings (ns) snapped to the device intervals, as `detect_interval` snaps."""
    return np.where(
        median_ns < 3 * NS_PER_MINUTE,
        DEVICE_INTERVALS[0],
        np.where(median_ns < 10 * NS_PER_MINUTE, DEVICE_INTERVALS[1], DEVICE_INTERVALS[2]),
    )


def _day_intervals(
    gaps: np.ndarray, starts: np.ndarray, ends: np.ndarray, shortest: int | None = None
) -> np.ndarray:
    """Per run of readings [start, end): the median of its gaps snapped (`snap_interval`),
    5 for a run of one reading; `gaps` is np.diff of the times, ``shortest`` its minimum
    when the caller has it (None: not known, or no gap).

    Only which side of 3 and 10 minutes the median falls on matters, so it is decided by
    counting gaps below each limit (`_median_below`'s rule, for every run at once); a run with
    an even number of gaps exactly half below a limit takes np.median itself.
    """
    ngaps = ends - starts - 1  # a run's gaps are gaps[start : end - 1]
    half = ngaps // 2
    gaps_end = np.maximum(ends - 1, starts)
    if shortest is None and gaps.size:
        shortest = int(gaps.min())
    if shortest is None or shortest >= 3 * NS_PER_MINUTE:
        # No gap below 3 minutes (a 5-minute sensor): a run is 5 minutes when most of its
        # gaps are below 10, or when it has none; anything else takes the general count.
        at = (gaps >= 10 * NS_PER_MINUTE).nonzero()[0]
        longer = at.searchsorted(gaps_end) - at.searchsorted(starts)
        if ((ngaps - longer > half) | (ngaps <= 0)).all():
            return np.full(ngaps.size, DEVICE_INTERVALS[1], dtype="int64")
    ambiguous = np.zeros(ngaps.size, dtype=bool)
    below = []
    for limit in (3 * NS_PER_MINUTE, 10 * NS_PER_MINUTE):
        # gaps below the limit per run: their positions, counted between the run's bounds
        at = (gaps < limit).nonzero()[0]
        k = at.searchsorted(gaps_end) - at.searchsorted(starts)
        below.append(k > half)
        ambiguous |= (ngaps % 2 == 0) & (k == half) & (ngaps > 0)
    intervals = np.where(
        below[0], DEVICE_INTERVALS[0], np.where(below[1], DEVICE_INTERVALS[1], DEVICE_INTERVALS[2])
    ).astype("int64")
    intervals[ngaps <= 0] = DEVICE_INTERVALS[1]
    for i in np.flatnonzero(ambiguous).tolist():
        intervals[i] = snap_interval(np.median(gaps[starts[i] : ends[i] - 1]))
    return intervals


def day_wear(t: np.ndarray, local: np.ndarray, tz: str, days: np.ndarray | None = None):
    """Per local day with readings: (day numbers, readings, interval minutes, slots).

    DESIGN §3: each day has its own sampling interval, so a switch from a 5-minute to a
    15-minute sensor keeps wear right (issue #17). A day's interval is the median spacing of
    its consecutive readings snapped to 1, 5 or 15 minutes (`detect_interval`'s rule; 5 for
    a day with one reading); its slots are the distinct intervals since its local midnight
    holding a reading (two readings of one slot, say one sensor through two apps, count
    once). `t` is sorted (`clean_series`), `local` its local wall-clock ns in `tz`, ``days``
    their local day numbers when the caller has them.
    The rollups store both per day (`glycemia.rollups.daily_wear`), so the rollup path and
    the raw path count wear the same way.

    >>> day_wear(t, local_ns(t, "UTC"), "UTC")  # doctest: +SKIP
    (array([19723]), array([288]), array([5]), array([288]))
    """
    if t.size == 0:
        empty = np.zeros(0, dtype="int64")
        return empty, empty, empty, empty
    if days is None:
        days = local // NS_PER_DAY
    step = days[1:] - days[:-1]
    if (step >= 0).all():  # the usual case: no local date steps back, days are runs
        bounds = (step != 0).nonzero()[0] + 1  # (a mask: nonzero of int64 is slower)
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [days.size]))
        unique_days = days[starts]
        gaps = t[1:] - t[:-1]
        shortest = int(gaps.min()) if gaps.size else None
        intervals = _day_intervals(gaps, starts, ends, shortest)
        counts = ends - starts
        if shortest is None or (
            shortest >= int(intervals[0]) * NS_PER_MINUTE and (intervals == intervals[0]).all()
        ):
            # One interval, and readings at least one interval apart: two readings of a day
            # never share a slot (the later one's slot number is at least one more), so each
            # reading is its own slot (the usual sensor, read once per interval).
            return unique_days, counts, intervals, counts.copy()
        midnights = _midnights(unique_days, tz)
        slots = _run_slots(t, starts, ends, counts, midnights, intervals)
        return unique_days, counts, intervals, slots
    unique_days, group = np.unique(days, return_inverse=True)
    intervals = np.full(unique_days.size, DEVICE_INTERVALS[1], dtype="int64")
    same = group[1:] == group[:-1]
    if same.any():
        medians = pd.Series(np.diff(t)[same]).groupby(group[1:][same]).median()
        intervals[medians.index.to_numpy()] = snap_interval(medians.to_numpy())
    counts = np.bincount(group, minlength=unique_days.size)
    midnights = _midnights(unique_days, tz)
    slot = (t - midnights[group]) // (intervals[group] * NS_PER_MINUTE)
    slots = distinct_slots(group, slot, unique_days.size)
    return unique_days, counts, intervals, slots


def _midnights(days: np.ndarray, tz: str) -> np.ndarray:
    """UTC instants (ns) at which the local dates `days` start."""
    if is_utc(tz):
        return days * NS_PER_DAY
    return np.array([local_midnight_ns(int(d), tz) for d in days.tolist()], dtype="int64")


def _run_slots(t, starts, ends, counts, midnights, intervals) -> np.ndarray:
    """`distinct_slots` for days that are runs of sorted readings: a reading starts a new
    slot when its slot number differs from its neighbour's or it opens its day, counted per
    run without the group keys. The keys group * 2000 + slot that `distinct_slots` compares
    rise between days unless a day's first slot is 2000 or more below the previous day's
    last (impossible for real days of at most 1500 one-minute slots); then it answers."""
    if (intervals == intervals[0]).all():  # one interval: one divisor (numpy divides faster)
        slot = (t - np.repeat(midnights, counts)) // (int(intervals[0]) * NS_PER_MINUTE)
    else:
        group = np.repeat(np.arange(starts.size), counts)
        slot = (t - midnights[group]) // (intervals[group] * NS_PER_MINUTE)
    if starts.size > 1 and (slot[starts[1:]] + 2000 <= slot[ends[:-1] - 1]).any():
        group = np.repeat(np.arange(starts.size), counts)
        return distinct_slots(group, slot, starts.size)
    new = np.empty(slot.size, dtype=bool)
    np.not_equal(slot[1:], slot[:-1], out=new[1:])
    new[starts] = True
    return np.add.reduceat(new, starts, dtype="int64")


def distinct_slots(group: np.ndarray, slot: np.ndarray, ngroups: int) -> np.ndarray:
    """Per group, how many distinct slot numbers its readings have (a day holds at most 1500
    one-minute slots, so ``group * 2000 + slot`` never mixes groups). Readings sorted by
    group and time need no sort: a value differing from its neighbour starts a new slot."""
    key = group.astype("int64") * 2000 + slot
    if key.size > 1 and (np.diff(key) < 0).any():  # a local date stepping back at midnight
        key = np.sort(key)
        group = key // 2000
    starts = np.ones(key.size, dtype=bool)
    starts[1:] = key[1:] != key[:-1]
    return np.bincount(group[starts], minlength=ngroups)


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
    if (intervals == intervals[0]).all():  # the usual case: one interval on every day
        return int(intervals[0])
    order = np.argsort(intervals, kind="stable")
    cumulative = np.cumsum(counts[order])
    middle = int(np.argmax(2 * cumulative >= cumulative[-1]))
    return int(intervals[order][middle])


def iso_utc(ns: int) -> str:
    """Epoch ns -> '2024-01-01T08:05:00Z'."""
    return str(np.datetime64(int(ns) // 1_000_000_000, "s")) + "Z"


def day_minutes(day_numbers: np.ndarray, tz: str) -> np.ndarray:
    """Length in minutes of each local date (1380 / 1500 on DST days), one call per date."""
    days = np.asarray(day_numbers, dtype="int64")
    if is_utc(tz) or days.size == 0:
        return np.full(days.size, 1440.0)
    uniq, inverse = np.unique(days, return_inverse=True)
    lengths = np.array(
        [(local_midnight_ns(d + 1, tz) - local_midnight_ns(d, tz)) / NS_PER_MINUTE for d in uniq]
    )
    return lengths[inverse]
