"""The one rounding rule (glycemia.display), checked against hand-worked values."""

import math

import numpy as np
import pytest

from glycemia import display


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(4.15, 1, 4.2), (4.149, 1, 4.1), (4.19, 1, 4.2), (123.5, 0, 124.0), (-0.05, 1, -0.1)],
)
def test_it_rounds_half_away_from_zero_never_truncates(value, decimals, expected):
    assert display.rounded(value, decimals) == expected


def test_many_values_round_as_each_one_does_halves_included():
    """`rounded_many` (population figures) gives `rounded`'s float for every value: hand
    halves, values on a 0.05 grid (a half at one decimal, each a binary float just above or
    below it), random ones, huge ones and signed zeros."""
    assert display.rounded_many([4.15, 4.149, 4.19, 123.5, -0.05, 0.0], 1) == [
        4.2,
        4.1,
        4.2,
        123.5,
        -0.1,
        0.0,
    ]
    rng = np.random.default_rng(23)
    values = np.concatenate(
        [
            np.arange(-50, 50, 0.05),  # every other one a half at one decimal
            np.round(rng.uniform(-100, 100, 20_000), 3),  # halves at two decimals
            rng.uniform(-100, 100, 20_000),
            rng.uniform(-1e16, 1e16, 200),  # beyond 2**52 units of the last place
            [-0.0, -0.04, 2.5, -2.5, 0.15, 1.005, 2.675, math.nan],
        ]
    )
    for decimals in (0, 1, 2):
        many = display.rounded_many(values, decimals)
        for value, got in zip(values.tolist(), many, strict=True):
            want = display.rounded(value, decimals)
            if math.isnan(want):
                assert math.isnan(got)
            else:  # the same float, the same sign of zero
                assert (got, math.copysign(1, got)) == (want, math.copysign(1, want)), value


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


# --- values typed into an editor (issue #17 §2) -------------------------------------------


def test_it_keeps_the_stored_value_when_the_typed_one_shows_the_same():
    # 140 mg/dL / 18.01559 = 7.771 -> shown "7.8"; 7.8 × 18.01559 = 140.52 -> 141 if converted.
    assert display.glucose_entered(7.8, "mmol/L", 140) == 140
    assert display.glucose_entered(7.8, "mmol/L") == 141
    # 63 / 18.01559 = 3.497 -> "3.5"; 180 -> 9.991 -> "10.0"; 70 -> 3.886 -> "3.9".
    assert display.glucose_entered(3.5, "mmol/L", 63) == 63
    assert display.glucose_entered(10.0, "mmol/L", 180) == 180
    assert display.glucose_entered(3.9, "mmol/L", 70) == 70
    # The first value shown the same wins: the stored one, then (say) the chosen preset's.
    assert display.glucose_entered(7.8, "mmol/L", 180, 140) == 140
    # mg/dL: shown whole; 100.5 shows "101", so "101" (or 100.7) keeps 100.5.
    assert display.glucose_entered(101, "mg/dL", 100.5) == 100.5
    assert display.glucose_entered(100.7, "mg/dL", 100.5) == 100.5
    assert display.glucose_entered(140, "mg/dL", 140) == 140
    assert display.glucose_entered(None, "mmol/L", 140) is None


def test_it_converts_a_typed_value_that_really_changed():
    assert display.glucose_entered(7.9, "mmol/L", 140) == 142  # 7.9 × 18.01559 = 142.32
    assert display.glucose_entered(7.7, "mmol/L", 140) == 139  # 138.72
    assert display.glucose_entered(141, "mg/dL", 140) == 141
    assert display.glucose_entered(100.2, "mg/dL", 100.5) == 100.2


def test_every_plan_range_value_survives_an_unchanged_save_in_mmol_per_litre():
    # Plan ranges are 50-250 mg/dL: each, shown in mmol/L and typed back, is itself.
    for mg_dl in range(50, 251):
        shown = display.glucose_field(mg_dl, "mmol/L")
        assert display.glucose_entered(shown, "mmol/L", mg_dl) == mg_dl
        assert display.glucose_entered(display.glucose_field(mg_dl, "mg/dL"), "mg/dL", mg_dl) == (
            mg_dl
        )


def test_a_changed_mmol_value_is_shown_as_typed():
    # Whole mg/dL moves a value by at most 0.5 / 18.01559 = 0.028 mmol/L, under half a step.
    for tenths in range(28, 140):
        typed = tenths / 10
        stored = display.glucose_entered(typed, "mmol/L", 140)
        assert display.glucose(stored, "mmol/L", with_unit=False) == f"{typed:.1f}"


def test_it_shows_glucose_in_editor_fields_without_needless_decimals():
    assert display.glucose_field(140, "mmol/L") == 7.8
    assert display.glucose_field(180, "mmol/L") == 10.0
    assert str(display.glucose_field(140, "mg/dL")) == "140"
    assert display.glucose_field(123.5, "mg/dL") == 124  # half away from zero
    assert display.glucose_field(None, "mg/dL") is None


def test_it_keeps_a_stored_percentage_that_shows_the_same():
    assert display.percent_entered(4.3, 4.25) == 4.25  # 4.25 is shown "4.3"
    assert display.percent_entered(4.2, 4.25) == 4.2
    assert display.percent_entered(70.0, 70.0) == 70.0
    assert display.percent_entered(None, 4.0) is None


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
