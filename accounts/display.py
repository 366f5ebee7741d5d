"""The display layer: what a person reads about a metric, in their language and unit.

``glycemia/display.py`` holds the pure number rules (rounding half away from zero once, one
precision per metric, goals decided on the shown value). This module adds what needs Django:
translated labels whose thresholds come from the patient's plan and are written in the
viewer's unit. Every page, fragment, figure, PDF and message asks here for a goal's label, its
value and goal strings and its verdict, so that one metric reads the same everywhere; no
template writes a threshold (70, 180, 54, 250) itself.

Times (§ one rule for visit times): an instant such as a visit is shown in the care center's
zone on staff and clinician pages and in the patient's own zone on the patient's own pages,
and the zone is named beside it wherever it is not the viewer's own (``zone_for``,
``when_text``). The same rule holds in reminders and calendar feeds.

The plan's range is the range of the time-in-range goals. A plan whose range is not the
consensus 70–180 mg/dL (pregnancy 63–140, or a clinician's own) reads its "time in range",
"time below range" and "time above range" goals against its own limits, as triage ranks them
(``glycemia.targets.evaluate_metrics``); the labels say those limits.

>>> from django.utils import translation
>>> with translation.override("en"):
...     goal_label("in_range_percent", {"range_low": 63, "range_high": 140}, "mmol/L")
'Time in range (TIR) 3.5–7.8 mmol/L'
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from glycemia import constants as c
from glycemia import display

# Goal keys that speak for the plan's own range (glycemia.targets.PLAN_RANGE_KEYS).
_IN = ("in_range_percent", "in_target_percent")
_BELOW = ("below_70_percent", "below_target_percent")
_ABOVE = ("above_180_percent", "above_target_percent")


def plan_range(targets: dict | None) -> tuple[float, float]:
    """The plan's target range in mg/dL (the consensus 70–180 when it has none)."""
    targets = targets or {}
    low = targets.get("range_low")
    high = targets.get("range_high")
    return (
        float(c.LOW_BELOW if low is None else low),
        float(c.HIGH_ABOVE if high is None else high),
    )


def goal_label(key: str, targets: dict | None, unit: str) -> str:
    """'Time in range (TIR) 70–180 mg/dL', 'Time below 3.5 mmol/L (TBR)': the metric's name
    with its thresholds in the reader's unit, the range goals in the plan's own range."""
    low, high = plan_range(targets)

    def below(v):
        return _("Time below %(v)s (TBR)") % {"v": display.glucose(v, unit)}

    def above(v):
        return _("Time above %(v)s (TAR)") % {"v": display.glucose(v, unit)}

    if key in _IN:
        return _("Time in range (TIR) %(range)s") % {
            "range": display.glucose_range(low, high, unit)
        }
    if key in _BELOW:
        return below(low)
    if key in _ABOVE:
        return above(high)
    labels = {
        "very_low_percent": lambda: (
            _("Time below %(v)s (level 2 hypoglycemia)")
            % {"v": display.glucose(c.VERY_LOW_BELOW, unit)}
        ),
        "low_percent": lambda: (
            _("Time %(range)s (TBR)")
            % {"range": display.glucose_range(c.VERY_LOW_BELOW, c.LOW_BELOW - 1, unit)}
        ),
        "high_percent": lambda: (
            _("Time %(range)s (TAR)")
            % {"range": display.glucose_range(c.HIGH_ABOVE + 1, c.VERY_HIGH_ABOVE, unit)}
        ),
        "very_high_percent": lambda: above(c.VERY_HIGH_ABOVE),
        "tight_range_percent": lambda: tight_range_label(unit),
        "cv_percent": lambda: _("Coefficient of variation (CV)"),
    }
    return labels[key]() if key in labels else key


def tight_range_label(unit: str) -> str:
    return _("Time in tight range %(range)s") % {
        "range": display.glucose_range(c.LOW_BELOW, c.TIGHT_HIGH, unit)
    }


def goal_row(goal: dict, targets: dict | None, unit: str) -> dict:
    """One evaluated % goal as shown: ``label``, ``value_text``, ``goal_text`` and ``met``
    decided on the shown value (so "4.0 %, goal < 4 %" reads not met)."""
    return {
        **goal,
        "label": goal_label(goal["key"], targets, unit),
        "value_text": display.percent(goal.get("value")),
        "goal_text": display.goal_text(goal["comparison"], goal["target"]),
        "met": display.goal_met(goal.get("value"), goal["comparison"], goal["target"]),
    }


def goal_rows(goals: list[dict], targets: dict | None, unit: str) -> list[dict]:
    """The goals table of a page: every evaluated % goal through ``goal_row``."""
    return [goal_row(g, targets, unit) for g in goals if "comparison" in g]


def targets_label(targets: dict | None) -> str:
    """The plan's preset in the reader's language ('Pregnancy, type 1', 'Custom')."""
    from glycemia.targets import PRESETS

    targets = targets or {}
    preset = targets.get("preset") or next(
        (k for k, v in PRESETS.items() if v["label"] == targets.get("label")), None
    )
    return {
        "standard": _("Type 1 / type 2 diabetes"),
        "older_high_risk": _("Older / high-risk"),
        "pregnancy_t1": _("Pregnancy, type 1"),
    }.get(preset, _("Custom"))


def own_zone(user) -> str:
    """The viewer's own time zone: a patient's their record's; staff and clinicians their care
    center's; anyone else the server's (settings.TIME_ZONE)."""
    patient = getattr(user, "patient", None) if getattr(user, "is_patient", False) else None
    if patient is not None:
        return patient.timezone
    center = getattr(user, "care_center", None)
    return center.timezone if center is not None else settings.TIME_ZONE


def zone_for(user, patient, center=None) -> str:
    """The zone a time of ``patient`` (a visit at ``center``) is shown in to ``user``: the
    patient's own on their own pages, else the care center's."""
    if getattr(user, "is_authenticated", False) and patient.user_id == user.pk:
        return patient.timezone
    center = center or patient.care_center
    return center.timezone if center is not None else settings.TIME_ZONE


def when_text(instant: dt.datetime | None, zone: str, *, viewer_zone: str | None = None) -> str:
    """'6 Dec 2026 09:00' in ``zone`` (the language's one date format), with the zone named
    when it is not the viewer's own: '6 Dec 2026 09:00 (Europe/London)'."""
    if instant is None:
        return display.DASH
    text = date_format(instant.astimezone(zoneinfo.ZoneInfo(zone)), "SHORT_DATETIME_FORMAT")
    return text if viewer_zone in (None, zone) else f"{text} ({zone})"


def visit_when(instant: dt.datetime | None, *, user, patient, center=None) -> str:
    """A visit's time as ``user`` reads it (``zone_for``), the zone named if not theirs."""
    return when_text(instant, zone_for(user, patient, center), viewer_zone=own_zone(user))
