"""Plan suggestions that propose no change: rule 5, a pregnancy plan (``is_pregnancy``,
``pregnancy_rule`` → ``not_for_pregnancy``: the only suggestion it gets), and rule 6, every
goal of the plan met with nothing else to say (``targets_met_rule`` → ``no_change``).
"""

from __future__ import annotations

from glycemia import display
from glycemia.meter import meter_metrics
from glycemia.series import day_iso
from glycemia.targets import PRESETS, evaluate_meter, evaluate_metrics

from .case import Case
from .common import RULE_PREGNANCY, RULE_TARGETS_MET, UNIT, as_number, mg, suggestion
from .lows import lows_finding

SOURCE_PREGNANCY = (
    "American Diabetes Association, Standards of Care in Diabetes—2024, 15 (Management of "
    "diabetes in pregnancy): insulin needs change week by week in pregnancy; doses are "
    "adjusted by the specialist team. Titration tables for non-pregnant adults do not apply."
)
SOURCE_TARGETS_MET = (
    "Battelino et al., Diabetes Care 2019 (CGM targets) and the plan's own goals; "
    "American Diabetes Association, Standards of Care in Diabetes—2024, 6 (finger-stick goals)."
)


def is_pregnancy(content: dict, targets: dict, diabetes_type) -> bool:
    """A pregnancy plan: the pregnancy preset, a GDM patient, or (as ``targets.meter_targets``
    reads a custom plan) a custom range whose upper limit is 140 or less."""
    if diabetes_type == "GDM":
        return True
    preset = targets.get("preset")
    if preset == "pregnancy_t1":
        return True
    high = as_number(targets.get("range_high"))
    return preset not in PRESETS and high is not None and high <= 140


def targets_met_rule(case: Case) -> dict | None:
    if case.mode == "cgm":
        if not case.sufficient:
            case.note(RULE_TARGETS_MET, "too little CGM data to say the goals are met")
            return None
        goals = evaluate_metrics(case.metrics, case.targets, values=case.cgm.v)
        words = _cgm_goal_words
    elif case.mode == "meter":
        m = case.meter
        metrics = meter_metrics(
            m.t, m.v, m.tags, tz=case.tz, start=day_iso(case.first), end=day_iso(case.last)
        )
        goals = [g for g in evaluate_meter(metrics, case.targets) if g["met"] is not None]
        words = _meter_goal_words
    else:
        return None
    if not goals or not all(g["met"] for g in goals):
        return None
    shown = "; ".join(words(g) for g in goals)
    summary = f"Every goal of the plan is met: {shown}. No change proposed."
    days = range(case.first, case.last + 1)
    params = {"goals": [_goal_params(g) for g in goals]}
    return suggestion(
        RULE_TARGETS_MET, "no_change", SOURCE_TARGETS_MET, days, summary, params=params
    )


def _goal_params(goal: dict) -> dict:
    """The numbers of one met goal's words (params): CGM key, value, comparison and target;
    finger-stick tag, mean and limits (mg/dL)."""
    if "tag" in goal:
        return {k: goal[k] for k in ("tag", "value", "low", "high")}
    return {k: goal[k] for k in ("key", "label", "value", "comparison", "target")}


def _cgm_goal_words(goal: dict) -> str:
    """A CGM goal (``targets.evaluate_metrics``) in words: '… 74.0 % (goal > 70 %)'."""
    wanted = display.goal_text(goal["comparison"], goal["target"])
    return f"{goal['label']} {display.percent(goal['value'])} (goal {wanted})"


def _meter_goal_words(goal: dict) -> str:
    """A finger-stick goal (``targets.evaluate_meter``) in words: 'fasting mean 110 mg/dL
    (goal 80–130 mg/dL)', or a one-sided goal '(goal ≤ 180 mg/dL)' / '(goal ≥ 80 mg/dL)'."""
    low, high = goal["low"], goal["high"]
    if low is not None and high is not None:
        wanted = display.glucose_range(low, high, UNIT)
    else:
        wanted = f"≤ {mg(high)}" if high is not None else f"≥ {mg(low)}"
    return f"{goal['tag'].replace('_', ' ')} mean {mg(goal['value'])} (goal {wanted})"


def pregnancy_rule(case: Case) -> dict:
    summary = (
        "Pregnancy plan: insulin needs change week by week in pregnancy and doses are set by "
        "the specialist team, so these rules propose no change."
    )
    lows = lows_finding(case) is not None
    if lows:
        summary += " Lows are over the plan's goal: review them with the team."
    params = {"lows_over_goal": lows}
    return suggestion(
        RULE_PREGNANCY, "not_for_pregnancy", SOURCE_PREGNANCY, [], summary, params=params
    )
