"""Differential tests (#23): `mage` against the frozen previous implementation
(`mage_before`, main 8a517f1), bit for bit, on seeded random traces: regular and jittered
5-minute, 1- and 15-minute sensors, gaps of every length (at the start, the end, around a
single reading), flat stretches, repeated values and DST time zones."""

import numpy as np
import pytest

from glycemia.mage import _segment, interpolated_grid, mage
from glycemia.series import clean_series, local_ns

from . import mage_before

NS_PER_MINUTE = 60 * 10**9
START = np.datetime64("2024-03-28T00:00", "ns").astype("int64")  # DST in Europe on the 31st


def _trace(rng):
    """(UTC ns, mg/dL) of one random trace; about half have gaps of more than 45 minutes."""
    interval = int(rng.choice([5, 5, 5, 1, 15]))
    n = int(rng.integers(2, 3 * 1440 // interval))
    minutes = np.arange(n) * interval + int(rng.integers(0, 1440))
    if rng.random() < 0.4:  # readings off the grid by a few seconds, drifting
        seconds = minutes * 60 + rng.integers(-40, 40, n) + int(rng.integers(0, 300))
    else:
        seconds = minutes * 60
    t = START + np.sort(seconds).astype("int64") * 10**9
    kind = int(rng.integers(0, 4))
    if kind == 0:
        v = np.round(150 + 60 * np.sin(np.arange(n) / rng.uniform(3, 60)) + rng.normal(0, 15, n))
    elif kind == 1:
        v = np.cumsum(rng.normal(0, 6, n)) + 160
    elif kind == 2:
        v = rng.choice([100.0, 101.0, 120.0, 180.0], n)
    else:  # flat with rare steps
        v = 120 + np.cumsum(rng.random(n) < 0.02).astype(float)
    keep = np.ones(n, dtype=bool)
    for _ in range(int(rng.integers(0, 6))):
        at = int(rng.integers(0, n))
        keep[at : at + int(rng.integers(1, 400 // interval))] = False
    if rng.random() < 0.2:
        keep[int(rng.integers(0, n))] = True  # a single reading inside a gap
    return t[keep], v[keep]


@pytest.mark.parametrize("tz", ["UTC", "Europe/Bucharest", "America/New_York"])
def test_mage_equals_the_previous_implementation_on_random_traces(tz):
    rng = np.random.default_rng({"UTC": 1, "Europe/Bucharest": 2, "America/New_York": 3}[tz])
    defined = 0
    for _ in range(500):
        t, v = clean_series(*_trace(rng))
        first_local = int(local_ns(t[:1], tz)[0]) if t.size else None
        expected = mage_before.mage(t, v, tz, first_local)
        assert mage(t, v, tz, first_local) == expected, (t.tolist(), v.tolist())
        assert mage(t, v, tz) == expected
        defined += expected["mage"] is not None
    assert defined > 200  # the comparison is not vacuous


@pytest.mark.parametrize("few_runs", [16, 0])
def test_segment_equals_the_previous_implementation_on_random_grids(few_runs, monkeypatch):
    """Grids with NaN anywhere except the ends, zero deltas from flat stretches included;
    present points counted run by run (`_FEW_RUNS`) and by a cumulative sum (0)."""
    import glycemia.mage as mage_module

    monkeypatch.setattr(mage_module, "_FEW_RUNS", few_runs)
    rng = np.random.default_rng(5)
    for _ in range(1000):
        n = int(rng.integers(20, 600))
        g = rng.choice([100.0, 100.0, 130.0, 131.0, 160.0, 200.0], n)
        if rng.random() < 0.5:
            g = np.round(np.cumsum(rng.normal(0, 5, n)) + 150)
        for _ in range(int(rng.integers(0, 5))):
            at = int(rng.integers(1, n - 1))
            g[at : at + int(rng.integers(1, 45))] = np.nan
        g[0], g[-1] = 150.0, 150.0 if g[-1] != g[-1] else g[-1]
        assert _segment(g) == mage_before._segment(g), g.tolist()
        assert _segment(g, np.isnan(g)) == mage_before._segment(g, np.isnan(g))


def test_mage_equals_the_previous_implementation_on_the_bench_patients():
    from bench.metrics import make_dataset

    pid, t, v = make_dataset(40)
    for p in range(40):
        ts, vs = clean_series(t[pid == p], v[pid == p])
        assert mage(ts, vs, "UTC") == mage_before.mage(ts, vs, "UTC")


def test_mage_equals_the_previous_implementation_with_infinite_values():
    """Infinite values of both signs side by side make np.interp itself give NaN between
    them: those grid points are missing as well, found from the grid as before."""
    import glycemia.mage

    rng = np.random.default_rng(9)
    found_from_grid = 0
    for _ in range(300):
        t, v = clean_series(*_trace(rng))
        if v.size < 3:
            continue
        at = int(rng.integers(0, v.size - 1))
        v[at], v[at + 1] = rng.choice([np.inf, -np.inf]), rng.choice([np.inf, -np.inf])
        with np.errstate(invalid="ignore"):
            expected = mage_before.mage(t, v, "UTC")
            assert mage(t, v, "UTC") == expected
            g, runs = glycemia.mage.interpolated_grid(t, v)
            found_from_grid += int(np.isnan(g).sum()) != sum(b - a for a, b in runs)
    assert found_from_grid > 20


def test_excursions_equal_the_previous_implementation_on_random_turning_points():
    """MAGE+ and MAGE- over random turning-point values: ties, plateaus, differences of
    exactly one SD (a fall the end closes, then one more at the last point), the last point,
    fractional SDs."""
    from glycemia.mage import _falls, _rises

    rng = np.random.default_rng(13)
    extra_fall = 0
    for _ in range(6000):
        n = int(rng.integers(1, 60))
        a = rng.choice([100.0, 120.0, 121.0, 150.0, 180.0, 240.0], n).tolist()
        if rng.random() < 0.5:
            a = np.round(np.cumsum(rng.normal(0, 30, n)) + 150).tolist()
        sd = float(rng.choice([0.5, 1.0, 15.0, 20.0, 30.0, 60.0]))
        assert _rises(a, sd) == mage_before._rises(a, sd), (a, sd)
        falls = _falls(a, sd)
        assert falls == mage_before._falls(a, sd), (a, sd)
        extra_fall += len(falls) > 1 and falls[-1] == a[-1] - max(a[-2:]) == -sd
    assert extra_fall > 0  # the revisited last point is exercised


def _on_grid_trace(rng):
    """(UTC ns, mg/dL) of readings at whole 5-minute marks (the grid `_on_grid` copies):
    gaps of 1 to 60 missing readings (shorter and longer than 45 minutes), a reading alone
    between two gaps, a first reading at local midnight (grid number 0, not on the grid)."""
    n = int(rng.integers(2, 3 * 288))
    slots = np.arange(n) + int(rng.integers(0, 288))
    if rng.random() < 0.1:
        slots -= slots[0]  # the first reading at 00:00 UTC
    keep = np.ones(n, dtype=bool)
    for _ in range(int(rng.integers(0, 8))):
        at = int(rng.integers(0, n))
        keep[at : at + int(rng.integers(1, 60))] = False
    if rng.random() < 0.3:
        keep[int(rng.integers(0, n))] = True
    t = START + slots[keep].astype("int64") * 5 * NS_PER_MINUTE
    if rng.random() < 0.5:
        v = np.round(150 + 60 * np.sin(np.arange(t.size) / rng.uniform(3, 60)))
        v += np.round(rng.normal(0, 10, t.size))
    else:
        v = rng.choice([100.0, 100.0, 101.0, 180.0], t.size)
    return t, v


@pytest.mark.parametrize("tz", ["UTC", "Europe/Bucharest", "America/New_York", "Asia/Kathmandu"])
def test_the_on_grid_path_equals_the_general_one(tz, monkeypatch):
    """`interpolated_grid` on readings at whole 5-minute marks (DST days included: START is
    days before the European switch) takes `_on_grid`; forcing the general path (no spacing
    allowed off one step) gives the same grid bit for bit and the same missing runs."""
    import glycemia.mage as mage_module

    rng = np.random.default_rng(sum(map(ord, tz)))
    taken = 0
    for _ in range(400):
        t, v = _on_grid_trace(rng)
        if t.size < 2:
            continue
        if rng.random() < 0.1 and v.size > 2:  # infinite values: np.interp's NaN between
            at = int(rng.integers(0, v.size - 1))
            v[at], v[at + 1] = np.inf, -np.inf
        first_local = int(local_ns(t[:1], tz)[0])
        midnight, step, k0, k1 = mage_module._grid_steps(t, tz, first_local)
        with np.errstate(invalid="ignore"):
            fast = mage_module.interpolated_grid(t, v, tz, first_local)
            taken += (
                k1 >= k0
                and mage_module._on_grid(t, v, t[1:] - t[:-1], midnight, step, k0, k1) is not None
            )
            monkeypatch.setattr(mage_module, "_ON_GRID_MAX_IRREGULAR", -1)
            general = mage_module.interpolated_grid(t, v, tz, first_local)
            monkeypatch.undo()
            assert fast[1] == general[1]
            assert fast[0].tobytes() == general[0].tobytes(), (t.tolist(), v.tolist())
            assert mage(t, v, tz) == mage_before.mage(t, v, tz)
    assert taken > 250  # most traces take the on-grid path


def test_mage_equals_the_previous_implementation_over_long_spans():
    """The grid's day count is computed on Python numbers as numpy computes it (#23): spans
    beyond 2**53 ns (~104 days), where int64 -> float64 rounds, and instants off whole
    seconds give the same grid as the frozen numpy-scalar arithmetic."""
    rng = np.random.default_rng(21)
    for _ in range(60):
        days = int(rng.integers(90, 400))
        span = days * 1440 * NS_PER_MINUTE + int(rng.integers(-(10**9), 10**9))
        bursts = [  # hours to a day of 5-minute readings each, shifted off whole minutes
            start + np.arange(int(rng.integers(50, 400))) * 5 * NS_PER_MINUTE
            for start in [0, *rng.integers(0, span, 3).tolist(), span - 300 * NS_PER_MINUTE]
        ]
        t = START + np.unique(np.concatenate(bursts)) + int(rng.integers(0, 60)) * 10**9
        t = t[t <= START + span]
        v = np.round(150 + 60 * np.sin(np.arange(t.size) / 7.0) + rng.normal(0, 15, t.size))
        for tz in ("UTC", "America/New_York"):
            assert mage(t, v, tz) == mage_before.mage(t, v, tz)
            before = mage_before.interpolated_grid(t, v, tz)
            present = np.flatnonzero(~np.isnan(before))
            assert present.size > 100
            ours, _ = interpolated_grid(t, v, tz)
            assert ours.tobytes() == before[present[0] : present[-1] + 1].tobytes()
