"""cgm_metrics against R iglu 4.3.0 reference values, hand-worked examples and edge cases."""

import json
import math

import numpy as np
import pytest

from glycemia.metrics import METRIC_KEYS, cgm_metrics, gri_value, gri_zone
from glycemia.units import to_mg_dl

from .helpers import assert_within, dexcom_then_libre, every_5_minutes, reference

# our key -> iglu reference key (expected_metrics.json)
REFERENCE_KEYS = {
    "readings": "n_readings",
    "mean_mg_dl": "mean",
    "sd_mg_dl": "sd",
    "cv_percent": "cv",
    "gmi_percent": "gmi",
    "very_low_percent": "band_very_low_lt54",
    "low_percent": "band_low_54_70",
    "in_range_percent": "band_in_range_70_180",
    "high_percent": "band_high_180_250",
    "very_high_percent": "band_very_high_gt250",
    "tight_range_percent": "in_range_70_140",
    "gri": "gri",
    "lbgi": "lbgi",
    "hbgi": "hbgi",
    "mage": "mage",
    "mage_plus": "mage_plus",
    "mage_minus": "mage_minus",
    "active_percent": "active_percent_count_based",
}

T0 = np.datetime64("2024-01-01T00:00:00", "ns")


def five_minutely(values, start=T0):
    values = np.asarray(values, dtype="float64")
    return start + np.arange(values.size) * np.timedelta64(5, "m"), values


@pytest.mark.parametrize("ours,theirs", sorted(REFERENCE_KEYS.items()))
def test_it_matches_iglu_within_strict_tolerance(ours, theirs):
    times, values, expected, doc = reference()
    metrics = cgm_metrics(times, values, tz="UTC", exact=True)
    tolerance = doc["metric_definitions"][theirs]["tolerance"]["strict"]
    assert_within(metrics[ours], expected[theirs], tolerance, ours)


def test_it_matches_iglu_gri_zone_and_rounded_values_within_lenient_tolerance():
    times, values, expected, doc = reference()
    metrics = cgm_metrics(times, values, tz="UTC")
    assert metrics["gri_zone"] == expected["gri_zone"] == "A"
    for ours, theirs in REFERENCE_KEYS.items():
        if ours in metrics:
            lenient = doc["metric_definitions"][theirs]["tolerance"]["lenient"]
            # rounding to 1-2 decimals is allowed on top of the lenient band
            lenient = {"abs": lenient["abs"] + 0.05, "rel": lenient["rel"]}
            assert_within(metrics[ours], expected[theirs], lenient, ours)


def test_it_matches_iglu_active_percent_and_window():
    times, values, expected, _ = reference()
    metrics = cgm_metrics(times, values, tz="UTC")
    # iglu's time-coverage active % equals the count-based one on this file
    assert metrics["active_percent"] == pytest.approx(expected["active_percent"], abs=0.01)
    assert metrics["start"] == "2016-10-24" and metrics["end"] == "2016-11-01"
    assert metrics["days"] == len(expected["_info"]["iglu_grid_days_local"]) == 9
    assert metrics["interval_minutes"] == expected["_info"]["iglu_grid_dt0_min"] == 5
    assert metrics["sufficient"] is False  # 9 days < 14


def test_it_counts_level_2_hypoglycaemia_events_like_iglu():
    times, values, expected, _ = reference()
    metrics = cgm_metrics(times, values, tz="UTC")
    level2 = [e for e in metrics["hypo_events"] if e["level"] == 2]
    assert len(level2) == expected["episodes_iglu"]["hypo"]["lv2"]["total_episodes"] == 2
    # no reading above 250 lasts 120 min (only 7 readings > 250 in the whole file)
    assert metrics["hyper_events"] == []


def test_it_returns_exactly_the_design_keys_as_json():
    times, values, _, _ = reference()
    metrics = cgm_metrics(times, values, tz="UTC")
    extra = {"kind", "start", "end", "interval_minutes", "sufficient", "mage_algorithm"}
    assert set(metrics) == set(METRIC_KEYS) | extra
    assert metrics["kind"] == "cgm"
    json.dumps(metrics)
    assert all(type(metrics[k]) is float for k in ("mean_mg_dl", "gri", "lbgi", "mage"))


