"""Plan suggestions (issue #21 §1) on hand-built readings: no database.

Expected numbers are worked by hand from the published tables (Riddle 2003 Table 1; ADA 2024
Fig. 9.4), written next to each case, never taken from the code's output.
"""

import copy

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from glycemia import display
from glycemia import suggestions as sg
from glycemia.targets import PRESETS

FIRST, LAST = "2024-05-01", "2024-05-14"  # a 14-day report
FASTING_HOUR = (6 * 60, 7 * 60)  # the hour before the default wake time 07:00
BEDTIME_HOUR = (21 * 60, 22 * 60)  # the hour before the default bedtime 22:00


def cgm(value=None, *, first=FIRST, days=14, tz="UTC", every=5):
    """Readings every `every` minutes over `days` local days from `first`, as epoch-second
    datetime64 (UTC). ``value(day, minute)`` gets arrays (day index from 0, local minute of
    the day) and returns mg/dL; the default is a flat 150."""
    local = pd.date_range(first, periods=days * 1440 // every, freq=f"{every}min")
    day = np.asarray((local.normalize() - pd.Timestamp(first)).days)
    minute = np.asarray(local.hour * 60 + local.minute)
    values = np.full(local.size, 150.0) if value is None else np.asarray(value(day, minute), float)
    utc = local.tz_localize(tz).tz_convert("UTC").tz_localize(None)
    return utc.to_numpy().astype("datetime64[s]"), values


def in_hour(minute, hour):
    return (minute >= hour[0]) & (minute < hour[1])


def fasting_days(values_by_day, other=150.0):
    """A trace whose fasting hour on day d reads values_by_day[d], flat `other` elsewhere."""
    fasting = np.asarray(values_by_day, float)
    return lambda d, m: np.where(in_hour(m, FASTING_HOUR), fasting[d], other)


BASAL = {
    "kind": "insulin_basal",
    "product": "Insulin glargine",
    "dose": 20,
    "dose_unit": "U",
    "timing": "bedtime",
    "frequency": "once daily",
    "titration_algorithm": "treat_to_target",
}
BOLUS = {
    "kind": "insulin_bolus",
    "product": "Insulin aspart",
    "dose": 6,
    "dose_unit": "U",
    "timing": "with meals",
    "frequency": "three times daily",
    "carb_ratio_g_per_u": 10,
}
SULFONYLUREA = {
    "kind": "sulfonylurea",
    "product": "Gliclazide MR",
    "dose": 60,
    "dose_unit": "mg",
    "timing": "breakfast",
    "frequency": "once daily",
}
METFORMIN = {"kind": "metformin", "product": "Metformin", "dose": 1000, "dose_unit": "mg"}


def plan(*medications, preset="standard", **extra):
    targets = {**copy.deepcopy(PRESETS[preset]), "preset": preset}
    return {"targets": targets, "medications": [dict(m) for m in medications], **extra}


def run(content, times=None, values=None, **kwargs):
    kwargs.setdefault("tz", "UTC")
    kwargs.setdefault("start", FIRST)
    kwargs.setdefault("end", LAST)
    kwargs.setdefault("diabetes_type", "T2")
    return sg.evaluate_rules(content, times=times, values=values, **kwargs)


def kinds(result):
    return [s["kind"] for s in result["suggestions"]]


def decreases(result):
    return [k for k in kinds(result) if k.endswith("_decrease")]


def only(result, kind):
    found = [s for s in result["suggestions"] if s["kind"] == kind]
    assert len(found) == 1, result
    return found[0]


def reasons(result, rule):
    return " | ".join(n["reason"] for n in result["not_proposed"] if n["rule"] == rule)


def dates(first_day, last_day):
    return [str(d.date()) for d in pd.date_range(first_day, last_day)]


# --- Treat-to-Target (Riddle 2003, Table 1) ------------------------------------------------


def test_it_reads_the_treat_to_target_table_with_half_open_bands():
    # >= 180: +8; [140, 180): +6; [120, 140): +4; [100, 120): +2; below 100: nothing.
    table = {250: 8, 180: 8, 179.9: 6, 140: 6, 139.9: 4, 120: 4, 119.9: 2, 100: 2, 99.9: 0}
    assert {x: sg.treat_to_target_increase(x) for x in table} == table


def test_it_adds_8_units_at_a_mean_fasting_glucose_of_exactly_180():
    t, v = cgm(fasting_days([180] * 14))
    result = run(plan(BASAL), t, v)
    increase = only(result, "basal_increase")
    assert increase["rule"] == "basal_titration"
    assert increase["proposed_change"] == {"medications.0.dose": {"from": 20, "to": 28}}
    assert increase["blocked_by"] == []
    assert increase["evidence"]["days"] == ["2024-05-13", "2024-05-14"]  # the preceding 2 days
    assert "Riddle" in increase["source"] and "Diabetes Care 2003" in increase["source"]
    assert "Insulin glargine" in increase["evidence"]["summary"]


def test_it_adds_6_units_at_exactly_140_and_averages_the_last_two_days():
    # Days 13 and 14 read 130 and 150: mean 140 -> +6 (the earlier 300s do not count).
    t, v = cgm(fasting_days([300] * 12 + [130, 150]))
    assert only(run(plan(BASAL), t, v), "basal_increase")["proposed_change"] == {
        "medications.0.dose": {"from": 20, "to": 26}
    }


def test_it_judges_the_mean_as_shown_in_whole_mg_dl():
    # (179 + 179.8) / 2 = 179.4, shown 179 -> [140, 180) +6; (179 + 180) / 2 = 179.5, shown
    # 180 (half away from zero) -> +8: the band agrees with the number on the page.
    for last_two, units in (([179, 179.8], 6), ([179, 180], 8)):
        t, v = cgm(fasting_days([200] * 12 + last_two))
        change = only(run(plan(BASAL), t, v), "basal_increase")["proposed_change"]
        assert change["medications.0.dose"]["to"] == 20 + units


def test_it_proposes_nothing_at_or_below_the_fasting_goal():
    # Standard fasting goal 80-130 (ADA 6): mean 130 is at goal, 99.9 is far below the
    # table's lowest band -> nothing; older/high-risk goal 90-150: 150 -> nothing, 151 -> +6.
    for mean in (130, 99.9):
        t, v = cgm(fasting_days([mean] * 14))
        result = run(plan(BASAL), t, v)
        assert "basal_increase" not in kinds(result)
        assert "not above the fasting goal" in reasons(result, "basal_titration")
    t, v = cgm(fasting_days([150] * 14))
    assert "basal_increase" not in kinds(run(plan(BASAL, preset="older_high_risk"), t, v))
    t, v = cgm(fasting_days([151] * 14))
    change = only(run(plan(BASAL, preset="older_high_risk"), t, v), "basal_increase")
    assert change["proposed_change"]["medications.0.dose"]["to"] == 26


def test_it_allows_an_increase_after_a_fasting_value_of_exactly_72_but_not_71_9():
    # Riddle 2003: no increase after a glucose < 72 mg/dL in the preceding week. Day 10
    # (2024-05-10) is inside the last 7 days; the mean of days 13-14 is 200 -> +8.
    allowed = [200.0] * 14
    allowed[9] = 72.0
    t, v = cgm(fasting_days(allowed))
    assert only(run(plan(BASAL), t, v), "basal_increase")["proposed_change"] is not None

    blocked = [200.0] * 14
    blocked[9] = 71.9
    t, v = cgm(fasting_days(blocked))
    result = run(plan(BASAL), t, v)
    assert "basal_increase" not in kinds(result)
    assert "71.9 mg/dL on 2024-05-10" in reasons(result, "basal_titration")


def test_it_looks_for_fasting_values_below_72_in_the_preceding_week_only():
    early = [200.0] * 14
    early[6] = 71.9  # 2024-05-07: eight days before the end, outside the week
    t, v = cgm(fasting_days(early))
    assert only(run(plan(BASAL), t, v), "basal_increase")["proposed_change"] is not None


def test_it_adds_2_units_by_the_ada_rule_whatever_the_band():
    basal = {**BASAL, "titration_algorithm": "ada_2_units_every_3_days"}
    t, v = cgm(fasting_days([200] * 14))
    increase = only(run(plan(basal), t, v), "basal_increase")
    assert increase["proposed_change"] == {"medications.0.dose": {"from": 20, "to": 22}}
    assert increase["evidence"]["days"] == dates("2024-05-12", LAST)  # the last 3 days
    assert "2 units every 3 days" in increase["source"]


def test_it_reads_the_titration_table_the_plan_names_for_the_whole_plan():
    # care_plans stores one table per plan (content "titration_algorithm"), not per insulin.
    basal = {k: v for k, v in BASAL.items() if k != "titration_algorithm"}
    t, v = cgm(fasting_days([200] * 14))
    ada = plan(basal, titration_algorithm="ada_2_units_every_3_days")
    assert only(run(ada, t, v), "basal_increase")["proposed_change"] == {
        "medications.0.dose": {"from": 20, "to": 22}
    }
    assert "basal_increase" not in kinds(run(plan(basal, titration_algorithm=""), t, v))


def test_it_waits_for_a_basal_change_to_settle_for_the_algorithms_interval():
    t, v = cgm(fasting_days([200] * 14))
    # Treat-to-Target titrates weekly: changed 6 days before the end -> wait; 7 -> go.
    result = run(plan(BASAL), t, v, changed_on={"insulin_basal": "2024-05-08"})
    assert "basal_increase" not in kinds(result)
    assert "changed on 2024-05-08" in reasons(result, "basal_titration")
    result = run(plan(BASAL), t, v, changed_on={"insulin_basal": "2024-05-07"})
    assert only(result, "basal_increase")["proposed_change"] is not None
    # The ADA rule every 3 days: 2 days -> wait; 3 -> go.
    ada = {**BASAL, "titration_algorithm": "ada_2_units_every_3_days"}
    assert "basal_increase" not in kinds(
        run(plan(ada), t, v, changed_on={"insulin_basal": "2024-05-12"})
    )
    assert "basal_increase" in kinds(
        run(plan(ada), t, v, changed_on={"insulin_basal": "2024-05-11"})
    )


def test_it_refuses_to_titrate_without_its_conditions():
    t, v = cgm(fasting_days([200] * 14))
    cases = {
        "type 2": run(plan(BASAL), t, v, diabetes_type="T1"),
        "no basal insulin": run(plan(METFORMIN), t, v),
        "no titration algorithm": run(plan({**BASAL, "titration_algorithm": ""}), t, v),
        "no dose": run(plan({**BASAL, "dose": "lots"}), t, v),
    }
    for words, result in cases.items():
        assert "basal_increase" not in kinds(result), words
        assert words in reasons(result, "basal_titration"), (words, result["not_proposed"])


def test_it_refuses_to_titrate_on_less_than_70_percent_wear_in_the_window():
    # The last 7 days keep readings only from 00:00 to 14:00: 58.3 % of the week.
    t, v = cgm(fasting_days([200] * 14))
    day = (t - np.datetime64(FIRST)).astype("timedelta64[D]").astype(int)
    minute = ((t - np.datetime64(FIRST)).astype("timedelta64[m]").astype(int)) % 1440
    keep = (day < 7) | (minute < 14 * 60)
    result = run(plan(BASAL), t[keep], v[keep])
    assert "basal_increase" not in kinds(result)
    assert "58.3 %" in reasons(result, "basal_titration")


def test_it_needs_two_fasting_days_for_the_treat_to_target_mean():
    # Only the last morning has fasting readings (the others are missing 06:00-07:00).
    t, v = cgm(fasting_days([200] * 14))
    minute = ((t - np.datetime64(FIRST)).astype("timedelta64[m]").astype(int)) % 1440
    day = (t - np.datetime64(FIRST)).astype("timedelta64[D]").astype(int)
    keep = ~in_hour(minute, FASTING_HOUR) | (day == 13)
    result = run(plan(BASAL), t[keep], v[keep])
    assert "basal_increase" not in kinds(result)
    assert "1 days with a fasting value" in reasons(result, "basal_titration")


def test_it_reads_the_fasting_hour_before_the_plans_wake_time():
    # Wake at 05:30: the fasting hour is 04:30-05:30, which reads 190 (the 06:00 hour reads
    # 120): mean 190 -> +8.
    def value(d, m):
        return np.where((m >= 270) & (m < 330), 190.0, np.where(in_hour(m, FASTING_HOUR), 120, 150))

    t, v = cgm(value)
    assert "basal_increase" not in kinds(run(plan(BASAL), t, v))
    result = run(plan(BASAL, wake_time="05:30"), t, v)
    assert only(result, "basal_increase")["proposed_change"]["medications.0.dose"]["to"] == 28


def test_it_titrates_a_meter_only_patient_on_fasting_tagged_readings():
    # Fasting finger-sticks: 185 on 05-13 and 190 on 05-14 -> mean 187.5, shown 188 -> +8.
    stamps = ["2024-05-13T06:30", "2024-05-13T13:00", "2024-05-14T06:40", "2024-05-14T19:00"]
    meter = {
        "meter_times": np.array(stamps, dtype="datetime64[s]"),
        "meter_values": [185, 250, 190, 260],
        "meter_tags": ["fasting", "after_meal", "fasting", ""],
    }
    result = run(plan(BASAL), **meter)
    increase = only(result, "basal_increase")
    assert increase["proposed_change"]["medications.0.dose"]["to"] == 28
    assert increase["evidence"]["days"] == ["2024-05-13", "2024-05-14"]
    assert sg.meter_fasting_by_day(*meter.values(), tz="UTC") == {
        "2024-05-13": 185.0,
        "2024-05-14": 190.0,
    }


def test_it_computes_fasting_values_in_the_patients_local_time():
    # Bucharest is UTC+3 in May: 06:00-07:00 local is 03:00-04:00 UTC.
    t = np.array(["2024-05-02T03:05", "2024-05-02T03:25", "2024-05-02T03:45", "2024-05-02T04:10"])
    assert sg.fasting_by_day(
        t.astype("datetime64[s]"), [150, 140, 146, 90], tz="Europe/Bucharest"
    ) == {"2024-05-02": 146.0}
    # A wake time of 00:30 takes 23:30-00:30, for the new day.
    t = np.array(["2024-05-01T23:35", "2024-05-01T23:50", "2024-05-02T00:10"], "datetime64[s]")
    assert sg.fasting_by_day(t, [100, 110, 120], tz="UTC", wake_time="00:30") == {
        "2024-05-02": 110.0
    }


# --- Hypoglycaemia first (ADA 2024 Fig. 9.4) ----------------------------------------------


def night_lows(value, nights=range(14), fasting=200.0):
    """Flat 150, fasting hour `fasting`, and `value` from 02:00 to 03:25 (18 readings at
    5 minutes) on the given nights: 14 nights are 252 of 4032 readings, 6.25 %."""
    nights = np.asarray(list(nights))
    return lambda d, m: np.where(
        (m >= 120) & (m < 210) & np.isin(d, nights),
        value,
        np.where(in_hour(m, FASTING_HOUR), fasting, 150.0),
    )


def test_it_lowers_the_basal_insulin_10_percent_for_overnight_lows():
    # Lows of 60 (54-69): 6.25 % below 70, goal < 4 %; none below 54 -> 10 %: 20 -> 18 U.
    t, v = cgm(night_lows(60))
    result = run(plan(BASAL, METFORMIN), t, v)
    decrease = only(result, "basal_decrease")
    assert decrease["rule"] == "hypoglycaemia_first"
    assert decrease["proposed_change"] == {"medications.0.dose": {"from": 20, "to": 18}}
    assert decrease["evidence"]["days"] == dates(FIRST, LAST)
    assert decrease["evidence"]["summary"].startswith("Time below 70 mg/dL 6.3 % (goal < 4 %)")
    assert "overnight" in decrease["evidence"]["summary"]
    assert "10–20 %" in decrease["source"]


def test_it_lowers_it_20_percent_when_time_below_54_is_over_goal_and_blocks_the_increase():
    # Lows of 50: 6.25 % below 54 (goal < 1 %) -> 20 %: 20 -> 16 U. The fasting mean of 200
    # would give +8 by Riddle's table: not proposed, blocked by the lows.
    t, v = cgm(night_lows(50))
    result = run(plan(BASAL), t, v)
    assert only(result, "basal_decrease")["proposed_change"] == {
        "medications.0.dose": {"from": 20, "to": 16}
    }
    increase = only(result, "basal_increase")
    assert increase["proposed_change"] is None
    assert increase["blocked_by"] == ["hypoglycaemia_first"]
    assert kinds(result) == ["basal_decrease", "basal_increase"]


def test_it_rounds_a_decrease_up_to_a_whole_unit():
    # 10 % of 18 U is 1.8 -> 2 U off (16); of 5 U is 0.5 -> 1 U off (4); 20 % of 7 U is 1.4
    # -> 2 U off (5).
    assert sg.reduced_dose(18, 0.1) == 16
    assert sg.reduced_dose(5, 0.1) == 4
    assert sg.reduced_dose(7, 0.2) == 5


def lunch_lows(value):
    """Flat 150 with `value` from 13:00 to 14:25 every day (4 h after a 12:00 lunch): 6.25 %."""
    return lambda d, m: np.where((m >= 780) & (m < 870), value, 150.0)


def test_it_lowers_the_mealtime_insulin_and_raises_its_carb_ratio_for_lows_after_meals():
    # 10 %: 6 U -> 5 U (0.6 rounded up to 1); carb ratio 10 / 0.9 = 11.1 -> 11 g/U.
    t, v = cgm(lunch_lows(60))
    decrease = only(run(plan(BASAL, BOLUS), t, v), "bolus_decrease")
    assert decrease["proposed_change"] == {
        "medications.1.dose": {"from": 6, "to": 5},
        "medications.1.carb_ratio_g_per_u": {"from": 10, "to": 11},
    }
    assert "basal_decrease" not in kinds(run(plan(BASAL, BOLUS), t, v))


def test_it_halves_a_sulfonylurea_for_lows_after_meals_or_stops_it_below_54():
    t, v = cgm(lunch_lows(60))
    decrease = only(run(plan(BASAL, SULFONYLUREA), t, v), "sulfonylurea_decrease")
    assert decrease["proposed_change"] == {"medications.1.dose": {"from": 60, "to": 30}}
    # With mealtime insulin too, the sulfonylurea goes first (ADA 9).
    assert decreases(run(plan(BOLUS, SULFONYLUREA), t, v)) == ["sulfonylurea_decrease"]
    t, v = cgm(lunch_lows(50))
    stop = only(run(plan(BASAL, SULFONYLUREA), t, v), "sulfonylurea_decrease")
    assert stop["proposed_change"] == {"medications.1": {"from": SULFONYLUREA, "to": None}}


def test_it_times_lows_after_recorded_meals_when_there_are_any():
    # Lows 16:30-17:55: after no default meal (12:00 + 4 h = 16:00; dinner 18:00), so
    # "during the day" -> basal. Recorded meals at 15:00 put them within 4 h -> mealtime.
    t, v = cgm(lambda d, m: np.where((m >= 990) & (m < 1080), 60, 150.0))
    assert decreases(run(plan(BASAL, BOLUS), t, v)) == ["basal_decrease"]
    meals = pd.date_range("2024-05-01 15:00", periods=14, freq="D").to_numpy()
    assert decreases(run(plan(BASAL, BOLUS), t, v, meal_times=meals)) == ["bolus_decrease"]
    # Days without a recorded meal keep the plan's clock times: meals recorded on 2 days
    # attribute those 2 days' lows to the mealtime insulin, the other 12 to the basal.
    result = run(plan(BASAL, BOLUS), t, v, meal_times=meals[:2])
    assert only(result, "bolus_decrease")["evidence"]["days"] == ["2024-05-01", "2024-05-02"]
    assert len(only(result, "basal_decrease")["evidence"]["days"]) == 12
    # The plan's own meal times: a 16:00 snack covers the lows too.
    content = plan(BASAL, BOLUS, meal_times=["07:30", "12:30", "16:00", "19:30"])
    assert decreases(run(content, t, v)) == ["bolus_decrease"]


def test_it_times_lows_in_the_patients_local_time():
    # 02:00 in New York (UTC-4 in May) is 06:00 UTC: overnight only in local time.
    t, v = cgm(night_lows(60), tz="America/New_York")
    result = run(plan(BASAL, BOLUS), t, v, tz="America/New_York")
    assert decreases(result) == ["basal_decrease"]


def test_it_refuses_a_decrease_while_the_change_settles_or_when_lows_predate_it():
    t, v = cgm(night_lows(50))
    # Basal changed 2 days before the end (settles 3): no decrease, the increase still blocked.
    result = run(plan(BASAL), t, v, changed_on={"insulin_basal": "2024-05-12"})
    assert "basal_decrease" not in kinds(result)
    assert "settles for 3 days" in reasons(result, "hypoglycaemia_first")
    # Changed 3 days before: decided on the days since (05-12 to 05-14).
    result = run(plan(BASAL), t, v, changed_on={"insulin_basal": "2024-05-11"})
    assert only(result, "basal_decrease")["evidence"]["days"] == dates("2024-05-12", LAST)
    # Lows only before a change 6 days ago: none on the current dose.
    t, v = cgm(night_lows(50, nights=range(7)))
    result = run(plan(BASAL), t, v, changed_on={"insulin_basal": "2024-05-08"})
    assert "basal_decrease" not in kinds(result)
    assert "none on the current dose" in reasons(result, "hypoglycaemia_first")


def test_it_refuses_a_decrease_without_a_drug_to_lower_or_on_too_little_wear():
    t, v = cgm(night_lows(50))
    result = run(plan(METFORMIN), t, v)
    assert result["suggestions"] == []
    assert "no insulin or sulfonylurea" in reasons(result, "hypoglycaemia_first")
    # Keep 00:00-12:00 only: 50 % wear. The lows are real: no decrease, and no increase.
    minute = ((t - np.datetime64(FIRST)).astype("timedelta64[m]").astype(int)) % 1440
    keep = minute < 12 * 60
    result = run(plan(BASAL), t[keep], v[keep])
    assert "basal_decrease" not in kinds(result)
    assert "too little data" in reasons(result, "hypoglycaemia_first")
    assert all(s["proposed_change"] is None for s in result["suggestions"])


def test_it_judges_time_below_range_on_the_shown_value():
    # 161 readings below 70 of 4032 = 3.99 %, shown 4.0 %: the goal "< 4 %" is missed.
    # 160 = 3.97 %, also shown 4.0 %. 159 = 3.94 %, shown 3.9 %: met, no finding.
    for count, finding in ((161, True), (160, True), (159, False)):
        t, v = cgm()
        v[np.arange(count) * 25] = 60.0
        result = run(plan(BASAL, METFORMIN), t, v, diabetes_type="T1")
        assert ("basal_decrease" in kinds(result)) is finding, count


def test_it_flags_lows_from_a_meter():
    # A finger-stick of 50 at 03:00 -> level 2 -> 20 %: 20 -> 16 U.
    meter = {
        "meter_times": np.array(["2024-05-10T03:00", "2024-05-11T07:00"], "datetime64[s]"),
        "meter_values": [50, 140],
        "meter_tags": ["", "fasting"],
    }
    result = run(plan(BASAL), **meter)
    assert only(result, "basal_decrease")["proposed_change"]["medications.0.dose"]["to"] == 16


@settings(max_examples=40, deadline=None)
@given(
    level=st.floats(min_value=100, max_value=350),
    lows=st.lists(st.integers(min_value=0, max_value=671), min_size=8, max_size=80, unique=True),
    low_value=st.floats(min_value=40, max_value=53.9),
    extra=st.sets(st.sampled_from(["insulin_bolus", "sulfonylurea", "metformin"])),
    algorithm=st.sampled_from(["treat_to_target", "ada_2_units_every_3_days"]),
    weight=st.sampled_from([None, 50.0, 120.0]),
)
def test_it_never_intensifies_when_time_below_54_is_over_goal(
    level, lows, low_value, extra, algorithm, weight
):
    # 7 days at 15 minutes: 672 readings; 8 or more below 54 is >= 1.19 % (goal < 1 %).
    t, v = cgm(lambda d, m: np.full(d.size, level), days=7, every=15)
    v[lows] = low_value
    assume(display.goal_met(100 * len(lows) / v.size, "<", 1.0) is False)
    others = {"insulin_bolus": BOLUS, "sulfonylurea": SULFONYLUREA, "metformin": METFORMIN}
    content = plan({**BASAL, "titration_algorithm": algorithm}, *(others[k] for k in sorted(extra)))
    result = run(content, t, v, end="2024-05-07", weight_kg=weight)
    for suggestion in result["suggestions"]:
        if suggestion["kind"] in sg.INTENSIFYING_KINDS:
            assert suggestion["proposed_change"] is None
            assert "hypoglycaemia_first" in suggestion["blocked_by"]


# --- Over-basalisation (ADA 2024 Fig. 9.4) ------------------------------------------------


def bedtime_and_fasting(bedtime_by_day, fasting=140.0):
    bed = np.asarray(bedtime_by_day, float)
    return lambda d, m: np.where(
        in_hour(m, BEDTIME_HOUR), bed[d], np.where(in_hour(m, FASTING_HOUR), fasting, 150.0)
    )


def test_it_flags_a_bedtime_to_morning_fall_of_50_on_most_nights_and_blocks_the_increase():
    # Bedtime 190 on days 1-7 (the nights before 05-02..05-08), fasting 140: a fall of exactly
    # 50 on 7 of 13 nights (more than half). The fasting mean 140 gives +6: blocked.
    t, v = cgm(bedtime_and_fasting([190] * 7 + [150] * 7))
    result = run(plan(BASAL), t, v)
    review = only(result, "basal_review")
    assert review["rule"] == "over_basalisation"
    assert review["proposed_change"] is None
    assert review["evidence"]["days"] == dates("2024-05-02", "2024-05-08")
    assert "7 of 13 nights" in review["evidence"]["summary"]
    increase = only(result, "basal_increase")
    assert (increase["proposed_change"], increase["blocked_by"]) == (None, ["over_basalisation"])
    # 6 of 13 nights is not "most".
    t, v = cgm(bedtime_and_fasting([190] * 6 + [150] * 8))
    result = run(plan(BASAL), t, v)
    assert "basal_review" not in kinds(result)
    assert only(result, "basal_increase")["proposed_change"] is not None


def test_it_flags_basal_insulin_above_half_a_unit_per_kilogram():
    t, v = cgm()
    # 35 U / 70 kg = 0.5 U/kg: not above; 36 U = 0.514; 18 U twice daily = 36 U/day.
    assert "basal_review" not in kinds(run(plan({**BASAL, "dose": 35}), t, v, weight_kg=70))
    assert "basal_review" in kinds(run(plan({**BASAL, "dose": 36}), t, v, weight_kg=70))
    twice = {**BASAL, "dose": 18, "frequency": "twice daily"}
    review = only(run(plan(twice), t, v, weight_kg=70), "basal_review")
    assert "0.51 U/kg" in review["evidence"]["summary"]


# --- Post-meal rise, pregnancy, targets met ------------------------------------------------


BREAKFAST_RISE = {
    "code": "breakfast_rise",
    "severity": "info",
    "params": {"days_with_rise": 9, "days": 12, "median_rise_mg_dl": 85},
    "text": "Rise after breakfast on most days (9 of 12): median rise 85 mg/dL between 06:00 "
    "and 10:00.",
}


def test_it_proposes_a_review_of_the_meal_after_a_rise_without_a_number():
    t, v = cgm(fasting_days([120] * 14))
    result = run(plan(BASAL, BOLUS), t, v, patterns=[BREAKFAST_RISE, {"code": "other"}])
    review = only(result, "meal_review")
    assert review["rule"] == "post_meal_rise"
    assert (review["proposed_change"], review["blocked_by"]) == (None, [])
    assert "breakfast insulin dose or its carbohydrate ratio" in review["evidence"]["summary"]
    assert review["evidence"]["summary"].startswith("Rise after breakfast on most days (9 of 12)")
    with_dates = {**BREAKFAST_RISE, "params": {**BREAKFAST_RISE["params"], "dates": ["2024-05-03"]}}
    review = only(run(plan(BASAL), t, v, patterns=[with_dates]), "meal_review")
    assert review["evidence"]["days"] == ["2024-05-03"]
    # A stored finding's unreadable dates are left out, never a crash.
    garbage = ["2024-02-30", "2024-13-01", "\x00", 20240503, None, "9" * 400, "2024-05-04"]
    bad = {**BREAKFAST_RISE, "params": {**BREAKFAST_RISE["params"], "dates": garbage}}
    assert only(run(plan(BASAL), t, v, patterns=[bad]), "meal_review")["evidence"]["days"] == [
        "2024-05-04"
    ]


def test_it_says_not_for_pregnancy_instead_of_proposing():
    t, v = cgm(night_lows(50))
    for content, diabetes in ((plan(BASAL, preset="pregnancy_t1"), "T1"), (plan(BASAL), "GDM")):
        result = run(content, t, v, diabetes_type=diabetes, patterns=[BREAKFAST_RISE])
        assert kinds(result) == ["not_for_pregnancy"]
        [suggestion] = result["suggestions"]
        assert suggestion["proposed_change"] is None
        assert suggestion["evidence"]["summary"].startswith("Pregnancy plan")
        assert "Lows are over the plan's goal" in suggestion["evidence"]["summary"]
        assert "15" in suggestion["source"]


def test_it_says_no_change_when_every_goal_is_met():
    # Flat 150 with fasting 120: TIR 100 %, nothing below or above, CV 2.6 %; fasting at goal.
    t, v = cgm(fasting_days([120] * 14))
    result = run(plan(BASAL, METFORMIN), t, v)
    [suggestion] = result["suggestions"]
    assert suggestion["kind"] == "no_change"
    assert suggestion["proposed_change"] is None
    assert suggestion["evidence"]["summary"].startswith("Every goal of the plan is met")
    assert "Time in range 70-180 100.0 % (goal > 70 %)" in suggestion["evidence"]["summary"]


def test_it_does_not_say_no_change_on_too_little_data_or_a_missed_goal():
    t, v = cgm()
    minute = ((t - np.datetime64(FIRST)).astype("timedelta64[m]").astype(int)) % 1440
    keep = minute < 12 * 60
    result = run(plan(METFORMIN), t[keep], v[keep])
    assert result["suggestions"] == []
    assert "too little CGM data" in reasons(result, "targets_met")
    t, v = cgm(lambda d, m: np.where(m < 480, 260.0, 150.0))  # a third of the day above 250
    assert run(plan(METFORMIN), t, v)["suggestions"] == []


def test_it_says_no_change_for_a_meter_only_patient_within_goals():
    meter = {
        "meter_times": np.array(["2024-05-13T06:30", "2024-05-13T13:00"], "datetime64[s]"),
        "meter_values": [110, 150],
        "meter_tags": ["fasting", "after_meal"],
    }
    [suggestion] = run(plan(METFORMIN), **meter)["suggestions"]
    assert suggestion["kind"] == "no_change"
    assert "fasting mean 110 mg/dL (goal 80–130 mg/dL)" in suggestion["evidence"]["summary"]
    assert "after meal mean 150 mg/dL (goal ≤ 180 mg/dL)" in suggestion["evidence"]["summary"]


# --- Input --------------------------------------------------------------------------------


def test_it_accepts_garbage_plan_content_without_failing():
    t, v = cgm(night_lows(50))
    garbage = [
        None,
        {},
        {"targets": "x", "medications": "y"},
        {"targets": {"range_low": "a", "goals": [1, {"key": "x", "comparison": "?"}]}},
        {"medications": [None, {"kind": "insulin_basal", "dose": "x"}], "wake_time": "late"},
        {"medications": [{"kind": "insulin_basal", "dose": float("nan")}], "meal_times": [7]},
        {"targets": {"meter_targets": {"fasting": ["a", None]}}, "medications": [BASAL]},
    ]
    for content in garbage:
        result = run(content, t, v, patterns=[None, {"code": "breakfast_rise", "params": 3}])
        assert isinstance(result["suggestions"], list)
    assert run(plan(BASAL))["suggestions"] == []  # no readings at all


def test_every_suggestion_has_the_documented_shape():
    t, v = cgm(night_lows(50))
    result = run(plan(BASAL, SULFONYLUREA), t, v, patterns=[BREAKFAST_RISE], weight_kg=30)
    assert result["suggestions"]
    for suggestion in result["suggestions"]:
        assert set(suggestion) == {
            "rule", "kind", "source", "evidence", "proposed_change", "blocked_by"
        }  # fmt: skip
        assert suggestion["kind"] in sg.KINDS
        assert suggestion["source"]
        assert set(suggestion["evidence"]) == {"days", "summary", "params"}
        for field, change in (suggestion["proposed_change"] or {}).items():
            assert field.startswith("medications.") and set(change) == {"from", "to"}


def _window_trace(tz, first, last, *, extra_days=0):
    """Readings every 5 minutes over the local days first..last (+ `extra_days` after) in
    `tz`, as UTC datetime64[s]: a wave with lows below 54 and highs above 250."""
    lo = pd.Timestamp(first, tz=tz)
    hi = pd.Timestamp(last, tz=tz) + pd.Timedelta(days=1 + extra_days)
    utc = pd.date_range(lo.tz_convert("UTC"), hi.tz_convert("UTC"), freq="5min", inclusive="left")
    n = np.arange(utc.size)
    values = np.round(150 + 110 * np.sin(n / 37.0) + 15 * np.sin(n / 5.3))
    return utc.tz_localize(None).to_numpy().astype("datetime64[s]"), values


def test_it_takes_the_callers_window_metrics_as_the_same_numbers():
    """A report passes its own exact metrics (``cgm_window_metrics``): the case, and so every
    rule, comes out as when the case computes them itself, in zones whose window crosses a
    DST change too."""
    from glycemia.metrics import cgm_metrics
    from glycemia.suggestions.case import build_case

    content = plan(BASAL, BOLUS, preset="standard")
    windows = [
        ("UTC", "2024-05-01", "2024-05-14"),
        ("America/New_York", "2024-03-01", "2024-03-14"),
        ("Australia/Lord_Howe", "2024-04-01", "2024-04-14"),
        ("Europe/Bucharest", "2024-10-20", "2024-10-26"),
    ]
    for tz, first, last in windows:
        times, values = _window_trace(tz, first, last)
        args = {"tz": tz, "start": first, "end": last, "diabetes_type": "T2"}
        own = cgm_metrics(times, values, tz=tz, start=first, end=last, exact=True)
        case_args = {
            "times": times, "values": values, "meter_times": None, "meter_values": None,
            "meter_tags": None, "meal_times": None, "patterns": [], "weight_kg": None,
            "changed_on": None, "tz": tz, "start": first, "end": last, "diabetes_type": "T2",
        }  # fmt: skip
        computed = build_case(content, **case_args).metrics
        assert computed["mage"] is None and computed["agp"] is None
        assert own["mage"] is not None and own["agp"] is not None  # a full, exact dict given
        taken = build_case(content, cgm_window_metrics=own, **case_args).metrics
        assert repr(taken) == repr(computed), tz
        assert repr(run(content, times, values, cgm_window_metrics=own, **args)) == repr(
            run(content, times, values, **args)
        ), tz


def test_it_computes_its_own_window_metrics_unless_the_window_keeps_every_reading():
    """The caller's metrics stand for the case's only when the case would compute them from
    the same input: a marked copy shows which numbers the case took."""
    from glycemia.metrics import cgm_metrics
    from glycemia.suggestions.case import build_case

    def case_mean(times, values, tz, start, end, given):
        return build_case(
            plan(BASAL), tz=tz, start=start, end=end, times=times, values=values,
            meter_times=None, meter_values=None, meter_tags=None, meal_times=None,
            patterns=[], diabetes_type="T2", weight_kg=None, changed_on=None,
            cgm_window_metrics=given,
        ).metrics["mean_mg_dl"]  # fmt: skip

    tz, first, last = "America/New_York", "2024-03-01", "2024-03-14"
    times, values = _window_trace(tz, first, last)
    marked = {
        **cgm_metrics(times, values, tz=tz, start=first, end=last, exact=True),
        "mean_mg_dl": -1,
    }
    assert case_mean(times, values, tz, first, last, marked) == -1  # every reading in the window
    longer_t, longer_v = _window_trace(tz, first, last, extra_days=1)
    assert case_mean(longer_t, longer_v, tz, first, last, marked) > 0  # a day past the window
    assert case_mean(times, values, tz, None, last, marked) > 0  # window from the readings
    assert case_mean(times, values, tz, pd.Timestamp(first).date(), last, marked) > 0
