"""Differential tests (#23): `clean_series`, `day_wear` and `window_interval` against the
frozen previous implementation (`series_before`, main 8a517f1) on seeded random traces: mixed
1/5/15-minute sensors, jitter, two readings in one slot, long gaps, DST changes, local dates
stepping back; for clean_series unsorted, repeated and missing values."""

import numpy as np
import pytest

from glycemia.series import clean_series, day_wear, local_ns, window_interval

from . import series_before

NS_PER_MINUTE = 60 * 10**9
ZONES = ["UTC", "Europe/Bucharest", "America/Santiago", "America/Havana", "America/Asuncion"]


def _times(rng, start):
    n = int(rng.integers(1, 3000))
    spacing = rng.choice([[5], [1], [15], [5, 15], [1, 5], [2, 3, 5, 10, 15]][int(rng.integers(6))])
    d = rng.choice(np.asarray(spacing) * 60, n - 1) + rng.integers(-20, 20, n - 1)
    d = np.maximum(d, 1)
    if rng.random() < 0.3:  # two readings in one slot (a second app)
        d[rng.integers(0, max(1, n - 1), 5)] = 30
    if rng.random() < 0.5:  # long gaps
        d[rng.integers(0, max(1, n - 1), 3)] = int(rng.integers(3600, 3 * 86400))
    return start + np.concatenate(([0], np.cumsum(d))).astype("int64") * 10**9


@pytest.mark.parametrize("tz", ZONES)
def test_day_wear_equals_the_previous_implementation(tz):
    rng = np.random.default_rng(ZONES.index(tz))
    # spans around DST changes of 2024 (Asuncion Mar 24, Santiago Apr 7 at 24:00; Havana
    # Nov 3; Bucharest Mar 31 / Oct 27)
    starts = ["2024-03-23T12:00", "2024-04-06T12:00", "2024-10-25T00:00", "2024-11-01T00:00"]
    for _ in range(150):
        start = np.datetime64(starts[int(rng.integers(len(starts)))], "s").astype("int64")
        t = _times(rng, start + int(rng.integers(0, 86400)))
        local = local_ns(t, tz)
        new, old = day_wear(t, local, tz), series_before.day_wear(t, local, tz)
        for a, b in zip(new, old, strict=True):
            assert a.dtype == b.dtype and a.tolist() == b.tolist()
        assert window_interval(new[2], new[1]) == series_before.window_interval(old[2], old[1])


@pytest.mark.parametrize("tz", ZONES)
def test_day_wear_equals_the_previous_implementation_on_readings_an_interval_apart(tz):
    """The usual sensor: every spacing at least one interval (whole 1/5/15-minute marks or a
    few seconds late, long gaps, a switch from 5 to 15 minutes), where `day_wear` counts each
    reading as its own slot; a few traces add one spacing just under the interval."""
    rng = np.random.default_rng(20 + ZONES.index(tz))
    start = np.datetime64("2024-03-23T12:00", "s").astype("int64")  # DST in 3 of the zones
    own_slots = 0
    for _ in range(300):
        n = int(rng.integers(1, 2000))
        interval = int(rng.choice([1, 5, 5, 15]))
        d = np.full(max(n - 1, 0), interval * 60) + rng.choice([0, 0, 0, 7, 59], max(n - 1, 0))
        if n > 1 and rng.random() < 0.3:
            d[rng.integers(0, n - 1, 3)] = int(rng.integers(3600, 2 * 86400))
        if n > 2 and rng.random() < 0.2:
            d[int(rng.integers(0, n - 1)) :] = 15 * 60  # switched to a 15-minute sensor
        if n > 1 and rng.random() < 0.15:
            d[int(rng.integers(0, n - 1))] = interval * 60 - 1  # one pair within a slot
        t = (start + int(rng.integers(0, 86400)) + np.concatenate(([0], np.cumsum(d)))) * 10**9
        t = t.astype("int64")
        local = local_ns(t, tz)
        new, old = day_wear(t, local, tz), series_before.day_wear(t, local, tz)
        for a, b in zip(new, old, strict=True):
            assert a.dtype == b.dtype and a.tolist() == b.tolist()
        own_slots += new[1].tolist() == new[3].tolist()
    assert own_slots > 150


def test_window_interval_equals_the_previous_implementation():
    rng = np.random.default_rng(3)
    for _ in range(500):
        k = int(rng.integers(0, 6))
        intervals = rng.choice([1, 5, 15], k) if rng.random() < 0.5 else np.full(k, 15)
        counts = rng.integers(0, 300, k)
        assert window_interval(intervals, counts) == series_before.window_interval(
            intervals, counts
        )


def test_day_wear_equals_the_previous_implementation_when_the_local_date_steps_back():
    """No zone today turns its clock back across midnight, but the code allows it (the local
    times are an argument): a clock set back 90 minutes at 00:30 repeats the day before."""
    rng = np.random.default_rng(11)
    stepped = 0
    for _ in range(200):
        t = _times(rng, np.datetime64("2024-05-01T00:00", "s").astype("int64"))
        local = t.copy()
        at = int(rng.integers(0, t.size))
        local[at:] -= int(rng.choice([30, 90, 24 * 60])) * NS_PER_MINUTE
        stepped += bool((np.diff(local // (1440 * NS_PER_MINUTE)) < 0).any())
        new, old = day_wear(t, local, "UTC"), series_before.day_wear(t, local, "UTC")
        for a, b in zip(new, old, strict=True):
            assert a.dtype == b.dtype and a.tolist() == b.tolist()
    assert stepped > 20


def test_clean_series_equals_the_previous_implementation():
    rng = np.random.default_rng(12)
    for _ in range(2000):
        n = int(rng.integers(0, 300))
        if rng.random() < 0.5:
            t = np.sort(rng.integers(0, 10**12, n))
        else:
            t = rng.integers(0, 10**6, n) * 10**6  # out of order, repeats
        if n and rng.random() < 0.3:
            t[rng.integers(0, n, 3)] = t[0]
        v = rng.normal(150, 30, n)
        if n and rng.random() < 0.3:
            v[rng.integers(0, n, 3)] = np.nan
        (t1, v1), (t2, v2) = clean_series(t, v), series_before.clean_series(t, v)
        assert np.array_equal(t1, t2) and np.array_equal(v1, v2)
