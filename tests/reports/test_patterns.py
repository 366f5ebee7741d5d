"""Pattern detection on hand-built arrays (pure module: no database)."""

import numpy as np

from reports import patterns


def night_arrays(low_nights: dict[int, int], nights: int = 14):
    """Every 15 min over `nights` days at 120 mg/dL; on each night listed, readings at 55
    for an hour starting at the given minute of the day."""
    minute = np.tile(np.arange(0, 1440, 15), nights)
    day = np.repeat(np.arange(nights), 96)
    values = np.full(minute.size, 120.0)
    for night, start in low_nights.items():
        values[(day == night) & (minute >= start) & (minute < start + 60)] = 55.0
    return minute, day, values


def test_it_finds_nocturnal_lows_and_their_usual_time():
    lows = {1: 150, 3: 140, 6: 160, 9: 130, 12: 150}  # 02:10–03:30ish, five nights
    minute, day, values = night_arrays(lows)
    found = patterns.nocturnal_lows(minute, day, values, nights=14)
    assert found["params"]["nights_with_lows"] == 5
    assert found["params"]["nights"] == 14
    assert (found["params"]["from"], found["params"]["to"]) == ("02:00", "04:00")
    assert found["text"] == "Lows below 70 mg/dL on 5 of 14 nights, mostly 02:00–04:00."


def test_it_ignores_a_single_low_night_and_daytime_lows():
    minute, day, values = night_arrays({2: 120, 5: 14 * 60})  # one night, one afternoon
    assert patterns.nocturnal_lows(minute, day, values, nights=14) is None


def test_it_finds_a_rise_after_breakfast_on_most_days():
    minute = np.tile(np.arange(6 * 60, 10 * 60, 15), 10)
    day = np.repeat(np.arange(10), 16)
    morning = np.concatenate([np.full(4, 110.0), np.linspace(110, 210, 8), np.full(4, 200.0)])
    values = np.tile(morning, 10)
    values[day >= 8] = 120.0  # two flat days
    found = patterns.breakfast_rise(minute, day, values)
    assert found["params"] == {"days_with_rise": 8, "days": 10, "median_rise_mg_dl": 100}


def test_it_does_not_call_small_morning_rises_a_pattern():
    minute = np.tile(np.arange(6 * 60, 10 * 60, 15), 10)
    day = np.repeat(np.arange(10), 16)
    values = 120 + 20 * np.sin(minute / 60.0)
    assert patterns.breakfast_rise(minute, day, values) is None


def test_it_flags_high_variability_above_36_percent_only():
    assert patterns.high_variability({"cv_percent": 36.0}) is None
    found = patterns.high_variability({"cv_percent": 41.25})
    # Full precision in params; the words round once, half away from zero (41.25 -> 41.3).
    assert found["params"]["cv_percent"] == 41.25
    assert found["text"] == "High glucose variability: CV 41.3 % (goal ≤ 36 %)."


def test_it_flags_insufficient_data():
    found = patterns.insufficient_data({"days": 14, "active_percent": 52.45})
    # As the sufficiency line shows CGM active: 1 decimal (it said "52 %" beside "52.5 %").
    assert found["text"] == "Insufficient data: 52.5 % active over 14 days."
    assert patterns.insufficient_data({"days": 14, "active_percent": 70.0}) is None
    assert patterns.insufficient_data({"days": 7, "active_percent": 99.0}) is not None


def test_it_finds_hypos_clustered_at_a_time_of_day():
    starts = [22 * 60 + 30, 23 * 60, 23 * 60 + 40, 12 * 60]  # three late evening, one noon
    found = patterns.hypo_cluster(starts)
    assert found["params"]["events_in_block"] == 3
    assert found["params"]["from"] in ("20:00", "21:00", "22:00")
    assert patterns.hypo_cluster([60, 13 * 60]) is None  # too few events
    assert patterns.hypo_cluster([0, 300, 600, 900, 1200, 1400]) is None  # spread out


def test_it_imports_no_django():
    import subprocess
    import sys

    code = (
        "import reports.patterns, sys; "
        "assert not [m for m in sys.modules if m.startswith('django')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
