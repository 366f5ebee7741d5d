"""Better / worse: the clinical direction and minimum meaningful change of glycemia.compare."""

import pytest

from glycemia.compare import MIN_CHANGE, compare_periods, period_verdict
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


# --- time below range first (issue #17) ----------------------------------------------------

# Mean 110 -> 85 mg/dL while time below 70 rose 1 % -> 3.5 % (0.5 + 3.0): the lower mean was
# called "better". Hand-worked: below 70 now 0.5 + 3.0 = 3.5 %, before 0.2 + 0.8 = 1.0 %, a
# rise of 2.5 points (minimum meaningful change for < 70: 1 point).
LOWS_BEFORE = {"very_low_percent": 0.2, "low_percent": 0.8, "mean_mg_dl": 110.0}
LOWS_NOW = {"very_low_percent": 0.5, "low_percent": 3.0, "mean_mg_dl": 85.0}


def test_it_does_not_call_a_lower_mean_better_while_time_below_range_rose():
    rows = _dirs(LOWS_NOW, LOWS_BEFORE)
    assert rows["mean_mg_dl"] == "not_judged"
    assert rows["low_percent"] == "worse"  # 0.8 -> 3.0: +2.2 points


def test_it_calls_the_period_worse_when_time_below_range_rose_above_its_goal():
    # Older / high-risk: below 70 < 1 %; 3.5 % is over it and rose from 1.0 %.
    verdict = period_verdict(LOWS_NOW, LOWS_BEFORE, targets=PRESETS["older_high_risk"])
    assert verdict["direction"] == "worse"
    first = verdict["reasons"][0]
    assert first["key"] == "below_70_percent"
    assert first["current"] == pytest.approx(3.5) and first["previous"] == pytest.approx(1.0)
    assert (first["comparison"], first["target"]) == ("<", 1.0)


def test_it_calls_the_period_worse_whatever_else_improved():
    # Standard plan (< 4 %): below 70 rose 1.0 -> 4.5 % while TIR rose 60 -> 80 %, GRI fell.
    before = {"very_low_percent": 0.2, "low_percent": 0.8, "in_range_percent": 60.0, "gri": 50.0}
    now = {"very_low_percent": 0.5, "low_percent": 4.0, "in_range_percent": 80.0, "gri": 30.0}
    assert _dirs(now, before)["in_range_percent"] == "better"
    verdict = period_verdict(now, before)
    assert verdict["direction"] == "worse"
    assert [r["key"] for r in verdict["reasons"]] == ["below_70_percent"]


def test_it_names_time_below_54_above_its_goal_too():
    # Below 54: 0.4 -> 1.4 % (goal < 1 %, +1.0 >= 0.5 points); below 70 2.0 -> 3.0 % stays < 4 %.
    before = {"very_low_percent": 0.4, "low_percent": 1.6}
    now = {"very_low_percent": 1.4, "low_percent": 1.6}
    verdict = period_verdict(now, before)
    assert [r["key"] for r in verdict["reasons"]] == ["very_low_percent"]


def test_it_gives_no_verdict_when_time_below_range_did_not_rise_or_is_within_goal():
    # Rose but within goal (standard < 4 %): no period verdict, the rows speak.
    assert period_verdict(LOWS_NOW, LOWS_BEFORE) is None
    # Over goal but falling (6.0 -> 4.5 %): not "worse" on this rule.
    before = {"very_low_percent": 1.0, "low_percent": 5.0}
    now = {"very_low_percent": 0.5, "low_percent": 4.0}
    assert period_verdict(now, before) is None
    # Over goal, risen within noise (4.5 -> 4.9, < 1 point): the row says "little change".
    assert (
        period_verdict(
            {"very_low_percent": 0.4, "low_percent": 4.5},
            {"very_low_percent": 0.4, "low_percent": 4.1},
        )
        is None
    )
    # Nothing to compare with.
    assert period_verdict(LOWS_NOW, {}) is None


def test_it_compares_a_pregnancy_plan_on_its_own_range():
    # 63-140: in range 60 -> 72 % (better); below 63 2.0 -> 5.0 % (over < 4 %, worse);
    # above 140 38 -> 23 % (better). The 70-180 bands are not compared: in 70-180 terms the
    # same period moved 96 -> 94 % "in range", which says nothing about a pregnancy plan.
    pregnancy = PRESETS["pregnancy_t1"]
    before = {
        "in_target_percent": 60.0,
        "below_target_percent": 2.0,
        "above_target_percent": 38.0,
        "very_low_percent": 0.5,
        "in_range_percent": 96.0,
        "low_percent": 1.5,
        "high_percent": 2.0,
    }
    now = {
        "in_target_percent": 72.0,
        "below_target_percent": 5.0,
        "above_target_percent": 23.0,
        "very_low_percent": 0.5,
        "in_range_percent": 94.0,
        "low_percent": 4.5,
        "high_percent": 1.0,
    }
    rows = _dirs(now, before, targets=pregnancy)
    assert rows == {
        "in_target_percent": "better",
        "below_target_percent": "worse",
        "above_target_percent": "better",
        "very_low_percent": "same",
    }
    verdict = period_verdict(now, before, targets=pregnancy)
    assert [r["key"] for r in verdict["reasons"]] == ["below_target_percent"]
    assert verdict["reasons"][0]["target"] == 4.0
