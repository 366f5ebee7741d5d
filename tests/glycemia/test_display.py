"""The one rounding rule (glycemia.display), checked against hand-worked values."""

import pytest

from glycemia import display


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(4.15, 1, 4.2), (4.149, 1, 4.1), (4.19, 1, 4.2), (123.5, 0, 124.0), (-0.05, 1, -0.1)],
)
def test_it_rounds_half_away_from_zero_never_truncates(value, decimals, expected):
    assert display.rounded(value, decimals) == expected


def test_it_shows_percentages_and_gmi_rounded_not_truncated():
    # The HTML table used to truncate: time below 54 of 4.19 % read "4.1 %".
    assert display.percent(4.19) == "4.2 %"
    assert display.gmi(6.26) == "6.3 %"
    assert display.cv(36.04) == "36.0 %"
    assert display.percent(None) == "—"


def test_it_shows_glucose_in_the_viewers_unit_with_the_unit_named():
    assert display.glucose(123.6, "mg/dL") == "124 mg/dL"
    assert display.glucose(180, "mmol/L") == "10.0 mmol/L"  # 180 / 18.01559 = 9.99
    assert display.glucose(63, "mmol/L", with_unit=False) == "3.5"
    assert display.glucose_range(63, 140, "mmol/L") == "3.5–7.8 mmol/L"
    assert display.factor(50, "mmol/L") == "2.8 mmol/L/U"  # 50 / 18.01559 = 2.78


@pytest.mark.parametrize(
    ("value", "comparison", "target", "met"),
    [
        (3.96, "<", 4, False),  # shown "4.0 %": "4.0 %, goal < 4 %" must read "not met"
        (3.94, "<", 4, True),  # shown "3.9 %"
        (70.04, ">", 70, False),  # shown "70.0 %"
        (36.04, "<=", 36, True),  # shown "36.0 %"
        (None, "<", 4, None),
    ],
)
def test_it_decides_goals_on_the_shown_value(value, comparison, target, met):
    assert display.goal_met(value, comparison, target) is met


def test_it_writes_goals_with_readable_signs():
    assert display.goal_text("<", 4.0) == "< 4 %"
    assert display.goal_text("<=", 36.0) == "≤ 36 %"


def test_it_shows_instants_in_the_patients_local_time():
    # 2026-03-04 18:10 UTC is 02:10 the next morning in Shanghai (UTC+8), 20:10 in Bucharest.
    assert display.local_time("2026-03-04T18:10:00+00:00", "Asia/Shanghai") == "2026-03-05 02:10"
    assert display.local_time("2026-03-04T18:10:00+00:00", "Europe/Bucharest") == "2026-03-04 20:10"
    assert display.zone_label("Asia/Shanghai").startswith("Asia/Shanghai, UTC+08:00")


@pytest.mark.parametrize(
    ("value", "expected"),
    # Hand-worked, half away from zero to 1 decimal; 4.05 and 95.95 are 4.0499.. and 95.950..
    # as binary floats: rounded from their repr, not their binary value.
    [(4.05, "4.1 %"), (4.15, "4.2 %"), (99.95, "100.0 %"), (99.5, "99.5 %"), (0.05, "0.1 %")],
)
def test_it_rounds_percentages_at_the_boundaries(value, expected):
    assert display.percent(value) == expected


def test_it_shows_gri_changes_and_finger_sticks_a_day_at_their_precision():
    assert display.gri(9.75) == "9.8" and display.gri(9.7087) == "9.7"
    assert display.signed(4.15) == "+4.2" and display.signed(-0.05) == "−0.1"
    assert display.signed(-0.04) == "±0.0"  # the sign of the shown number
    assert display.per_day(3.55) == "3.6" and display.per_day(None) == "—"
