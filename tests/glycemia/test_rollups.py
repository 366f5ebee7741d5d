import numpy as np
import pandas as pd
import pytest

from glycemia.metrics import cgm_metrics
from glycemia.rollups import (
    POPULATION_COLUMNS,
    ROLLUP_FIELDS,
    daily_rollups,
    daily_wear,
    metrics_from_rollups,
    population_metrics,
)

from .helpers import dexcom_then_libre, every_5_minutes, reference


def _frame(patients):
    rows = []
    for pid, (times, values, tz, interval) in patients.items():
        r = daily_rollups(times, values, tz=tz).reset_index()
        r["patient_id"], r["interval_minutes"] = pid, interval
        rows.append(r)
    return pd.concat(rows, ignore_index=True)


def test_it_rolls_up_days_by_hand():
    t0 = np.datetime64("2024-01-01T23:50", "ns")
    times = t0 + np.arange(4) * np.timedelta64(5, "m")  # 23:50, 23:55 | 00:00, 00:05
    r = daily_rollups(times, np.array([50.0, 100.0, 200.0, 260.0]), tz="UTC")
    assert list(r.columns) == list(ROLLUP_FIELDS) and len(r) == 2
    first = r.iloc[0]
    assert (first["count"], first["sum"], first["sum_sq"]) == (2, 150.0, 12500.0)
    assert (first["min"], first["max"], first["n_very_low"], first["n_in_range"]) == (50, 100, 1, 1)
    assert (r.iloc[1]["n_high"], r.iloc[1]["n_very_high"], r.iloc[1]["n_tight"]) == (1, 1, 0)


def test_it_gives_the_same_numbers_as_cgm_metrics():
    times, values, _, _ = reference()
    rng = np.random.default_rng(5)
    dst = every_5_minutes("2019-10-25 00:00", "2019-10-28 23:55", "Europe/Bucharest")
    dst_values = np.round(rng.normal(150, 50, dst.size)).clip(40, 400)
    patients = {
        "ref": (times, values, "UTC", 5),
        "dst": (dst, dst_values, "Europe/Bucharest", 5),
    }
    frame = _frame(patients)
    # the rollup frame knows DST day lengths only if told: add them for the Bucharest patient
    frame["day_minutes"] = 1440.0
    frame.loc[
        (frame.patient_id == "dst") & (frame.date == pd.Timestamp("2019-10-27").date()),
        "day_minutes",
    ] = 1500.0
    for exact in (True, False):
        table = metrics_from_rollups(frame, exact=exact)
        for pid, (t, v, tz, _) in patients.items():
            dates = frame.loc[frame.patient_id == pid, "date"]
            direct = cgm_metrics(t, v, tz=tz, start=dates.min(), end=dates.max(), exact=exact)
            for col in POPULATION_COLUMNS:
                ours, theirs = table.loc[pid, col], direct[col]
                if exact and isinstance(theirs, float):
                    assert ours == pytest.approx(theirs, rel=1e-9), (pid, col)
                else:
                    assert ours == theirs, (pid, col)


def test_it_computes_population_metrics_from_raw_arrays():
    times, values, _, _ = reference()
    ids = np.r_[np.full(times.size, "a"), np.full(times.size, "b")]
    all_times = np.r_[times, times + np.timedelta64(1, "D")]
    all_values = np.r_[values, values + 10]
    table = population_metrics(ids, all_times, all_values, tz={"a": "UTC", "b": "UTC"})
    for pid, (t, v) in {
        "a": (times, values),
        "b": (times + np.timedelta64(1, "D"), values + 10),
    }.items():
        direct = cgm_metrics(
            t,
            v,
            tz="UTC",
            start="2016-10-24" if pid == "a" else "2016-10-25",
            end="2016-11-01" if pid == "a" else "2016-11-02",
        )
        for col in POPULATION_COLUMNS:
            assert table.loc[pid, col] == direct[col], (pid, col)


def test_it_summarises_5000_patients_from_rollups_in_under_100_ms():
    rng = np.random.default_rng(11)
    patients, days = 5000, 14
    n = patients * days
    count = rng.integers(200, 289, n)
    mean = rng.normal(150, 30, n)
    frame = pd.DataFrame(
        {
            "patient_id": np.repeat(np.arange(patients), days),
            "date": np.tile(pd.date_range("2024-01-01", periods=days).date, patients),
            "count": count,
            "sum": count * mean,
            "sum_sq": count * (mean**2 + 900),
            "min": mean - 60,
            "max": mean + 90,
            **{
                f: (count * 0.1).astype(int)
                for f in ("n_very_low", "n_low", "n_high", "n_very_high")
            },
            "n_in_range": count - 4 * (count * 0.1).astype(int),
            "n_tight": (count * 0.4).astype(int),
            "rl_sum": count * 1.0,
            "rh_sum": count * 5.0,
            "interval_minutes": 5,
        }
    )
    # Speed is measured by `python -m bench metrics`, not asserted here.
    table = metrics_from_rollups(frame)
    assert len(table) == patients


