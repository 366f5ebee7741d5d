import numpy as np

from glycemia.meter import meter_metrics


def test_it_summarises_finger_sticks_by_hand():
    t = np.array(
        [
            "2024-01-01T07:00",
            "2024-01-01T13:00",
            "2024-01-01T22:00",
            "2024-01-02T07:00",
            "2024-01-02T09:00",
        ],
        dtype="datetime64[ns]",
    )
    v = np.array([50.0, 190.0, 120.0, 100.0, 65.0])
    tags = ["fasting", "after_meal", "bedtime", "fasting", None]
    m = meter_metrics(t, v, tags, tz="UTC", schedule={"fasting": 1, "bedtime": 1})
    assert m["kind"] == "smbg" and m["readings"] == 5 and m["days"] == 2
    assert m["readings_per_day"] == 2.5
    assert m["mean_mg_dl"] == 105.0  # 525 / 5
    assert m["in_target_percent"] == 40.0  # 120, 100
    assert (m["below_70"], m["below_54"]) == (2, 1)
    assert m["by_meal_tag"]["fasting"] == {"readings": 2, "mean_mg_dl": 75.0}
    assert m["by_meal_tag"]["untagged"]["readings"] == 1
    assert m["adherence_percent"] == 50.0  # only day 1 has fasting and bedtime
    assert "in_range_percent" not in m and "agp" not in m
    assert meter_metrics(t, v, tags, schedule=2)["adherence_percent"] == 100.0


def test_it_handles_no_readings():
    m = meter_metrics(np.array([], dtype="datetime64[ns]"), np.array([]), [])
    assert m["readings"] == 0 and m["mean_mg_dl"] is None and m["adherence_percent"] is None
