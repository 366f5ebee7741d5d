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


def test_it_decides_met_on_the_value_as_shown():
    # 3.96 % below 70 shows as "4.0 %": "4.0 %, goal < 4 %" must be "not met".
    metrics = {"very_low_percent": 0.46, "low_percent": 3.5}
    results = {r["key"]: r["met"] for r in evaluate_metrics(metrics, "standard")}
    assert results["below_70_percent"] is False


def test_it_gives_the_bands_in_the_plans_own_range():
    from glycemia.targets import band_rows

    # Pregnancy 63-140: 1 % < 54, 5 % < 63, 77.1 % in 63-140, 17.9 % > 140 of which 2 % > 250.
    metrics = {
        "very_low_percent": 1.0,
        "low_percent": 3.0,
        "in_range_percent": 91.6,
        "high_percent": 2.4,
        "very_high_percent": 2.0,
        "below_target_percent": 5.0,
        "in_target_percent": 77.1,
        "above_target_percent": 17.9,
    }
    rows = {r["band"]: r for r in band_rows(metrics, PRESETS["pregnancy_t1"])}
    assert rows["in_range"]["percent"] == 77.1 and rows["in_range"]["low"] == 63
    assert rows["low"]["percent"] == pytest.approx(4.0) and rows["low"]["high"] == 63
    assert rows["high"]["percent"] == pytest.approx(15.9) and rows["high"]["low"] == 140
    assert rows["in_range"]["goal"]["target"] == 70.0
    assert rows["low"]["goal"]["key"] == "below_target_percent"
    assert rows["low"]["goal"]["cumulative"] is True
    # Older / high-risk: TIR goal > 50 % (not the standard 70 %).
    older = {r["band"]: r for r in band_rows(metrics, PRESETS["older_high_risk"])}
    assert older["in_range"]["goal"]["target"] == 50.0 and older["in_range"]["percent"] == 91.6


def test_it_judges_sufficiency_against_the_reports_own_period():
    from glycemia.targets import sufficiency

    assert sufficiency(days=7, period_days=7, active_percent=85.0)["sufficient"] is True
    assert sufficiency(days=14, period_days=14, active_percent=69.94)["sufficient"] is False
    assert sufficiency(days=10, period_days=14, active_percent=95.0)["sufficient"] is False
    assert sufficiency(days=28, period_days=28, active_percent=70.0)["required_days"] == 14


def test_it_evaluates_finger_stick_averages_against_meal_targets():
    from glycemia.targets import evaluate_meter

    metrics = {
        "by_meal_tag": {
            "fasting": {"readings": 14, "mean_mg_dl": 130.4},  # shown 130: within 80-130
            "before_meal": {"readings": 0, "mean_mg_dl": None},
            "after_meal": {"readings": 10, "mean_mg_dl": 181.0},
        }
    }
    rows = {r["tag"]: r for r in evaluate_meter(metrics, PRESETS["standard"])}
    assert rows["fasting"]["met"] is True and rows["fasting"]["high"] == 130
    assert rows["before_meal"]["met"] is None
    assert rows["after_meal"]["met"] is False
    pregnancy = {r["tag"]: r for r in evaluate_meter(metrics, PRESETS["pregnancy_t1"])}
    assert pregnancy["fasting"]["high"] == 95 and pregnancy["fasting"]["met"] is False
