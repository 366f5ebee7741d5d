import pytest

from glycemia.targets import PRESETS, evaluate, evaluate_metrics, range_percents

from .helpers import reference


def test_it_ships_the_battelino_2019_presets():
    std = {g["key"]: (g["comparison"], g["target"]) for g in PRESETS["standard"]["goals"]}
    assert std == {
        "in_range_percent": (">", 70.0),
        "below_70_percent": ("<", 4.0),
        "very_low_percent": ("<", 1.0),
        "above_180_percent": ("<", 25.0),
        "very_high_percent": ("<", 5.0),
        "cv_percent": ("<=", 36.0),
    }
    older = {g["key"]: g["target"] for g in PRESETS["older_high_risk"]["goals"]}
    assert older == {"in_range_percent": 50.0, "below_70_percent": 1.0, "very_high_percent": 10.0}
    preg = PRESETS["pregnancy_t1"]
    assert (preg["range_low"], preg["range_high"]) == (63, 140)


def test_it_computes_custom_range_percents_by_hand():
    # 63-140 inclusive: 60 below; 63, 100, 140 in; 141 above
    assert range_percents([60, 63, 100, 140, 141], 63, 140) == {
        "below_target_percent": 20.0,
        "in_target_percent": 60.0,
        "above_target_percent": 20.0,
    }


def test_it_evaluates_pregnancy_range_against_iglu():
    times, values, expected, _ = reference()
    results = {r["key"]: r for r in evaluate(times, values, "pregnancy_t1")}
    assert results["in_target_percent"]["value"] == pytest.approx(
        expected["in_range_63_140"], abs=0.005
    )
    assert results["in_target_percent"]["met"] is True
    assert results["above_target_percent"]["value"] == pytest.approx(
        expected["above_140"], abs=0.005
    )


def test_it_flags_goals_met_and_missed():
    metrics = {
        "in_range_percent": 65.0,
        "very_low_percent": 0.5,
        "low_percent": 4.0,
        "high_percent": 20.0,
        "very_high_percent": 6.0,
        "cv_percent": 36.0,
    }
    results = {r["key"]: r["met"] for r in evaluate_metrics(metrics, "standard")}
    # TIR 65 !> 70; <70 = 4.5 !< 4; <54 0.5 < 1; >180 = 26 !< 25; >250 6 !< 5; CV 36 <= 36
    assert results == {
        "in_range_percent": False,
        "below_70_percent": False,
        "very_low_percent": True,
        "above_180_percent": False,
        "very_high_percent": False,
        "cv_percent": True,
    }
    missing = evaluate_metrics({"in_range_percent": None}, "older_high_risk")
    assert missing[0]["met"] is None
