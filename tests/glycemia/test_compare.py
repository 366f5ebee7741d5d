from glycemia.compare import compare_periods


def _dirs(current, previous):
    return {r["key"]: r["direction"] for r in compare_periods(current, previous)}


def test_it_gives_clinical_directions():
    now = {
        "in_range_percent": 72.0,
        "low_percent": 3.0,
        "cv_percent": 30.0,
        "gri": 30.0,
        "active_percent": 95.0,
    }
    before = {
        "in_range_percent": 65.0,
        "low_percent": 2.0,
        "cv_percent": 38.0,
        "gri": 40.0,
        "active_percent": 80.0,
    }
    assert _dirs(now, before) == {
        "in_range_percent": "better",
        "low_percent": "worse",
        "cv_percent": "better",
        "gri": "better",
        "active_percent": "better",
    }


def test_it_judges_the_mean_by_distance_to_154():
    assert _dirs({"mean_mg_dl": 160.0}, {"mean_mg_dl": 190.0})["mean_mg_dl"] == "better"
    assert _dirs({"mean_mg_dl": 110.0}, {"mean_mg_dl": 150.0})["mean_mg_dl"] == "worse"
    assert _dirs({"mean_mg_dl": 150.2}, {"mean_mg_dl": 150.0})["mean_mg_dl"] == "same"


def test_it_reports_deltas_and_missing_values():
    rows = compare_periods(
        {"in_range_percent": 70.0, "mage": None}, {"in_range_percent": 70.0, "mage": 50.0}
    )
    assert rows[0] == {
        "key": "in_range_percent",
        "current": 70.0,
        "previous": 70.0,
        "delta": 0.0,
        "direction": "same",
    }
    assert rows[1]["direction"] is None and rows[1]["delta"] is None
