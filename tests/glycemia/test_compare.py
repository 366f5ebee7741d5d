"""Better / worse: the clinical direction and minimum meaningful change of glycemia.compare."""

from glycemia.compare import MIN_CHANGE, compare_periods
from glycemia.targets import PRESETS

LOWS_OK = {"very_low_percent": 0.2, "low_percent": 1.0}  # 1.2 % below 70: within < 4 %


def _dirs(current, previous, **kwargs):
    return {r["key"]: r["direction"] for r in compare_periods(current, previous, **kwargs)}


def test_it_gives_clinical_directions_for_meaningful_changes():
    now = {"in_range_percent": 72.0, "low_percent": 3.5, "cv_percent": 30.0, "gri": 30.0}
    before = {"in_range_percent": 65.0, "low_percent": 2.0, "cv_percent": 38.0, "gri": 40.0}
    assert _dirs(now, before) == {
        "in_range_percent": "better",
        "low_percent": "worse",
        "cv_percent": "better",
        "gri": "better",
    }


def test_it_calls_equal_shown_values_same():
    # GMI 7.8 -> 7.8 was "↑ worse".
    assert _dirs({"gmi_percent": 7.84}, {"gmi_percent": 7.76})["gmi_percent"] == "same"


def test_it_keeps_small_changes_neutral():
    # A 0.6-point change in CGM wear is noise (minimum meaningful change 5 points).
    assert MIN_CHANGE["active_percent"] == 5.0
    assert _dirs({"active_percent": 91.0}, {"active_percent": 90.4})["active_percent"] == "small"
    assert _dirs({"in_range_percent": 68.0}, {"in_range_percent": 65.0})["in_range_percent"] == (
        "small"
    )


def test_it_calls_a_lower_mean_better_while_lows_are_within_goal():
    # 128 -> 124 mg/dL was "worse" (distance to 154); a fall of 10 is better.
    assert _dirs({**LOWS_OK, "mean_mg_dl": 124.0}, {"mean_mg_dl": 128.0})["mean_mg_dl"] != "worse"
    assert _dirs({**LOWS_OK, "mean_mg_dl": 118.0}, {"mean_mg_dl": 128.0})["mean_mg_dl"] == "better"
    assert _dirs({**LOWS_OK, "gmi_percent": 7.5}, {"gmi_percent": 7.8})["gmi_percent"] == "better"


def test_it_does_not_judge_the_mean_when_time_below_range_is_above_goal():
    # 5.7 -> 5.9 mmol/L (103 -> 106 mg/dL) and 103 -> 115 with 28.5 % below range.
    lows = {"very_low_percent": 10.0, "low_percent": 18.5}
    rows = _dirs({**lows, "mean_mg_dl": 115.0}, {"mean_mg_dl": 103.0}, unit="mmol/L")
    assert rows["mean_mg_dl"] == "not_judged"
    rows = _dirs({**lows, "mean_mg_dl": 90.0}, {"mean_mg_dl": 103.0})
    assert rows["mean_mg_dl"] == "not_judged"


def test_it_uses_the_plans_own_below_range_goal():
    # Older / high-risk: below 70 < 1 %; 2 % below 70 is above that goal.
    lows = {"very_low_percent": 0.5, "low_percent": 1.5}
    older = PRESETS["older_high_risk"]
    assert (
        _dirs({**lows, "mean_mg_dl": 140.0}, {"mean_mg_dl": 160.0}, targets=older)["mean_mg_dl"]
        == "not_judged"
    )
    assert _dirs({**lows, "mean_mg_dl": 140.0}, {"mean_mg_dl": 160.0})["mean_mg_dl"] == "better"


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
