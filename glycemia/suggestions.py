"""Plan suggestions (issue #21 §1): from a report's data to a proposed, sourced change of the
care plan, which a clinician accepts or dismisses. Pure: no Django, no database, no clock.

Inputs (``plan_suggestions``): the plan's content dict (``care_plans.services`` shape:
``targets``, ``medications`` with ``kind`` ``insulin_basal`` / ``insulin_bolus`` /
``sulfonylurea`` …, ``dose``, ``dose_unit``, ``frequency``, ``carb_ratio_g_per_u``), the
report's local-date window ``start``..``end`` in the patient's zone ``tz``, and its readings:
CGM ``times`` / ``values`` (UTC instants as every ``glycemia`` function takes them:
datetime64 of any unit — ``datetime64[s]`` for epoch seconds — or int64 epoch ns; mg/dL),
or finger-sticks ``meter_times`` / ``meter_values`` / ``meter_tags`` (``fasting``,
``before_meal``, ``after_meal``, ``bedtime``) for a patient without CGM readings in the
window. Optional: the report's pattern findings (``reports.patterns``), the diabetes type,
a recorded weight, the local date each medication kind's dose last changed (``changed_on``,
from the plan's versions) and recorded meal starts (``meal_times``, UTC: carbohydrate or
mealtime-insulin treatments).

Plan fields read when present (new, optional): ``wake_time`` ("HH:MM", default 07:00: the
hour before it is the fasting hour), ``bedtime`` (default 22:00), ``meal_times`` (a list of
"HH:MM", default 07:00 / 12:00 / 18:00, used when no meal is recorded) and, on the basal
insulin, ``titration_algorithm`` (``treat_to_target`` or ``ada_2_units_every_3_days``: one
per plan, the clinician's choice; without it no increase is proposed).

Output: a list of suggestions ``{"rule", "kind", "source", "evidence": {"days": [ISO
dates], "summary": English text, "params": the numbers in it}, "proposed_change": {field:
{"from", "to"}} or None, "blocked_by": [rule names]}``. A field is a dotted path into the
content, as ``care_plans.services`` reports errors (``medications.0.dose``); a medication to
stop is ``{"medications.2": {"from": <the medication>, "to": None}}``. ``evaluate_rules``
also returns why each rule proposed nothing (``not_proposed``: ``{"rule", "reason"}``).

Rules (each constant below carries its source; glycemia/README.md says them in words):

1. ``hypoglycaemia_first`` — time below range (< 70, or the plan's own lower limit) or time
   below 54 over its goal, judged on the shown value as every page does (meter only: a
   reading < 54, or readings < 70 on 2 days or more) → lower what the lows' timing points
   to by 10 %, 20 % when < 54 is over its goal (ADA: "if no clear reason, lower the dose by
   10–20 %"); a sulfonylurea is halved, or stopped when < 54 is over its goal. Any such
   finding blocks every intensifying suggestion.
2. ``over_basalisation`` — bedtime-to-morning fall ≥ 50 mg/dL on most nights, or basal
   insulin above 0.5 U/kg/day → ``basal_review`` (no number); it also blocks a basal increase.
3. ``basal_titration`` — type 2 on basal insulin: Treat-to-Target (Riddle 2003) or ADA
   "+2 U every 3 days", only while the mean fasting glucose is above the plan's fasting goal
   and no fasting value in the window is < 72 mg/dL.
4. ``post_meal_rise`` — a rise-after-a-meal finding → ``meal_review`` (no number).
5. ``not_for_pregnancy`` — a pregnancy plan gets this one suggestion and nothing else.
6. ``targets_met`` — every goal met, nothing else to say → ``no_change``.

>>> treat_to_target_increase(180), treat_to_target_increase(140), treat_to_target_increase(99.9)
(8, 6, 0)
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import numpy as np

from glycemia import constants as c
from glycemia import display
from glycemia.compare import DEFAULT_VERY_LOW_GOAL, below_range_goal, own_range
from glycemia.meter import meter_metrics
from glycemia.metrics import cgm_metrics
from glycemia.series import (
    NS_PER_DAY,
    NS_PER_MINUTE,
    as_ns,
    clean_series,
    day_iso,
    local_ns,
    parse_date,
)
from glycemia.targets import (
    PRESETS,
    evaluate_meter,
    evaluate_metrics,
    meter_targets,
    range_percents,
    sufficiency,
)

# --- Rule names and kinds -----------------------------------------------------------------

RULE_HYPO = "hypoglycaemia_first"
RULE_OVERBASAL = "over_basalisation"
RULE_TITRATION = "basal_titration"
RULE_MEAL = "post_meal_rise"
RULE_PREGNANCY = "not_for_pregnancy"
RULE_TARGETS_MET = "targets_met"

KINDS = (
    "basal_decrease",
    "bolus_decrease",
    "sulfonylurea_decrease",
    "basal_increase",
    "basal_review",
    "meal_review",
    "no_change",
    "not_for_pregnancy",
)
# Suggestions that add glucose-lowering effect: never proposed (proposed_change None, the
# blocking rules named) while a hypoglycaemia finding stands.
INTENSIFYING_KINDS = frozenset({"basal_increase"})

BLOCKER_WORDS = {
    RULE_HYPO: "time below range is over its goal",
    RULE_OVERBASAL: "over-basalisation is possible",
}

# --- Sources ------------------------------------------------------------------------------

SOURCE_HYPO = (
    "American Diabetes Association, Standards of Care in Diabetes—2024: 6 (hypoglycaemia: "
    "re-evaluate the treatment plan) and 9, Fig. 9.4 (hypoglycaemia: determine the cause; if "
    "no clear reason, lower the dose by 10–20 %). CGM goals: Battelino et al., Diabetes Care "
    "2019 (time < 70 mg/dL < 4 %, < 54 mg/dL < 1 %; older/high-risk < 70 mg/dL < 1 %)."
)
SOURCE_SULFONYLUREA = (
    SOURCE_HYPO + " Sulfonylureas: ADA 2024, 9 (hypoglycaemia risk; reduce or stop when "
    "insulin is intensified) and 13 (de-intensify hypoglycaemia-causing drugs); halving the "
    "dose is this product's step — no published table gives one."
)
SOURCE_OVERBASAL = (
    "American Diabetes Association, Standards of Care in Diabetes—2024, 9, Fig. 9.4: signals "
    "of over-basalisation — basal dose above ~0.5 U/kg/day, a bedtime-to-morning glucose "
    "differential ≥ 50 mg/dL, hypoglycaemia, high variability: re-evaluate, consider adding "
    "prandial insulin or a GLP-1 RA instead of raising the basal dose."
)
SOURCE_TREAT_TO_TARGET = (
    "Riddle MC, Rosenstock J, Gerich J. The Treat-to-Target Trial. Diabetes Care 2003;26:"
    "3080–3086, Table 1: weekly, by the mean of the fasting values of the preceding 2 days: "
    "≥ 180 mg/dL +8 U, 140–180 +6 U, 120–140 +4 U, 100–120 +2 U; no increase if a glucose "
    "< 72 mg/dL was documented in the preceding week. Applied only above the plan's fasting "
    "goal (ADA 2024, 6: fasting 80–130 mg/dL; 13: 90–150 for older/high-risk adults)."
)
SOURCE_ADA_TITRATION = (
    "American Diabetes Association, Standards of Care in Diabetes—2024, 9, Fig. 9.4: "
    "increase basal insulin by 2 units every 3 days to reach the fasting goal without "
    "hypoglycaemia (fasting goal: 6, 80–130 mg/dL; 13, 90–150 for older/high-risk adults). "
    "No increase after a fasting value < 72 mg/dL (Riddle et al., Diabetes Care 2003)."
)
SOURCE_MEAL = (
    "American Diabetes Association, Standards of Care in Diabetes—2024, 7 (use the CGM "
    "profile to find patterns) and 9, Fig. 9.4 (prandial insulin for the meal with the "
    "largest excursion; adjust its dose or carbohydrate ratio). The rise itself is the "
    "report's pattern rule (≥ 60 mg/dL on most days, a rule of thumb, not a consensus value)."
)
SOURCE_PREGNANCY = (
    "American Diabetes Association, Standards of Care in Diabetes—2024, 15 (Management of "
    "diabetes in pregnancy): insulin needs change week by week in pregnancy; doses are "
    "adjusted by the specialist team. Titration tables for non-pregnant adults do not apply."
)
SOURCE_TARGETS_MET = (
    "Battelino et al., Diabetes Care 2019 (CGM targets) and the plan's own goals; "
    "American Diabetes Association, Standards of Care in Diabetes—2024, 6 (finger-stick goals)."
)

# --- Thresholds (each with its source) ----------------------------------------------------

HYPO_STEP = Decimal("0.10")  # ADA 2024 Fig. 9.4: lower the dose by 10-20 % ...
HYPO_STEP_VERY_LOW = Decimal("0.20")  # ... the upper step when time < 54 is over its goal
# Lows "after a meal": within 4 h of its start. Rapid-acting analogues act for about 4 h
# (insulin lispro / aspart prescribing information: duration of action 3-5 h).
AFTER_MEAL_MINUTES = 240
# Overnight lows point to the basal insulin: 00:00-06:00 local, the consensus "night".
NIGHT_START_MINUTE = c.NIGHT_START_HOUR * 60
NIGHT_END_MINUTE = c.NIGHT_END_HOUR * 60
# The timing "points to" a drug when its lows fall on at least 2 days (as the report's
# nocturnal-lows pattern: reports.patterns.NOCTURNAL_MIN_NIGHTS); else the drug with most.
LOW_PATTERN_MIN_DAYS = 2
# Finger-sticks give no time below range: a reading < 54 (level 2, Battelino 2019; ADA 6:
# re-evaluate the plan), or readings < 70 on 2 days or more, is the meter's finding.
METER_LOW_MIN_DAYS = 2

# Which drug the lows of each timing point to, first present in the plan wins. Overnight:
# the basal insulin (brief, ADA Fig. 9.4). After a meal: a sulfonylurea when the plan has one
# (ADA 9: stop or reduce it when insulin is intensified), else the mealtime insulin, else the
# plan's only insulin. Other daytime lows: a sulfonylurea, else the basal insulin.
TIMING_DRUGS = {
    "overnight": ("insulin_basal", "sulfonylurea"),
    "after_meal": ("sulfonylurea", "insulin_bolus", "insulin_basal"),
    "daytime": ("sulfonylurea", "insulin_basal"),
}
HYPO_DRUG_ORDER = ("insulin_basal", "sulfonylurea", "insulin_bolus")
DECREASE_KINDS = {
    "insulin_basal": "basal_decrease",
    "insulin_bolus": "bolus_decrease",
    "sulfonylurea": "sulfonylurea_decrease",
}
DRUG_WORDS = {
    "insulin_basal": "basal insulin",
    "insulin_bolus": "mealtime insulin",
    "sulfonylurea": "sulfonylurea",
}
TIMING_WORDS = {
    "overnight": "overnight (00:00–06:00)",
    "after_meal": "within 4 h after meals",
    "daytime": "during the day, not after a meal",
}

# A dose change settles before its effect is judged (``changed_on``). Basal insulin: 3 days
# (ADA 2024 Fig. 9.4 titrates every 3 days; glargine and degludec reach steady state in 2-4
# days, prescribing information). Mealtime insulin: 3 days (ADA Fig. 9.4: adjust twice a
# week). Sulfonylurea: 7 days (glimepiride prescribing information: steps 1-2 weeks apart).
# A basal increase waits for its algorithm's own interval (TITRATION_ALGORITHMS).
SETTLE_DAYS = {"insulin_basal": 3, "insulin_bolus": 3, "sulfonylurea": 7}

# Fasting glucose from CGM: the median of the readings in the hour before the plan's wake
# time (plan field ``wake_time``), on days with at least 3 readings in that hour (a
# 15-minute sensor gives 4).
DEFAULT_WAKE_TIME = "07:00"
DEFAULT_BEDTIME = "22:00"
DEFAULT_MEAL_TIMES = ("07:00", "12:00", "18:00")  # used only when no meal is recorded
HOUR_BEFORE_MINUTES = 60
MIN_READINGS_IN_HOUR = 3

# Treat-to-Target (Riddle 2003, Table 1): half-open bands of the mean fasting glucose.
TREAT_TO_TARGET_BANDS = ((180.0, 8), (140.0, 6), (120.0, 4), (100.0, 2))
NO_INCREASE_BELOW_MG_DL = 72.0  # Riddle 2003: no increase after a glucose < 72 mg/dL
TITRATION_ALGORITHMS = {
    # window: the days looked at (the < 72 check and the fasting values); mean_days: the most
    # recent fasting values averaged; min_days: fewest fasting values to decide on; the
    # window is also how long a basal change settles before the next increase.
    "treat_to_target": {
        "label": "Treat-to-Target (Riddle 2003)",
        "source": SOURCE_TREAT_TO_TARGET,
        "window_days": 7,  # weekly titration, "< 72 in the preceding week"
        "mean_days": 2,  # "mean of the fasting values of the preceding 2 days"
        "min_days": 2,
    },
    "ada_2_units_every_3_days": {
        "label": "ADA: +2 U every 3 days",
        "source": SOURCE_ADA_TITRATION,
        "window_days": 3,
        "mean_days": 3,
        "min_days": 2,
        "step_units": 2,
    },
}

# Over-basalisation (ADA 2024 Fig. 9.4).
OVERBASAL_FALL_MG_DL = 50.0  # bedtime-to-morning differential >= 50 mg/dL
OVERBASAL_UNITS_PER_KG = 0.5  # basal dose above ~0.5 U/kg/day
OVERBASAL_MIN_NIGHTS = 3  # fewer nights with both values cannot show "most nights"
MOST_NIGHTS_SHARE = 0.5  # more than half, as reports.patterns' "most days"

# Pattern findings (reports.patterns) of a rise after one meal, by code.
MEAL_RISE_CODES = {"breakfast_rise": "breakfast", "lunch_rise": "lunch", "dinner_rise": "dinner"}

UNIT = "mg/dL"  # evidence text is in mg/dL; pages re-word it from params in the reader's unit

# --- Small helpers ------------------------------------------------------------------------


def _number(value) -> float | None:
    """A finite real number (not bool) or a numeric string, else None: plan content may be
    anything a form or an API client sent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _plain(number: float | Decimal) -> int | float:
    number = float(number)
    return int(number) if number.is_integer() else number


