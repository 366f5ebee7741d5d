"""The plan's targets as other apps ask for them: the effective targets (the plan's, else the
preset's), titration warnings against the metrics, and the plan's goals met or missed.
"""

from __future__ import annotations

import copy
import datetime as dt

from django.utils.translation import gettext as _

from care_plans.models import CarePlanVersion
from care_plans.services.defaults import preset_for, targets_from_preset
from care_plans.services.revisions import care_plan_current
from patients.models import Patient


def effective_targets(patient: Patient) -> dict:
    """THE patient's targets in force — range and goals — for every page that judges their
    glucose (reports, plan, home, triage, workspace): the current care plan's, else the
    consensus preset for their diabetes type and age (``preset_for``).

    ``{"preset", "label", "range_low", "range_high", "goals": [{"key", "label",
    "comparison", "target"}]}`` in mg/dL and %. Pass it straight to
    ``glycemia.targets.evaluate_metrics`` (goals met / not met, decided on the shown value)
    or ``glycemia.targets.band_rows`` (the five bands in the plan's own range). One query.

    >>> targets = effective_targets(pregnant_patient)
    >>> targets["range_low"], targets["range_high"]
    (63, 140)
    """
    return targets_of_version(care_plan_current(patient=patient), patient=patient)


targets_for = effective_targets  # the older name, kept for callers


# An up-titration rule raises a dose ("+2 U every 3 days while fasting > 130", "increase by
# 10 %", "加 2 U"). Free text: these words and a leading "+" mark one; a rule that only lowers
# ("-2 U if below 70") does not.
_UP_WORDS = (
    "+",
    "increase",
    "raise",
    "up-titrat",
    "titrate up",
    "uptitrat",
    "增加",
    "加量",
    "上调",
)


def is_up_titration(rule: str) -> bool:
    """Whether a titration rule can raise a dose.

    >>> is_up_titration("+2 U every 3 days while fasting > 130"), is_up_titration("-2 U if < 70")
    (True, False)
    """
    text = (rule or "").lower()
    return any(word in text for word in _UP_WORDS)


def titration_warnings(content: dict, metrics: dict) -> list[str]:
    """A warning per medication with an up-titration rule while time below range is above the
    plan's goal (the report or the plan page shows it): raising a dose then adds lows.

    `metrics` are a period's (report metrics plus goal values, or the plan page's window).
    """
    from glycemia import display
    from glycemia.compare import below_range_goal, below_range_percent

    below = below_range_percent(metrics)
    goal = below_range_goal(content.get("targets"))
    if below is None or display.percent_value(below) < goal:
        return []
    return [
        _(
            "%(product)s has an up-titration rule (“%(rule)s”) but time below range is "
            "%(below)s (goal < %(goal)s %%): do not raise the dose before the lows are addressed."
        )
        % {
            "product": med.get("product") or "",
            "rule": med.get("titration_rule"),
            "below": display.percent(below),
            "goal": f"{goal:g}",
        }
        for med in content.get("medications", [])
        if is_up_titration(med.get("titration_rule") or "")
    ]


def targets_of_version(version: CarePlanVersion | None, *, patient: Patient) -> dict:
    """``targets_for(patient)`` from a version already fetched with ``care_plan_current``, so
    a caller that needs both the version and its targets makes one query, not two (and the
    targets it stores are those of the version it names).

    >>> targets_of_version(None, patient=patient)["preset"]  # doctest: +SKIP
    'standard'
    """
    if version is None:
        return targets_from_preset(preset_for(patient))
    return copy.deepcopy(version.content["targets"])


def plan_goal_status(
    *, patient: Patient, targets: dict, metrics: dict, start: dt.date, end: dt.date
) -> list[dict]:
    """The plan's goals against the patient's current window (``evaluate_metrics`` rows).

    The daily rollups count the consensus bands (70-180); a plan with its own range
    (pregnancy 63-140) is judged on the window's CGM readings, so its goals show current
    values too.
    """
    from glycemia.targets import evaluate_metrics

    if (targets.get("range_low"), targets.get("range_high")) == (70, 180):
        return evaluate_metrics(metrics, targets)
    from readings.models import Reading
    from readings.windows import readings_arrays

    _times, values = readings_arrays(patient, Reading.Kind.CGM, start, end)
    return evaluate_metrics(metrics, targets, values=values if values.size else None)
