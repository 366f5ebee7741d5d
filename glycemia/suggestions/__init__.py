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
from the plan's versions), recorded meal starts (``meal_times``, UTC: carbohydrate or
mealtime-insulin treatments) and ``cgm_window_metrics``: the caller's own
``glycemia.metrics.cgm_metrics(times, values, tz=tz, start=start, end=end, exact=True)``
(a report has them already), used instead of computing the same numbers again when every
CGM reading lies in the window (``case.build_case``).

Plan fields read when present (new, optional): ``wake_time`` ("HH:MM", default 07:00: the
hour before it is the fasting hour), ``bedtime`` (default 22:00), ``meal_times`` (a list of
"HH:MM", default 07:00 / 12:00 / 18:00, used when no meal is recorded) and
``titration_algorithm`` (``treat_to_target`` or ``ada_2_units_every_3_days``: one per plan,
the clinician's choice, at the top of the content as ``care_plans`` stores it, or on the basal
insulin; without it no increase is proposed).

Output: a list of suggestions ``{"rule", "kind", "source", "evidence": {"days": [ISO
dates], "summary": English text, "params": the numbers in it}, "proposed_change": {field:
{"from", "to"}} or None, "blocked_by": [rule names]}``. A field is a dotted path into the
content, as ``care_plans.services`` reports errors (``medications.0.dose``); a medication to
stop is ``{"medications.2": {"from": <the medication>, "to": None}}``. ``evaluate_rules``
also returns why each rule proposed nothing (``not_proposed``: ``{"rule", "reason"}``).

Rules (each threshold carries its source in its module; glycemia/README.md says them in
words):

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

The modules, by what they do (this one composes them, in the order above):

- ``common`` — rule names, suggestion kinds, which rules block an increase, the shape of one
  suggestion, readers of plan numbers and clock times, evidence-text helpers.
- ``case`` — the patient's case: the window's CGM or finger-stick readings in local time,
  the plan's targets and medications cleaned, meal starts, each day's fasting or bedtime
  value, CGM sufficiency, how long a dose change settles, and the notes of why a rule
  proposed nothing.
- ``lows`` — rule 1 (which drug the lows' timing points to, dose decreases: ``reduced_dose``,
  ``raised_carb_ratio``) and rule 2 (over-basalisation).
- ``basal`` — rule 3: fasting glucose per day (``fasting_by_day``, ``meter_fasting_by_day``)
  and basal titration by Treat-to-Target (``treat_to_target_increase``) or ADA.
- ``meals`` — rule 4: post-meal review from the report's rise-after-a-meal findings.
- ``no_change`` — rules 5 and 6: a pregnancy plan, and every goal met.

>>> treat_to_target_increase(180), treat_to_target_increase(140), treat_to_target_increase(99.9)
(8, 6, 0)
"""

from __future__ import annotations

from .basal import (
    TITRATION_ALGORITHMS,
    fasting_by_day,
    meter_fasting_by_day,
    titration_rule,
    treat_to_target_increase,
)
from .case import build_case
from .common import (
    INTENSIFYING_KINDS,
    KINDS,
    RULE_HYPO,
    RULE_MEAL,
    RULE_OVERBASAL,
    RULE_PREGNANCY,
    RULE_TARGETS_MET,
    RULE_TITRATION,
)
from .lows import hypo_rule, lows_finding, overbasal_rule, raised_carb_ratio, reduced_dose
from .meals import meal_rules
from .no_change import is_pregnancy, pregnancy_rule, targets_met_rule

__all__ = [
    "INTENSIFYING_KINDS",
    "KINDS",
    "RULE_HYPO",
    "RULE_MEAL",
    "RULE_OVERBASAL",
    "RULE_PREGNANCY",
    "RULE_TARGETS_MET",
    "RULE_TITRATION",
    "TITRATION_ALGORITHMS",
    "evaluate_rules",
    "fasting_by_day",
    "meter_fasting_by_day",
    "plan_suggestions",
    "raised_carb_ratio",
    "reduced_dose",
    "treat_to_target_increase",
]

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
    cgm_window_metrics: dict | None = None,
) -> dict:
    """Every rule on one patient's window -> ``{"suggestions": [...], "not_proposed":
    [{"rule", "reason"}]}`` (see the module docstring for the arguments)."""
    case = build_case(
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
        cgm_window_metrics=cgm_window_metrics,
    )
    if is_pregnancy(case.content, case.targets, diabetes_type):
        return {"suggestions": [pregnancy_rule(case)], "not_proposed": []}
    if case.mode is None:
        case.note("all", "no readings in the window")
        return {"suggestions": [], "not_proposed": case.notes}
    finding = lows_finding(case)
    suggestions = hypo_rule(case, finding) if finding else []
    review = overbasal_rule(case)
    if review:
        suggestions.append(review)
    blockers = ([RULE_HYPO] if finding else []) + ([RULE_OVERBASAL] if review else [])
    increase = titration_rule(case, blockers)
    if increase:
        suggestions.append(increase)
    suggestions += meal_rules(case, bool(finding))
    if not suggestions and not finding:
        met = targets_met_rule(case)
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