def test_it_computes_a_hand_worked_example():
    # 10 readings: 50 (very low); 60, 65 (low); 70, 100, 180 (in range); 181, 250 (high);
    # 251, 300 (very high). Bands: 10 / 20 / 30 / 20 / 20 %.
    # GRI = 3.0*10 + 2.4*20 + 1.6*20 + 0.8*20 = 30 + 48 + 32 + 16 = 126 -> capped 100, zone E.
    # tight 70-140: 70, 100 -> 20 %. mean = 1507 / 10 = 150.7; GMI = 3.31 + 0.02392*150.7
    # = 6.914744.
    times, values = five_minutely([50, 60, 65, 70, 100, 180, 181, 250, 251, 300])
    m = cgm_metrics(times, values, exact=True)
    assert (m["very_low_percent"], m["low_percent"], m["in_range_percent"]) == (10, 20, 30)
    assert (m["high_percent"], m["very_high_percent"], m["tight_range_percent"]) == (20, 20, 20)
    assert m["gri"] == 100 and m["gri_zone"] == "E"
    assert m["mean_mg_dl"] == pytest.approx(150.7)
    assert m["gmi_percent"] == pytest.approx(6.914744)


def test_it_computes_sample_sd_cv_and_kovatchev_by_hand():
    # values 100, 120, 140: mean 120, sample SD = sqrt((400 + 0 + 400) / 2) = 20, CV 16.667 %.
    # Kovatchev: f(g) = ln(g)^1.084 - 5.381, risk = 22.77 * f^2 (worked with a calculator):
    # g=100: ln = 4.605170, ln ln = 1.527180, x1.084 = 1.655463, e^ = 5.235502, f = -0.145498,
    #        risk = 0.482034 (low side, g < 112.5)
    # g=120: ln = 4.787492, ln ln = 1.566007, x1.084 = 1.697551, e^ = 5.460559, f = 0.079559,
    #        risk = 0.144126 (high side)
    # g=140: ln = 4.941642, ln ln = 1.597698, x1.084 = 1.731904, e^ = 5.651406, f = 0.270406,
    #        risk = 1.664929 (high side)
    # LBGI = 0.482034 / 3 = 0.160678; HBGI = (0.144126 + 1.664929) / 3 = 0.603018.
    times, values = five_minutely([100, 120, 140])
    m = cgm_metrics(times, values, exact=True)
    assert m["sd_mg_dl"] == pytest.approx(20.0)
    assert m["cv_percent"] == pytest.approx(100 * 20 / 120)
    assert m["lbgi"] == pytest.approx(0.160678, abs=2e-6)
    assert m["hbgi"] == pytest.approx(0.603018, abs=2e-6)


def test_it_caps_gri_and_picks_zones_at_their_bounds():
    # 20 % low -> 2.4 * 20 = 48 (C); 25 % very high + 0 else -> 1.6 * 25 = 40 (B, inclusive)
    assert gri_value(0, 20, 0, 0) == pytest.approx(48.0) and gri_zone(48.0) == "C"
    assert gri_value(0, 0, 0, 25) == pytest.approx(40.0) and gri_zone(40.0) == "B"
    assert [gri_zone(x) for x in (0, 20, 20.01, 60, 80, 80.01)] == ["A", "A", "B", "C", "D", "E"]
    assert gri_value(50, 50, 0, 0) == 100


def test_it_handles_empty_input():
    empty = np.array([], dtype="datetime64[ns]")
    m = cgm_metrics(empty, np.array([]))
    assert m["readings"] == 0 and m["days"] == 0
    assert m["mean_mg_dl"] is None and m["gri"] is None and m["mage"] is None
    assert m["active_percent"] is None and m["hypo_events"] == []
    json.dumps(m)


def test_it_handles_one_reading():
    m = cgm_metrics(np.array([T0]), np.array([110.0]))
    assert m["readings"] == 1 and m["mean_mg_dl"] == 110.0
    assert m["sd_mg_dl"] is None and m["cv_percent"] is None and m["mage"] is None
    assert m["in_range_percent"] == 100.0 and m["days"] == 1


def test_it_handles_all_readings_in_one_band():
    times, values = five_minutely([45.0] * 288)
    m = cgm_metrics(times, values)
    assert m["very_low_percent"] == 100.0 and m["in_range_percent"] == 0.0
    assert m["gri"] == 100.0 and m["gri_zone"] == "E"
    assert m["sd_mg_dl"] == 0.0 and m["mage"] is None  # no excursion in a flat trace
    assert len(m["hypo_events"]) == 1 and m["hypo_events"][0]["prolonged"] is True


