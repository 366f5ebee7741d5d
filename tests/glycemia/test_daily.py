import numpy as np
import pytest

from glycemia.daily import daily_stats, day_night_split, hourly_stats

from .helpers import every_5_minutes, reference, reference_csv


def test_it_matches_iglu_daily_stats():
    times, values, _, _ = reference()
    expected = reference_csv("daily_stats")
    ours = daily_stats(times, values, tz="UTC", exact=True)
    assert [d["date"] for d in ours] == expected["date"].tolist()
    for mine, (_, row) in zip(ours, expected.iterrows(), strict=True):
        assert mine["readings"] == row["n"]
        assert mine["mean_mg_dl"] == pytest.approx(row["mean"], rel=1e-9)
        assert mine["sd_mg_dl"] == pytest.approx(row["sd"], rel=1e-9)
        assert (mine["min_mg_dl"], mine["max_mg_dl"]) == (row["min"], row["max"])
        assert mine["tir"] == pytest.approx(row["in_range_70_180"], rel=1e-9)
        assert mine["very_low_percent"] == pytest.approx(row["below_54"], abs=1e-9)
        below70 = mine["very_low_percent"] + mine["low_percent"]
        assert below70 == pytest.approx(row["below_70"], abs=1e-9)
        assert mine["very_high_percent"] == pytest.approx(row["above_250"], abs=1e-9)


def test_it_matches_iglu_day_night_split():
    times, values, expected, _ = reference()
    split = day_night_split(times, values, tz="UTC", exact=True)
    for ours, theirs in (("night", "night_00_06"), ("day", "day_06_24")):
        ref = expected["day_night_split"][theirs]
        m = split[ours]
        assert "agp" not in m and m["readings"] == ref["n"]
        assert m["mean_mg_dl"] == pytest.approx(ref["mean"], rel=1e-9)
        assert m["sd_mg_dl"] == pytest.approx(ref["sd"], rel=1e-9)
        assert m["cv_percent"] == pytest.approx(ref["cv"], rel=1e-9)
        assert m["in_range_percent"] == pytest.approx(ref["in_range_70_180"], rel=1e-9)
        assert m["very_low_percent"] == pytest.approx(ref["below_54"], abs=1e-9)


def test_it_matches_iglu_hourly_counts():
    times, values, _, _ = reference()
    hourly = reference_csv("agp_hourly_raw")
    ours = hourly_stats(times, values, tz="UTC")
    assert [h["readings"] for h in ours] == hourly["n"].tolist()
    assert [h["median_mg_dl"] for h in ours] == hourly["p50"].tolist()


@pytest.mark.parametrize("day,count", [("2019-03-31", 276), ("2019-10-27", 300)])
def test_it_splits_dst_days_by_local_date(day, count):
    times = every_5_minutes("2019-03-30 00:00", "2019-11-01 00:00", "Europe/Bucharest")
    days = {
        d["date"]: d["readings"]
        for d in daily_stats(times, np.full(times.size, 100.0), tz="Europe/Bucharest")
    }
    assert days[day] == count and days["2019-05-01"] == 288


def test_it_leaves_mage_out_of_the_day_night_parts():
    # A moving-average MAGE over nights cut out of their days would be meaningless.
    times, values, _, _ = reference()
    split = day_night_split(times, values, tz="UTC")
    assert split["night"]["mage"] is None and split["day"]["mage"] is None
    assert split["night"]["hypo_events"] is not None


def _gappy_series(tz: str, *, seed: int, sd: float, low: float, high: float):
    """12 days of 5-minute CGM across the end of DST in Europe, with 5 % NaN and 10 % gaps."""
    times = every_5_minutes("2019-10-20 00:00", "2019-11-01 00:00", tz)
    rng = np.random.default_rng(seed)
    values = rng.normal(150, sd, times.size).clip(low, high).round(1)
    values[rng.random(times.size) < 0.05] = np.nan
    keep = rng.random(times.size) > 0.1
    return times[keep], values[keep]