def test_it_counts_each_days_readings_at_its_own_interval():
    # Issue #17 §5: 7 days of a 5-minute sensor, then 7 of a 15-minute one. Each day's
    # interval is its own: expected readings are 7 x 288 + 7 x 96 (by hand: 92.97 %); one
    # interval for the window read all 14 days at 5 minutes (61.98 %, "insufficient").
    times, values, expected = dexcom_then_libre()
    frame = daily_rollups(times, values, tz="UTC").join(daily_wear(times, tz="UTC"))
    frame = frame.reset_index().assign(patient_id=1)
    assert frame["interval_minutes"].tolist() == [5] * 7 + [15] * 7
    assert frame["slots"].tolist() == [268] * 7 + [89] * 7
    rolled = metrics_from_rollups(frame, exact=True).loc[1]
    assert rolled["active_percent"] == pytest.approx(expected)
    raw = cgm_metrics(times, values, tz="UTC", start="2024-01-01", end="2024-01-14", exact=True)
    assert raw["active_percent"] == pytest.approx(rolled["active_percent"])
    # A window with days of no data counts those at the interval most readings were taken at
    # (5 minutes: 1876 of the 2499 readings), the raw path and the rollups alike.
    wider = metrics_from_rollups(frame, start="2024-01-01", end="2024-01-15", exact=True)
    raw = cgm_metrics(times, values, tz="UTC", start="2024-01-01", end="2024-01-15", exact=True)
    assert wider.loc[1, "active_percent"] == pytest.approx(100 * 2499 / (2688 + 288))
    assert raw["active_percent"] == pytest.approx(wider.loc[1, "active_percent"])


def test_it_counts_two_readings_in_one_slot_once_as_the_raw_path_does():
    # Two devices a minute apart (the same sensor through two apps) fill one 5-minute slot.
    times = every_5_minutes("2024-01-01 00:00", "2024-01-01 11:55", "UTC")  # half the day
    both = np.sort(np.concatenate([times, times[:100] + np.timedelta64(1, "m")]))
    values = np.full(both.size, 120.0)
    frame = daily_rollups(both, values, tz="UTC").join(daily_wear(both, tz="UTC"))
    frame = frame.reset_index().assign(patient_id=1)
    rolled = metrics_from_rollups(frame, exact=True).loc[1]
    raw = cgm_metrics(both, values, tz="UTC", start="2024-01-01", end="2024-01-01", exact=True)
    assert rolled["active_percent"] == raw["active_percent"] == 50.0  # 144 of 288 slots
    assert frame["slots"].tolist() == [144] and frame["count"].tolist() == [244]


@pytest.mark.parametrize("seed", range(40))
def test_the_per_patient_sums_are_pandas_groupby_to_the_last_bit(seed):
    """``_per_patient`` replaces a pandas groupby (its overhead dominated the triage refresh of
    one patient): on random rollup rows — patients interleaved, days missing, NaN intervals —
    every sum, day range, row count and window interval equals what pandas' own groupby
    gives (its ``sum`` is Kahan-compensated: the same operations in the same order)."""
    from glycemia.rollups import _per_patient

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    ids = rng.integers(1, 1 + int(rng.integers(1, 40)), n)
    days = rng.integers(19_000, 19_060, n)
    intervals = rng.choice([1.0, 5.0, 15.0, np.nan], n, p=[0.2, 0.6, 0.15, 0.05])
    counts = rng.integers(0, 1441, n)
    floats = {
        "sum": rng.uniform(0, 4e5, n) * rng.choice([1.0, 1e-7, 1e7], n),
        "sum_sq": rng.uniform(0, 1e8, n),
        "rl_sum": np.where(rng.random(n) < 0.05, np.nan, rng.uniform(0, 50, n)),
    }
    columns = {"count": counts, "n_low": rng.integers(0, 100, n), **floats}
    got = _per_patient(ids, days, intervals, columns)

    work = pd.DataFrame({"patient_id": ids, "_day": days, "_interval": intervals, **columns})
    g = work.groupby("patient_id", sort=True)
    want = g[list(columns)].sum()
    assert got.index.tolist() == want.index.tolist()
    for name in columns:
        assert np.array_equal(got[name].to_numpy(), want[name].to_numpy()), name
    assert got["first_day"].tolist() == g["_day"].min().tolist()
    assert got["last_day"].tolist() == g["_day"].max().tolist()
    assert got["rows"].tolist() == g["_day"].size().tolist()
    per = work.groupby(["patient_id", "_interval"], sort=True)["count"].sum().reset_index()
    cumulative = per.groupby("patient_id")["count"].cumsum()
    total = per.groupby("patient_id")["count"].transform("sum")
    middle = per[2 * cumulative >= total].groupby("patient_id")["_interval"].first()
    expected = middle.reindex(want.index).to_numpy()
    assert np.array_equal(got["interval"].to_numpy(), expected, equal_nan=True)