def test_it_keeps_the_last_of_duplicate_timestamps():
    times, values = five_minutely([100, 110, 120])
    times = np.append(times, times[1])
    values = np.append(values, 200.0)  # same instant as 110, arrives later
    m = cgm_metrics(times, values, exact=True)
    assert m["readings"] == 3
    assert m["mean_mg_dl"] == pytest.approx((100 + 200 + 120) / 3)
    assert m["active_percent"] == 100.0


def test_it_measures_active_percent_over_gaps_and_windows():
    # one day, readings every 5 min but 00:00-06:00 missing: 216 of 288 slots
    times, values = five_minutely([120.0] * 288)
    keep = np.arange(288) >= 72
    m = cgm_metrics(times[keep], values[keep], start="2024-01-01", end="2024-01-01")
    assert m["active_percent"] == 75.0 and m["days"] == 1
    # over a 2-day window the same readings cover 216 / 576
    m2 = cgm_metrics(times[keep], values[keep], start="2024-01-01", end="2024-01-02")
    assert m2["active_percent"] == pytest.approx(37.5) and m2["days"] == 2


def test_it_converts_mmol_l_band_edges_into_the_right_bands():
    mmol = [2.9, 3.0, 3.8, 3.9, 10.0, 10.1, 13.9, 14.0]
    times, values = five_minutely([to_mg_dl(x, "mmol/L") for x in mmol])
    m = cgm_metrics(times, values, exact=True)
    # 2.9 very low; 3.0, 3.8 low; 3.9, 10.0 in range; 10.1, 13.9 high; 14.0 very high
    assert m["very_low_percent"] == 12.5 and m["low_percent"] == 25.0
    assert m["in_range_percent"] == 25.0 and m["high_percent"] == 25.0
    assert m["very_high_percent"] == 12.5


@pytest.mark.parametrize("day,hours", [("2019-03-31", 23), ("2019-10-27", 25), ("2019-05-01", 24)])
def test_it_counts_dst_days_in_bucharest(day, hours):
    times = every_5_minutes(f"{day} 00:00", f"{day} 23:55", "Europe/Bucharest")
    assert times.size == hours * 12
    values = np.full(times.size, 120.0)
    m = cgm_metrics(times, values, tz="Europe/Bucharest", start=day, end=day)
    assert m["days"] == 1 and m["readings"] == hours * 12
    assert m["active_percent"] == 100.0
    span = cgm_metrics(times, values, tz="Europe/Bucharest")
    assert span["days"] == 1 and span["active_percent"] == 100.0 and span["start"] == day


def test_it_uses_the_time_zone_passed_for_local_days():
    # A patient who moves: the metrics are computed in the zone of the request. 24 h of
    # readings from 2024-01-01 00:00 UTC are one day in UTC but two local days in New York.
    times, values = five_minutely([120.0] * 288)
    assert cgm_metrics(times, values, tz="UTC")["days"] == 1
    ny = cgm_metrics(times, values, tz="America/New_York")
    assert ny["days"] == 2 and ny["start"] == "2023-12-31"


def test_it_windows_readings_by_local_dates():
    times, values = five_minutely(np.r_[np.full(288, 100.0), np.full(288, 200.0)])
    m = cgm_metrics(times, values, start="2024-01-02", end="2024-01-02", exact=True)
    assert m["readings"] == 288 and m["mean_mg_dl"] == 200.0


@pytest.mark.parametrize("tz", ["UTC", "Europe/Bucharest"])
def test_it_gives_a_window_the_same_metrics_as_its_readings_alone(tz):
    """The window keeps the readings from local midnight of `start` to local midnight after
    `end` (a slice of the sorted readings): the metrics equal those of exactly those
    readings passed alone, selected here independently; unsorted and repeated input,
    windows cutting the data anywhere, a DST change (2024-03-31 in Bucharest)."""
    import pandas as pd

    rng = np.random.default_rng(31)
    cut = 0
    for _ in range(40):
        n = int(rng.integers(1, 6 * 288))
        times = np.datetime64("2024-03-28T00:00", "ns") + (
            np.arange(n) * 5 + int(rng.integers(0, 1440))
        ) * np.timedelta64(1, "m")
        values = np.round(rng.normal(140, 60, n)).clip(40, 400)
        if rng.random() < 0.3:
            order = rng.permutation(n)
            times, values = np.r_[times[order], times[:3]], np.r_[values[order], values[:3]]
        first = np.datetime64("2024-03-28") + np.timedelta64(int(rng.integers(0, 5)), "D")
        last = first + np.timedelta64(int(rng.integers(0, 3)), "D")
        local = pd.DatetimeIndex(times).tz_localize("UTC").tz_convert(tz).tz_localize(None)
        dates = local.normalize().to_numpy()
        inside = (dates >= first) & (dates <= last)
        # masking keeps the input order, so of repeated instants the same one is last
        window = {"tz": tz, "start": str(first), "end": str(last), "exact": True}
        ours = cgm_metrics(times, values, **window)
        alone = cgm_metrics(times[inside], values[inside], **window)
        assert ours == alone
        cut += not inside.all() and inside.any()
    assert cut > 20


