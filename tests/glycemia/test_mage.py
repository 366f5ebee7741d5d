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


def test_mage_many_gives_each_patients_mage_in_any_row_order():
    """The population path skips its sort when rows come ordered (#23); shuffled rows, a
    repeated instant (the last kept) and missing values give the same answers."""
    from glycemia.mage import mage_many

    a_t, a_v = _sine(20.0)
    b_t, b_v = _sine(35.0, readings=400)
    expected = {1: mage(a_t, a_v)["mage"], 2: mage(b_t, b_v)["mage"]}
    assert None not in expected.values()
    pid = np.concatenate((np.full(a_t.size, 1), np.full(b_t.size, 2)))
    t = np.concatenate((a_t, b_t)).astype("datetime64[ns]")
    v = np.concatenate((a_v, b_v))
    assert mage_many(pid, t, v) == expected
    order = np.random.default_rng(7).permutation(pid.size)
    assert mage_many(pid[order], t[order], v[order]) == expected
    # A repeated instant with another value (dropped: the last row wins) and a NaN row.
    pid2 = np.concatenate(([1, 2], pid))
    t2 = np.concatenate((t[10:11], t[a_t.size : a_t.size + 1], t))
    v2 = np.concatenate(([500.0, np.nan], v))
    assert mage_many(pid2[::-1], t2[::-1], v2[::-1]) != expected  # the 500 is last now
    assert mage_many(pid2, t2, v2) == expected