def _parse_clock(value) -> int | None:
    """'07:00', '7:30', '07:00:00' or a time -> minutes after midnight; None if not a time."""
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute
    match = re.fullmatch(
        r"\s*(\d{1,2}):(\d{2})(?::\d{2})?\s*", value if isinstance(value, str) else ""
    )
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return int(match[1]) * 60 + int(match[2])
    return None


def _clock_minutes(value, default: str) -> int:
    """A plan's clock field in minutes after midnight; `default` when missing or garbage.

    >>> _clock_minutes("6:45", "07:00"), _clock_minutes("25:00", "07:00")
    (405, 420)
    """
    minutes = _parse_clock(value)
    return _parse_clock(default) if minutes is None else minutes


def _mg(value: float) -> str:
    return display.glucose(value, UNIT)


def _measured(value: float) -> str:
    """A single measured glucose, unrounded (71.9 must not read "72" where < 72 decides)."""
    return f"{float(value):g} {UNIT}"


def _dose_text(value, unit: str) -> str:
    return f"{_plain(value):g} {unit}".strip()


def _per_day(frequency) -> int:
    """Doses a day from a plan's free-text frequency: twice daily / BID / every 12 h -> 2."""
    text = frequency.lower() if isinstance(frequency, str) else ""
    if re.search(r"twice|\bbid\b|\bb\.i\.d|every 12|q12|2\s*x|2 times|每日两次|一日两次", text):
        return 2
    return 1