def test_it_counts_active_percent_at_each_days_own_interval():
    # Issue #17 §5: one interval for the whole window read 14 days at 5 minutes (59.85 % on
    # the reporter's data) and called the data insufficient.
    times, values, expected = dexcom_then_libre()
    m = cgm_metrics(times, values, start="2024-01-01", end="2024-01-14", exact=True)
    assert m["readings"] == 7 * 268 + 7 * 89
    assert m["active_percent"] == pytest.approx(expected)  # 92.97 %
    assert m["sufficient"] is True
    span = cgm_metrics(times, values, exact=True)  # the span of the data, not whole days
    # From 01:40 on day 1 to 23:45 on day 14, each day at its interval, plus the first
    # reading: (24:00 - 01:40) / 5 + 6 x 288 + 6 x 96 + (23:45 - 00:00) / 15 + 1 = 2668.
    expected_span = 268 + 6 * 288 + 6 * 96 + 95 + 1
    assert span["active_percent"] == pytest.approx(100 * 2499 / expected_span)


def test_it_looks_up_the_same_kovatchev_risks_as_it_computes():
    """`risks` reads whole mg/dL from a table made by `kovatchev_risk` (#23): the same floats,
    at any length and memory offset (SIMD bodies and tails), and it computes the rest."""
    from glycemia.metrics import kovatchev_risk, risks

    rng = np.random.default_rng(4)
    for _ in range(300):
        n = int(rng.integers(1, 3000))
        offset = int(rng.integers(0, 8))
        buffer = np.empty(n + offset)
        values = buffer[offset:]
        values[:] = rng.integers(1, 1024, n)
        if rng.random() < 0.2:
            values[int(rng.integers(0, n))] += 0.5  # not whole: computed
        if rng.random() < 0.1:
            values[int(rng.integers(0, n))] = 1500.0  # beyond the table: computed
        for ours, theirs in zip(risks(values), kovatchev_risk(values), strict=True):
            assert np.array_equal(ours, theirs)


def test_it_counts_bands_of_whole_values_as_it_compares_them():
    """`summary` counts whole mg/dL readings from one histogram (#23): the same six counts as
    the comparisons with the DESIGN §5 bounds, values at and beside every bound included."""
    from glycemia.metrics import band_counts, whole_mg_dl, whole_sums

    edges = [1, 53, 54, 55, 69, 70, 71, 139, 140, 141, 179, 180, 181, 249, 250, 251, 1023]
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 500))
        values = rng.choice(edges, n) if rng.random() < 0.5 else rng.integers(1, 1024, n)
        values = values.astype("float64")
        whole = whole_mg_dl(values)
        assert whole_sums(whole)[0] == band_counts(values)
    assert whole_sums(np.array([50, 60, 100, 200, 300]))[0] == (1, 1, 1, 1, 1, 1)


def test_it_sums_whole_values_and_their_risks_from_the_histogram():
    """`summary` of whole mg/dL readings takes the sum of the values and of both Kovatchev
    risks from the band histogram (#23): the values' sum is exact, as summing them is; the
    risk sums equal every reading's risk computed from the formula and added up, to float
    rounding (grouped by value instead of reading by reading); the rest of the summary is
    the one the float path gives."""
    from glycemia.metrics import kovatchev_risk, summary, whole_mg_dl, whole_sums

    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(2, 5000))
        values = rng.integers(1, 1024 if rng.random() < 0.3 else 400, n).astype("float64")
        whole = whole_mg_dl(values)
        _, total, low_risk, high_risk = whole_sums(whole)
        assert total == values.sum()
        low, high = kovatchev_risk(values)
        assert low_risk == pytest.approx(math.fsum(low), rel=1e-13, abs=1e-300)
        assert high_risk == pytest.approx(math.fsum(high), rel=1e-13, abs=1e-300)
        by_table, by_formula = summary(values), summary(values, None)
        for key, value in by_formula.items():
            if key in ("lbgi", "hbgi"):
                assert by_table[key] == pytest.approx(value, rel=1e-13)
            else:
                assert by_table[key] == value, key
