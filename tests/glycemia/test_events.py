import numpy as np

from glycemia.events import hyper_events, hypo_events

T0 = np.datetime64("2024-01-01T00:00:00", "ns")


def series(values, minutes=5):
    values = np.asarray(values, dtype="float64")
    t = (T0 + np.arange(values.size) * np.timedelta64(minutes, "m")).view("int64")
    return t, values


def test_it_needs_15_minutes_below_70():
    # 1-minute readings: 14 below lasts 14 min (no event), 15 below lasts 15 min (event)
    t, v = series([100] * 10 + [65] * 14 + [100] * 20, minutes=1)
    assert hypo_events(t, v, 1) == []
    t, v = series([100] * 10 + [65] * 15 + [100] * 20, minutes=1)
    events = hypo_events(t, v, 1)
    assert len(events) == 1
    assert events[0]["duration_minutes"] == 15.0 and events[0]["level"] == 1
    assert (
        events[0]["start"] == "2024-01-01T00:10:00Z" and events[0]["end"] == "2024-01-01T00:25:00Z"
    )


def test_it_counts_three_5_minute_readings_as_15_minutes():
    t, v = series([100, 65, 62, 60, 100, 100, 100, 100])
    (event,) = hypo_events(t, v, 5)
    assert event["duration_minutes"] == 15.0 and event["nadir_mg_dl"] == 60.0
    t, v = series([100, 65, 62, 100, 100, 100, 100])
    assert hypo_events(t, v, 5) == []


def test_it_ends_an_event_only_after_15_minutes_back_in_range():
    # below 15 min, up 10 min (2 readings), below 15 min again: one event of 40 min
    t, v = series([100, 60, 60, 60, 80, 80, 60, 60, 60, 100, 100, 100])
    (event,) = hypo_events(t, v, 5)
    assert event["duration_minutes"] == 40.0
    # up for 15 min (3 readings) -> two events
    t, v = series([100, 60, 60, 60, 80, 80, 80, 60, 60, 60, 100, 100, 100])
    assert len(hypo_events(t, v, 5)) == 2


def test_it_marks_level_2_and_prolonged():
    t, v = series([100] + [50] * 3 + [100] * 4)
    (event,) = hypo_events(t, v, 5)
    assert event["level"] == 2 and event["prolonged"] is False
    t, v = series([100] + [50] * 24 + [100] * 4)  # 24 x 5 = 120 minutes < 54
    (event,) = hypo_events(t, v, 5)
    assert event["level"] == 2 and event["prolonged"] is True and event["duration_minutes"] == 120


def test_it_breaks_events_at_gaps():
    # 2 readings below, a 30-minute gap (> 2 x 5), 2 readings below: no 15-min run
    t, v = series([100, 60, 60, 60, 60, 100])
    t = t.copy()
    t[3:] += 30 * 60_000_000_000
    assert hypo_events(t, v, 5) == []
    # a gap ends a running event at the end of its last reading
    t, v = series([100, 60, 60, 60, 60, 100])
    t = t.copy()
    t[5:] += 60 * 60_000_000_000
    (event,) = hypo_events(t, v, 5)
    assert event["duration_minutes"] == 20.0


def test_it_finds_extended_hyperglycaemia_from_120_minutes():
    t, v = series([200] + [260] * 23 + [200] * 4)  # 115 min > 250
    assert hyper_events(t, v, 5) == []
    t, v = series([200] + [260] * 23 + [300] + [200] * 4)  # 120 min
    (event,) = hyper_events(t, v, 5)
    assert event["level"] == "extended" and event["peak_mg_dl"] == 300.0
    assert event["duration_minutes"] == 120.0