def treat_to_target_increase(mean_fasting_mg_dl: float) -> int:
    """Units to add by the Treat-to-Target table (Riddle 2003): half-open bands.

    >>> [treat_to_target_increase(x) for x in (200, 180, 179.9, 140, 120, 100, 99.9)]
    [8, 8, 6, 6, 4, 2, 0]
    """
    for lower, units in TREAT_TO_TARGET_BANDS:
        if mean_fasting_mg_dl >= lower:
            return units
    return 0


def reduced_dose(dose: float, step: Decimal | float) -> int | float:
    """`dose` lowered by the fraction `step`, the reduction rounded *up* to a whole unit (pens
    dial whole units) so it is never less than the stated percentage; at least 0.

    >>> reduced_dose(18, 0.1), reduced_dose(20, 0.2), reduced_dose(10, 0.1), reduced_dose(5, 0.1)
    (16, 16, 9, 4)
    """
    amount = Decimal(repr(float(dose)))
    cut = (amount * Decimal(str(step))).to_integral_value(rounding=ROUND_CEILING)
    return _plain(max(amount - max(cut, Decimal(1)), Decimal(0)))


def raised_carb_ratio(ratio: float, step: Decimal | float) -> int | float:
    """A carbohydrate ratio (g per U) giving `step` less insulin: ratio / (1 − step), rounded
    half up to a whole gram, and at least the next whole gram above the ratio.

    >>> raised_carb_ratio(10, 0.1), raised_carb_ratio(10, 0.2), raised_carb_ratio(15, 0.1)
    (11, 13, 17)
    """
    value = Decimal(repr(float(ratio))) / (1 - Decimal(str(step)))
    new = value.to_integral_value(rounding=ROUND_HALF_UP)
    return _plain(max(new, Decimal(repr(float(ratio))).to_integral_value(ROUND_CEILING) + 1))


# --- Readings in the window ---------------------------------------------------------------


@dataclass
class _Series:
    """Readings of one kind inside the report's window, with their local time."""

    t: np.ndarray  # UTC epoch ns
    v: np.ndarray  # mg/dL
    local: np.ndarray  # local wall-clock epoch ns
    tags: np.ndarray | None = None  # finger-stick meal tags

    @property
    def day(self) -> np.ndarray:
        return self.local // NS_PER_DAY

    @property
    def minute(self) -> np.ndarray:
        return (self.local % NS_PER_DAY) // NS_PER_MINUTE

    def where(self, mask: np.ndarray) -> _Series:
        tags = None if self.tags is None else self.tags[mask]
        return _Series(self.t[mask], self.v[mask], self.local[mask], tags)

    @property
    def size(self) -> int:
        return int(self.v.size)


def _cgm_series(times, values, tz: str) -> _Series:
    if times is None or values is None:
        return _Series(np.empty(0, "int64"), np.empty(0), np.empty(0, "int64"))
    t, v = clean_series(times, values)
    return _Series(t, v, local_ns(t, tz))


def _meter_series(times, values, tags, tz: str) -> _Series:
    if times is None or values is None:
        return _Series(np.empty(0, "int64"), np.empty(0), np.empty(0, "int64"), np.empty(0, object))
    t = as_ns(times)
    v = np.asarray(values, dtype="float64")
    if t.shape != v.shape:
        raise ValueError("meter times and values must have the same length")
    raw = list(tags) if tags is not None else [""] * v.size
    if len(raw) != v.size:
        raise ValueError("meter tags and values must have the same length")
    tag_array = np.array([x if isinstance(x, str) else "" for x in raw], dtype=object)
    ok = ~np.isnan(v)
    t, v, tag_array = t[ok], v[ok], tag_array[ok]
    order = np.argsort(t, kind="stable")
    t, v, tag_array = t[order], v[order], tag_array[order]
    return _Series(t, v, local_ns(t, tz), tag_array)


