"""The pure triage ranking: steps, goals from the plan, review order (no database)."""

import doctest

from workspace import ranking
from workspace.ranking import risk_rank, thresholds, tier, triage_flags


def test_it_passes_its_doctests():
    assert doctest.testmod(ranking).failed == 0


def test_it_imports_no_django():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(ranking))
    names = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in getattr(node, "names", [])
    ] + [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [n for n in names if n and n.startswith("django")]


CALM = {
    "mode": "cgm",
    "very_low_percent": 0.0,
    "below_percent": 1.0,
    "in_range_percent": 80.0,
    "tir_change": 0.0,
    "gri_zone": "A",
    "cv_percent": 30.0,
    "active_percent": 95.0,
}


def test_it_orders_the_steps_hypo2_hypo1_nodata_drop_gri():
    limits = thresholds(None)
    cases = [
        ({**CALM, "very_low_percent": 1.0}, 0.1, 0),  # level 2: 1.0 % does not meet "< 1 %"
        ({**CALM, "below_percent": 4.0}, 0.1, 1),  # level 1: 4.0 % does not meet "< 4 %"
        (CALM, 3.0, 2),  # no data for 3 days
        ({**CALM, "tir_change": -10.0}, 0.1, 3),
        ({**CALM, "gri_zone": "D"}, 0.1, 4),
        ({**CALM, "gri_zone": "C", "tir_change": -9.9}, 0.1, 5),
    ]
    for row, age, expected in cases:
        assert tier(triage_flags(row, limits, data_age_days=age)) == expected, row


def test_it_takes_the_goals_from_the_care_plan():
    older = {
        "range_low": 70,
        "range_high": 180,
        "goals": [{"key": "below_70_percent", "comparison": "<", "target": 1.0}],
    }
    row = {**CALM, "below_percent": 2.0}
    assert "low" in triage_flags(row, thresholds(older), data_age_days=0)
    assert "low" not in triage_flags(row, thresholds(None), data_age_days=0)


def test_it_flags_meter_only_patients_on_their_finger_sticks():
    limits = thresholds(None)
    row = {
        "mode": "meter",
        "meter_very_low_percent": 0.0,
        "meter_below_percent": 0.0,
        "meter_mean_mg_dl": 209.0,
        "meter_per_day": 1.0,
    }
    flags = triage_flags(row, limits, data_age_days=0.5, meter_readings_goal=4)
    assert flags == ["meter_high", "meter_adherence", "meter_only"]
    assert tier(flags) == 4


def test_it_puts_reviewed_patients_below_unreviewed_ones():
    assert risk_rank(5, 0.0, reviewed=False) < risk_rank(0, 100.0, reviewed=True)
    assert risk_rank(0, 40.0, reviewed=True) < risk_rank(1, 90.0, reviewed=True)
