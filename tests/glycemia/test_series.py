"""Array plumbing: instants in every accepted form become the same epoch nanoseconds."""

import datetime as dt

import numpy as np

from glycemia.series import as_ns, clean_series

EPOCH_NS_2016 = 1_451_606_400_000_000_000  # 2016-01-01T00:00:00Z, by hand: 16801 days * 86400 s


def test_it_reads_aware_datetimes_as_nanoseconds():
    stamps = np.array([dt.datetime(2016, 1, 1, tzinfo=dt.UTC)], dtype=object)
    assert as_ns(stamps).tolist() == [EPOCH_NS_2016]


def test_it_reads_datetime64_of_any_unit():
    assert as_ns(np.array(["2016-01-01T00:00"], dtype="datetime64[s]"))[0] == EPOCH_NS_2016
    assert as_ns(np.array(["2016-01-01"], dtype="datetime64[D]"))[0] == EPOCH_NS_2016


def test_it_keeps_the_last_of_equal_instants_and_sorts():
    t = np.array([3, 1, 3, 2], dtype="int64")
    t_clean, v_clean = clean_series(t, [30.0, 10.0, 31.0, 20.0])
    assert t_clean.tolist() == [1, 2, 3] and v_clean.tolist() == [10.0, 20.0, 31.0]