def _hour_before(local: np.ndarray, clock_minute: int) -> tuple[np.ndarray, np.ndarray]:
    """For each local time: whether it lies in the hour before `clock_minute` and the local
    day that hour ends on (a wake time of 00:30 takes 23:30-00:30 for the new day)."""
    shifted = local - clock_minute * NS_PER_MINUTE  # the clock time falls on midnight
    inside = (shifted % NS_PER_DAY) >= (1440 - HOUR_BEFORE_MINUTES) * NS_PER_MINUTE
    return inside, shifted // NS_PER_DAY + 1


def _daily_medians(day: np.ndarray, v: np.ndarray, min_readings: int) -> dict[int, float]:
    out: dict[int, float] = {}
    for d in np.unique(day).tolist():
        x = v[day == d]
        if x.size >= min_readings:
            out[int(d)] = float(np.median(x))
    return out


def _cgm_hour_values(s: _Series, clock_minute: int) -> dict[int, float]:
    inside, day = _hour_before(s.local, clock_minute)
    return _daily_medians(day[inside], s.v[inside], MIN_READINGS_IN_HOUR)


def _meter_tag_values(s: _Series, tag: str) -> dict[int, float]:
    mask = s.tags == tag if s.tags is not None else np.zeros(s.size, bool)
    return _daily_medians(s.day[mask], s.v[mask], 1)


def fasting_by_day(times, values, *, tz: str = "UTC", wake_time=DEFAULT_WAKE_TIME):
    """CGM fasting glucose per local day: the median of the readings in the hour before the
    wake time, for days with at least 3 readings in that hour -> {ISO date: mg/dL}.

    >>> t = np.array(["2024-05-02T06:05", "2024-05-02T06:20", "2024-05-02T06:50",
    ...               "2024-05-02T07:00"], dtype="datetime64[s]")
    >>> fasting_by_day(t, [150, 140, 146, 200], tz="UTC")
    {'2024-05-02': 146.0}
    """
    s = _cgm_series(times, values, tz)
    minute = _clock_minutes(wake_time, DEFAULT_WAKE_TIME)
    return {day_iso(d): v for d, v in _cgm_hour_values(s, minute).items()}


def meter_fasting_by_day(times, values, tags, *, tz: str = "UTC") -> dict[str, float]:
    """Finger-stick fasting glucose per local day: the median of the day's fasting-tagged
    readings -> {ISO date: mg/dL}."""
    s = _meter_series(times, values, tags, tz)
    return {day_iso(d): v for d, v in _meter_tag_values(s, "fasting").items()}


# --- The patient's case -------------------------------------------------------------------


@dataclass
class _Case:
    content: dict
    targets: dict
    meds: list[tuple[int, dict]]  # (index in the plan's list, medication)
    tz: str
    first: int  # local day numbers of the window, inclusive
    last: int
    cgm: _Series
    meter: _Series
    meals: np.ndarray  # local ns of meal starts
    wake: int
    bedtime: int
    diabetes_type: str | None
    weight_kg: float | None
    changed: dict[str, int]
    patterns: list
    metrics: dict | None = None  # CGM metrics of the window (exact)
    sufficient: bool = False
    notes: list[dict] = field(default_factory=list)

    @property
    def mode(self) -> str | None:
        """'cgm' with CGM readings in the window, else 'meter' with finger-sticks, else None."""
        if self.cgm.size:
            return "cgm"
        return "meter" if self.meter.size else None

    @property
    def readings(self) -> _Series:
        return self.cgm if self.mode == "cgm" else self.meter

    def kinds(self) -> set[str]:
        return {m.get("kind") for _, m in self.meds}

    def of_kind(self, kind: str) -> list[tuple[int, dict]]:
        return [(i, m) for i, m in self.meds if m.get("kind") == kind]

    def note(self, rule: str, reason: str) -> None:
        self.notes.append({"rule": rule, "reason": reason})

    def since_change(self, kind: str) -> int:
        """First local day on the current dose of `kind` (the day after it changed)."""
        changed = self.changed.get(kind)
        return self.first if changed is None else max(self.first, changed + 1)

    def settling(self, kind: str, days: int) -> str | None:
        changed = self.changed.get(kind)
        if changed is None or self.last - changed >= days:
            return None
        return (
            f"the {DRUG_WORDS.get(kind, kind)} changed on {day_iso(changed)}: a change settles "
            f"for {days} days before its effect is judged"
        )


def _suggestion(rule, kind, source, days, summary, change=None, blocked_by=(), params=None) -> dict:
    return {
        "rule": rule,
        "kind": kind,
        "source": source,
        "evidence": {
            "days": [day_iso(d) for d in sorted({int(d) for d in days})],
            "summary": summary,
            "params": params or {},
        },
        "proposed_change": change,
        "blocked_by": list(blocked_by),
    }


def _clean_targets(raw) -> dict:
    """The plan's targets with only well-formed parts (a plan is whatever a form or an API
    client sent): numeric range limits, goals with a known comparison and a numeric target,
    finger-stick targets as (low, high) pairs. Without targets: the consensus standard."""
    if not isinstance(raw, dict) or not raw:
        return {**PRESETS["standard"], "preset": "standard"}
    low, high = _number(raw.get("range_low")), _number(raw.get("range_high"))
    if low is None or high is None or low >= high:
        low, high = c.LOW_BELOW, c.HIGH_ABOVE
    goals = []
    for goal in raw.get("goals") if isinstance(raw.get("goals"), list) else []:
        if not isinstance(goal, dict) or goal.get("comparison") not in (">", ">=", "<", "<="):
            continue
        target = _number(goal.get("target"))
        if isinstance(goal.get("key"), str) and target is not None:
            goals.append({**goal, "target": target})
    clean = {
        "preset": raw.get("preset") if isinstance(raw.get("preset"), str) else "custom",
        "label": raw.get("label") if isinstance(raw.get("label"), str) else "",
        "range_low": _plain(low),
        "range_high": _plain(high),
        "goals": goals,
    }
    meter = raw.get("meter_targets")
    if isinstance(meter, dict):
        pairs = {}
        for tag, pair in meter.items():
            if isinstance(pair, list | tuple) and len(pair) == 2:
                pairs[tag] = (_number(pair[0]), _number(pair[1]))
        if pairs:
            clean["meter_targets"] = pairs
    return clean