@pytest.mark.parametrize("tz", ["UTC", "Europe/Bucharest"])
@pytest.mark.parametrize("exact", [True, False])
def test_it_takes_each_hours_median_from_that_hours_readings_only(tz, exact):
    """Differential: the median of each local hour, as computed before the groups were reused
    (a mask over the whole cleaned series per hour), on data with gaps, NaN and a DST day."""
    from glycemia.series import NS_PER_DAY, NS_PER_MINUTE, clean_series, local_ns

    times, values = _gappy_series(tz, seed=7, sd=45, low=40, high=400)
    t, v = clean_series(times, values)
    hours = (local_ns(t, tz) % NS_PER_DAY) // (60 * NS_PER_MINUTE)
    rows = hourly_stats(times, values, tz=tz, exact=exact)
    assert [row["hour"] for row in rows] == list(range(24))
    for row in rows:
        expected = float(np.median(v[hours == row["hour"]]))
        assert row["median_mg_dl"] == (expected if exact else round(expected, 1))


@pytest.mark.parametrize("tz", ["UTC", "Europe/Bucharest"])
@pytest.mark.parametrize("exact", [True, False])
def test_it_gives_each_group_numpys_own_figures(tz, exact):
    """Differential: every daily and hourly row as one numpy pass over that group's readings
    gives it (x.mean(), np.std(x, ddof=1), min, max, the band shares, np.median; rounded with
    np.round as ``round_metrics`` does), float for float — the groups' figures are computed
    together, their sums per group (#23). Data with gaps, NaN, a single-reading day and DST."""
    from glycemia.metrics import ROUNDING
    from glycemia.series import NS_PER_DAY, NS_PER_MINUTE, clean_series, local_ns

    times, values = _gappy_series(tz, seed=11, sd=60, low=39, high=401)
    times = np.append(times, times[-1] + 3 * NS_PER_DAY)  # a day with one reading
    values = np.append(values, 55.0)
    t, v = clean_series(times, values)
    local = local_ns(t, tz)
    groups = {
        "date": (local // NS_PER_DAY, daily_stats(times, values, tz=tz, exact=exact)),
        "hour": (
            (local % NS_PER_DAY) // (60 * NS_PER_MINUTE),
            hourly_stats(times, values, tz=tz, exact=exact),
        ),
    }
    for name, (keys, rows) in groups.items():
        assert len(rows) == np.unique(keys).size
        for key, row in zip(np.unique(keys), rows, strict=True):
            x = v[keys == key]
            shares = [
                x < 54,
                (x >= 54) & (x < 70),
                (x >= 70) & (x <= 180),
                (x > 180) & (x <= 250),
                x > 250,
                (x >= 70) & (x <= 140),
            ]
            expected = {
                "readings": x.size,
                "mean_mg_dl": float(x.mean()),
                "sd_mg_dl": float(x.std(ddof=1)) if x.size > 1 else None,
                "min_mg_dl": float(x.min()),
                "max_mg_dl": float(x.max()),
                "very_low_percent": 100.0 * int(shares[0].sum()) / x.size,
                "low_percent": 100.0 * int(shares[1].sum()) / x.size,
                "in_range_percent": 100.0 * int(shares[2].sum()) / x.size,
                "high_percent": 100.0 * int(shares[3].sum()) / x.size,
                "very_high_percent": 100.0 * int(shares[4].sum()) / x.size,
                "tight_range_percent": 100.0 * int(shares[5].sum()) / x.size,
            }
            if not exact:
                for k, value in expected.items():
                    if k in ROUNDING and value is not None:
                        expected[k] = float(np.round(value, ROUNDING[k]))
            expected["tir"] = expected["in_range_percent"]
            if name == "hour":
                med = float(np.median(x))
                expected["median_mg_dl"] = med if exact else round(med, 1)
            got = {k: value for k, value in row.items() if k not in ("date", "hour")}
            assert list(got) == list(expected)  # the same keys, in the same order
            assert got == expected, (name, key)
            assert type(got["readings"]) is int
