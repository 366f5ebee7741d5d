"""MAGE edge cases that the iglu reference file does not reach."""

import numpy as np

from glycemia.mage import mage

NS_PER_MINUTE = 60 * 10**9


def _sine(amplitude: float, readings: int = 300):
    """Readings every 5 min of 100 + amplitude·sin, one cycle every 5 hours."""
    start = np.datetime64("2024-03-01T00:00", "ns").astype("int64")
    times = start + np.arange(readings, dtype="int64") * 5 * NS_PER_MINUTE
    values = 100 + amplitude * np.sin(2 * np.pi * np.arange(readings) / 60)
    return times, values


def test_it_gives_no_mage_for_a_segment_whose_sd_is_below_one():
    # SD about 0.7 mg/dL: iglu's mage_atomic answers NA when the segment's SD is below 1.
    times, values = _sine(1.0)
    assert 0 < np.std(values, ddof=1) < 1
    assert mage(times, values) == {"mage": None, "mage_plus": None, "mage_minus": None}


def test_it_still_measures_excursions_when_sd_is_one_or_more():
    # Amplitude 20: every fall is peak (120) to trough (80), 40 mg/dL.
    times, values = _sine(20.0)
    assert np.std(values, ddof=1) > 1
    assert mage(times, values)["mage_minus"] == 40.0