def _is_pregnancy(content: dict, targets: dict, diabetes_type) -> bool:
    """A pregnancy plan: the pregnancy preset, a GDM patient, or (as ``targets.meter_targets``
    reads a custom plan) a custom range whose upper limit is 140 or less."""
    if diabetes_type == "GDM":
        return True
    preset = targets.get("preset")
    if preset == "pregnancy_t1":
        return True
    high = _number(targets.get("range_high"))
    return preset not in PRESETS and high is not None and high <= 140


def _case(
    content,
    *,
    tz,
    start,
    end,
    times,
    values,
    meter_times,
    meter_values,
    meter_tags,
    meal_times,
    patterns,
    diabetes_type,
    weight_kg,
    changed_on,
) -> _Case:
    content = content if isinstance(content, dict) else {}
    targets = _clean_targets(content.get("targets"))
    meds_raw = content.get("medications") if isinstance(content.get("medications"), list) else []
    meds = [(i, m) for i, m in enumerate(meds_raw) if isinstance(m, dict)]
    cgm = _cgm_series(times, values, tz)
    meter = _meter_series(meter_times, meter_values, meter_tags, tz)
    first, last = parse_date(start), parse_date(end)
    all_days = np.concatenate([cgm.day, meter.day])
    if first is None and all_days.size:
        first = int(all_days.min())
    if last is None and all_days.size:
        last = int(all_days.max())
    if first is None or last is None or last < first:
        first = last = 0
        cgm, meter = cgm.where(np.zeros(cgm.size, bool)), meter.where(np.zeros(meter.size, bool))
    else:
        cgm = cgm.where((cgm.day >= first) & (cgm.day <= last))
        meter = meter.where((meter.day >= first) & (meter.day <= last))
    changed = {}
    for kind, when in (changed_on or {}).items():
        try:
            day = parse_date(when)
        except (TypeError, ValueError):
            continue
        if day is not None:
            changed[kind] = day
    weight = _number(weight_kg)
    case = _Case(
        content=content,
        targets=targets,
        meds=meds,
        tz=tz,
        first=first,
        last=last,
        cgm=cgm,
        meter=meter,
        meals=np.empty(0, "int64"),
        wake=_clock_minutes(content.get("wake_time"), DEFAULT_WAKE_TIME),
        bedtime=_clock_minutes(content.get("bedtime"), DEFAULT_BEDTIME),
        diabetes_type=diabetes_type,
        weight_kg=weight if weight and weight > 0 else None,
        changed=changed,
        patterns=[p for p in (patterns or []) if isinstance(p, dict)],
    )
    case.meals = _meal_starts(case, meal_times)
    if case.mode == "cgm":
        case.metrics = cgm_metrics(
            cgm.t, cgm.v, tz=tz, start=day_iso(first), end=day_iso(last), full=False, exact=True
        )
        if own_range(targets):
            low, high = _number(targets.get("range_low")), _number(targets.get("range_high"))
            if low is not None and high is not None:
                case.metrics.update(range_percents(cgm.v, low, high))
        case.sufficient = sufficiency(
            days=case.metrics["days"],
            period_days=last - first + 1,
            active_percent=case.metrics["active_percent"],
        )["sufficient"]
    return case


def _meal_starts(case: _Case, meal_times) -> np.ndarray:
    """Local ns of meal starts: the recorded ones (``meal_times``) on the days that have any,
    the plan's clock times (``meal_times`` in the content, default 07:00 / 12:00 / 18:00) on
    the other days of the window (and the day before it)."""
    recorded = np.empty(0, "int64")
    if meal_times is not None and len(meal_times):
        recorded = np.sort(local_ns(np.sort(as_ns(meal_times)), case.tz))
        days = recorded // NS_PER_DAY
        recorded = recorded[(days >= case.first - 1) & (days <= case.last)]
    clocks = case.content.get("meal_times")
    clocks = clocks if isinstance(clocks, list) else []
    minutes = sorted({m for m in (_parse_clock(x) for x in clocks) if m is not None})
    minutes = minutes or [_parse_clock(x) for x in DEFAULT_MEAL_TIMES]
    days = np.arange(case.first - 1, case.last + 1, dtype="int64")
    days = days[~np.isin(days, recorded // NS_PER_DAY)]
    grid = days[:, None] * NS_PER_DAY + np.array(minutes, "int64")[None, :] * NS_PER_MINUTE
    return np.sort(np.concatenate([recorded, grid.ravel()]))


# --- Rule 1: hypoglycaemia first ----------------------------------------------------------


def _very_low_goal(targets: dict) -> float:
    for goal in targets.get("goals") or []:
        if isinstance(goal, dict) and goal.get("key") == "very_low_percent":
            target = _number(goal.get("target"))
            if target is not None:
                return target
    return DEFAULT_VERY_LOW_GOAL


def _lows_finding(case: _Case) -> dict | None:
    """Time below range or below 54 over its goal (CGM, on the shown value), or the meter's
    lows; None when neither."""
    low = _number(case.targets.get("range_low")) or c.LOW_BELOW
    threshold = low if own_range(case.targets) else c.LOW_BELOW
    if case.mode == "cgm":
        m = case.metrics
        below = (
            m.get("below_target_percent")
            if own_range(case.targets) and m.get("below_target_percent") is not None
            else m["very_low_percent"] + m["low_percent"]
        )
        very_low = m["very_low_percent"]
        below_goal, very_low_goal = below_range_goal(case.targets), _very_low_goal(case.targets)
        over_below = display.goal_met(below, "<", below_goal) is False
        over_very_low = display.goal_met(very_low, "<", very_low_goal) is False
        if not (over_below or over_very_low):
            return None
        text = (
            f"Time below {_mg(threshold)} {display.percent(below)} "
            f"(goal {display.goal_text('<', below_goal)}), below {_mg(c.VERY_LOW_BELOW)} "
            f"{display.percent(very_low)} (goal {display.goal_text('<', very_low_goal)})."
        )
        params = {
            "below_percent": below,
            "below_goal": below_goal,
            "very_low_percent": very_low,
            "very_low_goal": very_low_goal,
            "threshold_mg_dl": threshold,
        }
        return {"very_low": over_very_low, "threshold": threshold, "text": text, "params": params}
    if case.mode == "meter":
        s = case.meter
        low_days = np.unique(s.day[s.v < threshold]).size
        very_low_n = int(np.count_nonzero(s.v < c.VERY_LOW_BELOW))
        if not (very_low_n or low_days >= METER_LOW_MIN_DAYS):
            return None
        text = (
            f"Finger-sticks below {_mg(threshold)} on {low_days} days, "
            f"{very_low_n} below {_mg(c.VERY_LOW_BELOW)}."
        )
        params = {
            "low_days": low_days,
            "very_low_readings": very_low_n,
            "threshold_mg_dl": threshold,
        }
        return {
            "very_low": bool(very_low_n),
            "threshold": threshold,
            "text": text,
            "params": params,
        }
    return None


def _timing(case: _Case, s: _Series) -> np.ndarray:
    """'overnight' (00:00-06:00 local), 'after_meal' (within 4 h of a meal start, or a
    finger-stick tagged after a meal) or 'daytime', per reading."""
    minute = s.minute
    overnight = (minute >= NIGHT_START_MINUTE) & (minute < NIGHT_END_MINUTE)
    after = np.zeros(s.size, bool)
    if case.meals.size and s.size:
        idx = np.searchsorted(case.meals, s.local, side="right") - 1
        ok = idx >= 0
        since = np.full(s.size, np.iinfo("int64").max)
        since[ok] = s.local[ok] - case.meals[idx[ok]]
        after = since <= AFTER_MEAL_MINUTES * NS_PER_MINUTE
    if s.tags is not None:
        after |= s.tags == "after_meal"
    return np.where(overnight, "overnight", np.where(after, "after_meal", "daytime"))


def _hypo_rule(case: _Case, finding: dict) -> list[dict]:
    step = HYPO_STEP_VERY_LOW if finding["very_low"] else HYPO_STEP
    present = case.kinds() & set(HYPO_DRUG_ORDER)
    if not present:
        case.note(RULE_HYPO, "lows over goal, but the plan has no insulin or sulfonylurea to lower")
        return []
    if case.mode == "cgm" and not case.sufficient:
        case.note(
            RULE_HYPO,
            f"lows over goal, but CGM wear is {display.percent(case.metrics['active_percent'])} "
            f"(< {c.SUFFICIENT_ACTIVE_PERCENT:g} %): too little data to size a decrease",
        )
        return []
    s = case.readings
    low = s.v < finding["threshold"]
    timing = _timing(case, s)
    drug = np.full(s.size, "", dtype=object)
    for name, order in TIMING_DRUGS.items():
        chosen = next((k for k in order if k in present), "")
        drug[timing == name] = chosen
    attributed: dict[str, np.ndarray] = {}
    for kind in HYPO_DRUG_ORDER:
        mask = low & (drug == kind)
        current = mask & (s.day >= case.since_change(kind))
        if current.any():
            attributed[kind] = current
        elif mask.any():
            case.note(
                RULE_HYPO,
                f"the lows pointing to the {DRUG_WORDS[kind]} came before it changed on "
                f"{day_iso(case.changed[kind])}: none on the current dose",
            )
    if not attributed:
        if not low.any():
            case.note(RULE_HYPO, "time below 54 over goal, but no reading below range to time")
        elif not (low & (drug != "")).any():
            case.note(
                RULE_HYPO, "the lows' timing points to no insulin or sulfonylurea in the plan"
            )
        return []
    days = {k: np.unique(s.day[m]) for k, m in attributed.items()}
    implicated = [k for k in HYPO_DRUG_ORDER if k in days and days[k].size >= LOW_PATTERN_MIN_DAYS]
    if not implicated:
        most = max(int(m.sum()) for m in attributed.values())
        implicated = [
            next(k for k in HYPO_DRUG_ORDER if k in attributed and attributed[k].sum() == most)
        ]
    out = []
    for kind in implicated:
        reason = case.settling(kind, SETTLE_DAYS[kind])
        if reason:
            case.note(RULE_HYPO, f"lows point to the {DRUG_WORDS[kind]}, but {reason}")
            continue
        where = sorted({str(x) for x in timing[attributed[kind]]}, key=list(TIMING_WORDS).index)
        lows_text = (
            f"Lows {' and '.join(TIMING_WORDS[w] for w in where)} on {days[kind].size} "
            f"day{'s' if days[kind].size != 1 else ''} point to the {DRUG_WORDS[kind]}."
        )
        made = _decrease(case, kind, step, finding)
        if made is None:
            case.note(RULE_HYPO, f"lows point to the {DRUG_WORDS[kind]}, but no dose is recorded")
            continue
        change, action, source = made
        params = {**finding["params"], "step_percent": float(step * 100), "timing": where}
        out.append(
            _suggestion(
                RULE_HYPO,
                DECREASE_KINDS[kind],
                source,
                days[kind],
                f"{finding['text']} {lows_text} {action}",
                change,
                params=params,
            )
        )
    return out


def _decrease(case: _Case, kind: str, step: Decimal, finding: dict):
    """(proposed change, words, source) for lowering every medication of `kind`, or None."""
    change: dict = {}
    words = []
    percent = f"{int(step * 100)} %"
    for i, med in case.of_kind(kind):
        dose, unit = _number(med.get("dose")), med.get("dose_unit") or ""
        name = med.get("product") or DRUG_WORDS[kind]
        if dose is None or dose <= 0:
            continue
        if kind == "sulfonylurea":
            if finding["very_low"]:
                change[f"medications.{i}"] = {"from": dict(med), "to": None}
                words.append(f"Stop {name} ({_dose_text(dose, unit)}): time below 54 is over goal.")
            else:
                half = _plain(Decimal(repr(dose)) / 2)
                change[f"medications.{i}.dose"] = {"from": _plain(dose), "to": half}
                words.append(f"Halve {name}: {_dose_text(dose, unit)} → {_dose_text(half, unit)}.")
            continue
        new = reduced_dose(dose, step)
        change[f"medications.{i}.dose"] = {"from": _plain(dose), "to": new}
        text = f"Lower {name} by {percent}: {_dose_text(dose, unit)} → {_dose_text(new, unit)}"
        ratio = _number(med.get("carb_ratio_g_per_u"))
        if kind == "insulin_bolus" and ratio and ratio > 0:
            raised = raised_carb_ratio(ratio, step)
            change[f"medications.{i}.carb_ratio_g_per_u"] = {"from": _plain(ratio), "to": raised}
            text += f"; carbohydrate ratio {ratio:g} → {raised:g} g/U"
        words.append(text + ".")
    if not change:
        return None
    source = SOURCE_SULFONYLUREA if kind == "sulfonylurea" else SOURCE_HYPO
    return change, " ".join(words), source


# --- Rule 2: over-basalisation ------------------------------------------------------------


def _overbasal_rule(case: _Case) -> dict | None:
    basal = [(i, m) for i, m in case.of_kind("insulin_basal") if _number(m.get("dose"))]
    if not basal:
        case.note(RULE_OVERBASAL, "no basal insulin with a dose in the plan")
        return None
    signals, days, params = [], [], {}
    total = sum(_number(m.get("dose")) * _per_day(m.get("frequency")) for _, m in basal)
    if case.weight_kg:
        per_kg = total / case.weight_kg
        params.update(units_per_kg=per_kg, basal_units_per_day=total, weight_kg=case.weight_kg)
        if per_kg > OVERBASAL_UNITS_PER_KG:
            signals.append(
                f"basal insulin {total:g} U/day is {per_kg:.2f} U/kg "
                f"(above {OVERBASAL_UNITS_PER_KG:g} U/kg at {case.weight_kg:g} kg)"
            )
    nights = _bedtime_falls(case)
    if nights is not None:
        falls = {d: f for d, f in nights.items() if f >= OVERBASAL_FALL_MG_DL}
        params.update(nights=len(nights), nights_with_fall=len(falls))
        if len(falls) > MOST_NIGHTS_SHARE * len(nights):
            median = float(np.median(list(falls.values())))
            params["median_fall_mg_dl"] = median
            days = list(falls)
            signals.append(
                f"glucose fell ≥ {_mg(OVERBASAL_FALL_MG_DL)} from bedtime to waking on "
                f"{len(falls)} of {len(nights)} nights (median fall {_mg(median)})"
            )
    if not signals:
        return None
    summary = (
        f"Possible over-basalisation: {'; '.join(signals)}. Review the basal dose and whether "
        "mealtime cover (prandial insulin or a GLP-1 RA) is needed, rather than raising it."
    )
    return _suggestion(
        RULE_OVERBASAL, "basal_review", SOURCE_OVERBASAL, days, summary, params=params
    )


def _bedtime_falls(case: _Case) -> dict[int, float] | None:
    """{waking day: bedtime value − fasting value} for nights on the current basal dose with
    both values, or None (with a note) when too few nights or too little CGM wear."""
    if case.mode == "cgm" and not case.sufficient:
        case.note(RULE_OVERBASAL, "CGM wear under 70 %: the bedtime-to-morning fall is not judged")
        return None
    s = case.readings
    if case.mode == "cgm":
        fasting, bed = _cgm_hour_values(s, case.wake), _cgm_hour_values(s, case.bedtime)
    elif case.mode == "meter":
        fasting, bed = _meter_tag_values(s, "fasting"), _meter_tag_values(s, "bedtime")
    else:
        return None
    # A bedtime later in the clock than waking is the evening before the waking day.
    lag = 1 if case.bedtime > case.wake else 0
    first = case.since_change("insulin_basal")
    nights = {d + lag: bed[d] - fasting[d + lag] for d in bed if d + lag in fasting and d >= first}
    if len(nights) < OVERBASAL_MIN_NIGHTS:
        case.note(
            RULE_OVERBASAL,
            f"{len(nights)} nights with both a bedtime and a waking value "
            f"(at least {OVERBASAL_MIN_NIGHTS} needed)",
        )
        return None
    return nights


# --- Rule 3: basal titration --------------------------------------------------------------


def _titration_rule(case: _Case, blockers: list[str]) -> dict | None:
    rule = RULE_TITRATION
    if case.diabetes_type != "T2":
        case.note(rule, "basal titration tables are for type 2 diabetes (Riddle 2003; ADA 9)")
        return None
    basal = case.of_kind("insulin_basal")
    if len(basal) != 1:
        case.note(
            rule, "no basal insulin in the plan" if not basal else "more than one basal insulin"
        )
        return None
    index, med = basal[0]
    name = med.get("titration_algorithm")
    algorithm = TITRATION_ALGORITHMS.get(name) if isinstance(name, str) else None
    if algorithm is None:
        case.note(rule, "the plan names no titration algorithm for the basal insulin")
        return None
    dose = _number(med.get("dose"))
    if dose is None or dose <= 0:
        case.note(rule, "the basal insulin has no dose")
        return None
    window = algorithm["window_days"]
    reason = case.settling("insulin_basal", window)
    if reason:
        case.note(rule, reason)
        return None
    start = max(case.last - window + 1, case.first, case.since_change("insulin_basal"))
    if case.mode is None:
        case.note(rule, "no readings")
        return None
    s = case.readings.where(case.readings.day >= start)
    if case.mode == "cgm":
        wear = cgm_metrics(
            s.t,
            s.v,
            tz=case.tz,
            start=day_iso(start),
            end=day_iso(case.last),
            full=False,
            exact=True,
        )["active_percent"]
        if (display.percent_value(wear) or 0.0) < c.SUFFICIENT_ACTIVE_PERCENT:
            case.note(
                rule, f"CGM wear {display.percent(wear)} over the last {window} days (< 70 %)"
            )
            return None
        fasting = _cgm_hour_values(s, case.wake)
    else:
        fasting = _meter_tag_values(s, "fasting")
    fasting = {d: v for d, v in fasting.items() if start <= d <= case.last}
    lowest = min(fasting.items(), key=lambda item: (item[1], item[0]), default=None)
    if lowest is not None and lowest[1] < NO_INCREASE_BELOW_MG_DL:
        case.note(
            rule,
            f"fasting glucose {_measured(lowest[1])} on {day_iso(lowest[0])} "
            f"(< {NO_INCREASE_BELOW_MG_DL:g} {UNIT}): no increase (Riddle 2003)",
        )
        return None
    if len(fasting) < algorithm["min_days"]:
        case.note(
            rule,
            f"{len(fasting)} days with a fasting value in the last {window} days "
            f"(at least {algorithm['min_days']} needed)",
        )
        return None
    used = sorted(fasting)[-algorithm["mean_days"] :]
    mean = float(np.mean([fasting[d] for d in used]))
    shown = display.glucose_value(mean, UNIT)  # judged as shown, as the fasting goal is
    goal_low, goal_high = meter_targets(case.targets).get("fasting", (80, 130))
    if goal_high is None or shown <= goal_high:
        case.note(rule, f"mean fasting glucose {_mg(mean)} is not above the fasting goal")
        return None
    units = algorithm.get("step_units") or treat_to_target_increase(shown)
    if not units:
        case.note(rule, f"mean fasting glucose {_mg(mean)} is below the table's lowest band")
        return None
    new = _plain(Decimal(repr(dose)) + units)
    unit = med.get("dose_unit") or "U"
    params = {
        "algorithm": name,
        "mean_fasting_mg_dl": mean,
        "fasting_goal_mg_dl": [goal_low, goal_high],
        "fasting_days": len(used),
        "step_units": units,
    }
    summary = (
        f"Mean fasting glucose {_mg(mean)} over the last {len(used)} days with a fasting value, "
        f"above the fasting goal ({display.glucose_range(goal_low, goal_high, UNIT)}), no fasting "
        f"value below {_mg(NO_INCREASE_BELOW_MG_DL)}. {algorithm['label']}: "
    )
    if blockers:
        summary += (
            f"no increase is proposed while {' and '.join(BLOCKER_WORDS[b] for b in blockers)}."
        )
        change = None
        del params["step_units"]  # a blocked increase carries no number
    else:
        product = med.get("product") or "basal insulin"
        summary += (
            f"raise {product} by {units} {unit}: "
            f"{_dose_text(dose, unit)} → {_dose_text(new, unit)}."
        )
        change = {f"medications.{index}.dose": {"from": _plain(dose), "to": new}}
    return _suggestion(
        rule, "basal_increase", algorithm["source"], used, summary, change, blockers, params
    )


# --- Rules 4-6 ----------------------------------------------------------------------------


def _meal_rules(case: _Case, lows: bool) -> list[dict]:
    out = []
    bolus = case.of_kind("insulin_bolus")
    for finding in case.patterns:
        meal = MEAL_RISE_CODES.get(finding.get("code"))
        if meal is None:
            continue
        params = finding.get("params") if isinstance(finding.get("params"), dict) else {}
        dates = params.get("dates") if isinstance(params.get("dates"), list) else []
        days = [d for d in (parse_date(x) for x in dates if isinstance(x, str)) if d is not None]
        what = (
            f"the {meal} insulin dose or its carbohydrate ratio, or the {meal} carbohydrate"
            if bolus
            else f"the {meal} carbohydrate, or mealtime cover for it (prandial insulin or a "
            "GLP-1 RA)"
        )
        summary = (
            f"{finding.get('text') or f'Rise after {meal} on most days.'} Review {what}; the "
            "plan carries no per-meal doses, so no number is proposed."
        )
        if lows:
            summary += " Time below range is over its goal: address the lows first."
        out.append(
            _suggestion(
                RULE_MEAL,
                "meal_review",
                SOURCE_MEAL,
                days,
                summary,
                params={"meal": meal, **params},
            )
        )
    return out


def _glucose_goal(low, high) -> str:
    """'80–130 mg/dL', '≤ 180 mg/dL' or '≥ 80 mg/dL': a finger-stick goal in words."""
    if low is not None and high is not None:
        return display.glucose_range(low, high, UNIT)
    return f"≤ {_mg(high)}" if high is not None else f"≥ {_mg(low)}"


def _targets_met(case: _Case) -> dict | None:
    if case.mode == "cgm":
        if not case.sufficient:
            case.note(RULE_TARGETS_MET, "too little CGM data to say the goals are met")
            return None
        goals = evaluate_metrics(case.metrics, case.targets, values=case.cgm.v)
        if not goals or not all(g["met"] for g in goals):
            return None
        shown = [
            f"{g['label']} {display.percent(g['value'])} "
            f"(goal {display.goal_text(g['comparison'], g['target'])})"
            for g in goals
        ]
    elif case.mode == "meter":
        m = case.meter
        metrics = meter_metrics(
            m.t, m.v, m.tags, tz=case.tz, start=day_iso(case.first), end=day_iso(case.last)
        )
        goals = [g for g in evaluate_meter(metrics, case.targets) if g["met"] is not None]
        if not goals or not all(g["met"] for g in goals):
            return None
        shown = [
            f"{g['tag'].replace('_', ' ')} mean {_mg(g['value'])} "
            f"(goal {_glucose_goal(g['low'], g['high'])})"
            for g in goals
        ]
    else:
        return None
    summary = f"Every goal of the plan is met: {'; '.join(shown)}. No change proposed."
    days = range(case.first, case.last + 1)
    return _suggestion(RULE_TARGETS_MET, "no_change", SOURCE_TARGETS_MET, days, summary)


def _pregnancy(case: _Case) -> dict:
    summary = (
        "Pregnancy plan: insulin needs change week by week in pregnancy and doses are set by "
        "the specialist team, so these rules propose no change."
    )
    if _lows_finding(case):
        summary += " Lows are over the plan's goal: review them with the team."
    return _suggestion(RULE_PREGNANCY, "not_for_pregnancy", SOURCE_PREGNANCY, [], summary)


# --- Entry points -------------------------------------------------------------------------


def evaluate_rules(
    content: dict,
    *,
    tz: str = "UTC",
    start=None,
    end=None,
    times=None,
    values=None,
    meter_times=None,
    meter_values=None,
    meter_tags=None,
    meal_times=None,
    patterns=(),
    diabetes_type: str | None = None,
    weight_kg: float | None = None,
    changed_on: dict | None = None,
) -> dict:
    """Every rule on one patient's window -> ``{"suggestions": [...], "not_proposed":
    [{"rule", "reason"}]}`` (see the module docstring for the arguments)."""
    case = _case(
        content,
        tz=tz,
        start=start,
        end=end,
        times=times,
        values=values,
        meter_times=meter_times,
        meter_values=meter_values,
        meter_tags=meter_tags,
        meal_times=meal_times,
        patterns=patterns,
        diabetes_type=diabetes_type,
        weight_kg=weight_kg,
        changed_on=changed_on,
    )
    if _is_pregnancy(case.content, case.targets, diabetes_type):
        return {"suggestions": [_pregnancy(case)], "not_proposed": []}
    if case.mode is None:
        case.note("all", "no readings in the window")
        return {"suggestions": [], "not_proposed": case.notes}
    finding = _lows_finding(case)
    suggestions = _hypo_rule(case, finding) if finding else []
    review = _overbasal_rule(case)
    if review:
        suggestions.append(review)
    blockers = ([RULE_HYPO] if finding else []) + ([RULE_OVERBASAL] if review else [])
    increase = _titration_rule(case, blockers)
    if increase:
        suggestions.append(increase)
    suggestions += _meal_rules(case, bool(finding))
    if not suggestions and not finding:
        met = _targets_met(case)
        if met:
            suggestions.append(met)
    return {"suggestions": suggestions, "not_proposed": case.notes}


def plan_suggestions(content: dict, **kwargs) -> list[dict]:
    """The suggestions for one patient's report window (``evaluate_rules`` without the
    reasons why other rules proposed nothing).

    >>> plan_suggestions(plan, tz="Europe/Bucharest", start="2024-05-01", end="2024-05-14",
    ...                  times=t, values=v, diabetes_type="T2")[0]["kind"]  # doctest: +SKIP
    'basal_increase'
    """
    return evaluate_rules(content, **kwargs)["suggestions"]
