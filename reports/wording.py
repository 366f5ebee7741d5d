"""Words and figures of a report in the reader's language, unit and the patient's local time.

The report page, its PDF and exports take every shown number from here, and here every number
goes through ``glycemia.display`` (one rounding rule) and every verdict through the rules of
``glycemia.targets`` / ``glycemia.compare``. Reports store findings as
``{"code", "params", "text"}``; ``text`` is English for the API and the words here re-say them
with gettext so the page and the PDF follow the reader's language.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts import display as display_layer
from glycemia import display
from glycemia.compare import GLUCOSE_KEYS, compare_periods, period_verdict
from glycemia.targets import sufficiency


def glucose_text(mg_dl: float, unit: str) -> str:
    return display.glucose(mg_dl, unit)


def pattern_text(finding: dict, unit: str = "mg/dL") -> str:
    p = finding.get("params", {})
    code = finding.get("code")
    if code == "nocturnal_lows":
        return _(
            "Lows below %(threshold)s on %(n)s of %(nights)s nights, mostly %(from)s–%(to)s."
        ) % {
            "threshold": glucose_text(p["threshold_mg_dl"], unit),
            "n": p["nights_with_lows"],
            "nights": p["nights"],
            "from": p["from"],
            "to": p["to"],
        }
    if code == "breakfast_rise":
        return _(
            "Rise after breakfast on most days (%(n)s of %(days)s): median rise %(rise)s "
            "between 06:00 and 10:00."
        ) % {
            "n": p["days_with_rise"],
            "days": p["days"],
            "rise": glucose_text(p["median_rise_mg_dl"], unit),
        }
    if code == "high_variability":
        return _("High glucose variability: CV %(cv)s %% (goal ≤ 36 %%).") % {
            "cv": display.percent(p["cv_percent"], sign=False)
        }
    if code == "insufficient_data":
        return _("Insufficient data: %(active)s %% active over %(days)s days.") % {
            "active": display.percent(p["active_percent"], sign=False),
            "days": p["days"],
        }
    if code == "hypo_cluster":
        return _("Hypoglycaemia clustered at %(from)s–%(to)s: %(n)s of %(events)s events.") % {
            "from": p["from"],
            "to": p["to"],
            "n": p["events_in_block"],
            "events": p["events"],
        }
    if code == "few_meter_readings":
        return _("Few finger-stick readings: %(n)s a day.") % {"n": p["readings_per_day"]}
    if code == "meter_lows":
        return _("%(n)s finger-stick readings below %(threshold)s.") % {
            "n": p["below_70"],
            "threshold": glucose_text(70, unit),
        }
    return finding.get("text", "")


def goal_rows(report, unit: str) -> list[dict]:
    """The goals table: label, value and goal as shown, and met / not met decided on the shown
    value (``display.goal_met``), so "4.0 %, goal < 4 %" reads "not met"."""
    return display_layer.goal_rows(report.goals, report.targets or {}, unit)


def _goal_values(report) -> dict:
    return {g["key"]: g["value"] for g in report.goals if g.get("value") is not None}


def band_legend(report, unit: str) -> list[dict]:
    """The time-in-ranges bar's legend in the plan's own range and goals, top band first:
    ``{"band", "label", "range", "percent", "goal"}`` (goal text or "")."""
    from reports.figures import COLOURS, band_labels, report_bands

    labels = band_labels()
    rows = report_bands(report)
    out = []
    for row in rows:
        low, high = row["low"], row["high"]
        if low is None:
            limits = f"< {display.glucose(high, unit)}"
        elif high is None:
            limits = f"> {display.glucose(low, unit)}"
        elif row["band"] == "in_range":
            limits = display.glucose_range(low, high, unit)
        elif row["band"] == "low":
            limits = f"{display.glucose(low, unit, with_unit=False)}–<{display.glucose(high, unit)}"
        else:
            limits = f">{display.glucose(low, unit, with_unit=False)}–{display.glucose(high, unit)}"
        goal = row["goal"]
        goal_text = ""
        if goal:
            goal_text = display.goal_text(goal["comparison"], goal["target"])
            if goal["cumulative"]:
                goal_text += " " + (_("below range") if row["band"] == "low" else _("above range"))
        out.append(
            {
                "band": row["band"],
                "colour": COLOURS[row["band"]],
                "label": labels[row["band"]],
                "range": limits,
                "percent": row["percent"],
                "percent_text": display.percent(row["percent"]),
                "goal": goal_text,
            }
        )
    return out


def meter_goal_rows(report, unit: str) -> list[dict]:
    """Fasting / before-meal / after-meal averages against the plan's targets, as shown."""
    return meter_rows(report.goals, unit)


def meter_rows(goals: list[dict], unit: str) -> list[dict]:
    from reports.figures import meal_tag_label

    rows = []
    for goal in goals:
        if "tag" not in goal:
            continue
        low, high = goal["low"], goal["high"]
        if low is None:
            target = f"< {display.glucose(high, unit)}" if high is not None else ""
        elif high is None:
            target = f"> {display.glucose(low, unit)}"
        else:
            target = display.glucose_range(low, high, unit)
        rows.append(
            {
                **goal,
                "label": meal_tag_label(goal["tag"]),
                "value_text": display.glucose(goal["value"], unit),
                "target_text": target,
            }
        )
    return rows


def meter_summary(report, unit: str) -> dict:
    m, targets = report.metrics, report.targets or {}
    per_day = m.get("readings_per_day")
    return {
        "per_day": display.per_day(per_day),
        "schedule": m.get("schedule_per_day"),
        "adherence": (
            None if m.get("adherence_percent") is None else display.percent(m["adherence_percent"])
        ),
        "below_label": _("Readings below %(v)s") % {"v": display.glucose(70, unit)},
        "range": display.glucose_range(
            targets.get("range_low", 70), targets.get("range_high", 180), unit
        ),
        "goals": meter_goal_rows(report, unit),
    }


def sufficiency_of(report) -> dict:
    """Data sufficiency judged against the report's own period, with the words that say so."""
    m = report.metrics
    verdict = sufficiency(
        days=m.get("days") or 0, period_days=report.days, active_percent=m.get("active_percent")
    )
    verdict["text"] = _(
        "Judged against this report's %(days)s-day period: %(required)s days with at least "
        "%(active)s %% CGM active (the consensus asks for 14 days)."
    ) % {
        "days": report.days,
        "required": verdict["required_days"],
        "active": f"{verdict['required_active_percent']:g}",
    }
    verdict["active_text"] = display.percent(m.get("active_percent"))
    return verdict


def event_rows(report) -> list[dict]:
    """Hypo/hyperglycaemia events, lows first, each with its start in the patient's local
    time (``display.local_time``; the page names the zone with ``display.zone_label``)."""
    tz = report.patient.timezone
    rows = []
    for e in report.metrics.get("hypo_events") or []:
        name = _("Level 2 hypoglycaemia") if e.get("level") == 2 else _("Level 1 hypoglycaemia")
        rows.append({**e, "name": name, "extreme_mg_dl": e.get("nadir_mg_dl")})
    for e in report.metrics.get("hyper_events") or []:
        rows.append(
            {**e, "name": _("Extended hyperglycaemia"), "extreme_mg_dl": e.get("peak_mg_dl")}
        )
    for row in rows:
        row["local_start"] = display.local_time(row["start"], tz)
        row["local_end"] = display.local_time(row["end"], tz) if row.get("end") else ""
        row["minutes"] = f"{display.rounded(row.get('duration_minutes') or 0, 0):.0f}"
    return rows


def zone_text(report) -> str:
    return display.zone_label(report.patient.timezone)


def metric_label(key: str, unit: str = "mg/dL") -> str:
    return {
        "in_range_percent": _("Time in range (TIR)"),
        "tight_range_percent": display_layer.tight_range_label(unit),
        "very_low_percent": _("Very low"),
        "low_percent": _("Low"),
        "high_percent": _("High"),
        "very_high_percent": _("Very high"),
        "mean_mg_dl": _("Mean glucose"),
        "gmi_percent": _("Glucose management indicator (GMI)"),
        "sd_mg_dl": _("Standard deviation"),
        "cv_percent": _("Coefficient of variation (CV)"),
        "gri": _("Glycemia risk index (GRI)"),
        "lbgi": _("Low blood glucose index (LBGI)"),
        "hbgi": _("High blood glucose index (HBGI)"),
        "mage": _("Mean amplitude of glycemic excursions (MAGE)"),
        "active_percent": _("CGM wear (time active)"),
    }.get(key, key)


def metric_text(key: str, value, unit: str) -> str:
    """One metric as shown anywhere (page, PDF, comparison, CSV)."""
    if value is None:
        return display.DASH
    if key in GLUCOSE_KEYS:
        return display.glucose(value, unit)
    if key in ("lbgi", "hbgi"):
        return display.index(value)
    if key == "gri":
        return display.gri(value)
    if key == "gmi_percent":
        return display.gmi(value)
    return display.percent(value)


def metric_texts(report, unit: str) -> dict[str, str]:
    """Every scalar metric of the report as shown, by key (templates cannot call functions)."""
    return {
        key: metric_text(key, value, unit)
        for key, value in report.metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def report_warnings(report, unit: str) -> list[str]:
    """Safety warnings about the care plan in force: an up-titration rule while time below
    range is above goal (``care_plans.services.titration_warnings``)."""
    if report.care_plan_version_id is None or not report.is_cgm:
        return []
    from care_plans.services import care_plan_version, titration_warnings

    version = care_plan_version(report.care_plan_version_id)
    if version is None:
        return []
    metrics = {**report.metrics, **_goal_values(report)}
    return titration_warnings(version.content, metrics)


DIRECTION_WORDS = {
    "better": lambda: _("better"),
    "worse": lambda: _("worse"),
    "same": lambda: _("same"),
    "small": lambda: _("little change"),
    "not_judged": lambda: _("not judged: time below range rose or is above goal"),
}
OWN_RANGE_KEYS = ("in_target_percent", "below_target_percent", "above_target_percent")


def _compared_values(report) -> tuple[dict, dict]:
    current = {row["key"]: row["current"] for row in report.comparison}
    previous = {row["key"]: row["previous"] for row in report.comparison}
    current.update(_goal_values(report))
    return current, previous


def comparison_verdict(report, unit: str) -> str:
    """The sentence that comes before the comparison table when time below range (or below
    54) rose and is over its goal (``glycemia.compare.period_verdict``): the period is worse,
    whatever else improved. "" otherwise."""
    if not report.comparison:
        return ""
    current, previous = _compared_values(report)
    targets = report.targets or {}
    verdict = period_verdict(current, previous, targets=targets)
    if verdict is None:
        return ""
    limits = {
        "below_70_percent": 70,
        "below_target_percent": targets.get("range_low", 70),
        "very_low_percent": 54,
    }
    reasons = [
        _("time below %(limit)s rose from %(before)s to %(now)s, above its goal (%(goal)s)")
        % {
            "limit": display.glucose(limits[r["key"]], unit),
            "before": display.percent(r["previous"]),
            "now": display.percent(r["current"]),
            "goal": display.goal_text(r["comparison"], r["target"]),
        }
        for r in verdict["reasons"]
    ]
    return _("Worse overall: %(reasons)s, whatever else improved.") % {
        "reasons": _("; ").join(reasons)
    }


def comparison_rows(report, unit: str) -> list[dict]:
    """The comparison table: label, values as shown, arrow and better/worse, with the rules of
    ``glycemia.compare`` applied in the reader's unit against the plan's goals (a plan with
    its own range compares its own bands). ``comparison_verdict`` comes before it."""
    current, previous = _compared_values(report)
    targets = report.targets or {}
    rows = []
    for row in compare_periods(current, previous, targets=targets, unit=unit):
        key = row["key"]
        if key not in {r["key"] for r in report.comparison}:
            continue
        direction = row["direction"]
        delta = row["delta"]
        arrow = ""
        if delta is not None and direction not in ("same", None):
            arrow = "↑" if delta > 0 else "↓"
        rows.append(
            {
                "key": key,
                "label": (
                    display_layer.goal_label(key, targets, unit)
                    if key in OWN_RANGE_KEYS
                    else metric_label(key, unit)
                ),
                "current": metric_text(key, row["current"], unit),
                "previous": metric_text(key, row["previous"], unit),
                "arrow": arrow,
                "direction": direction or "",
                "word": DIRECTION_WORDS[direction]() if direction else "",
            }
        )
    return rows


def version_label(number: int) -> str:
    """'Care plan version 3' / '个性化管理方案 第3版': the same words on the page and the PDF."""
    return pgettext("care plan", "version %(number)s") % {"number": number}


# --- the patient's own words (home page) -------------------------------------------------

LOW_KEYS = ("very_low_percent", "below_70_percent", "below_target_percent", "low_percent")
HIGH_KEYS = ("very_high_percent", "above_180_percent", "above_target_percent", "high_percent")


def _lay_name(key: str, targets: dict, unit: str) -> tuple[str, str]:
    """(what it is, a one-line explanation) in plain words."""
    # The plan's range is the range of its range goals (accounts.display.goal_label).
    low, high = display_layer.plan_range(targets)
    if key in ("in_range_percent", "in_target_percent"):
        return (
            _("Time in your target range"),
            _("The share of the day your glucose was between %(range)s.")
            % {"range": display.glucose_range(low, high, unit)},
        )
    if key in ("very_low_percent",):
        return (
            _("Time very low"),
            _("Below %(v)s: a low that needs treatment straight away.")
            % {"v": display.glucose(54, unit)},
        )
    if key in LOW_KEYS:
        return (
            _("Time low"),
            _("Below %(v)s: too low; eat or drink fast sugar.") % {"v": display.glucose(low, unit)},
        )
    if key == "very_high_percent":
        return (
            _("Time very high"),
            _("Above %(v)s.") % {"v": display.glucose(250, unit)},
        )
    if key in HIGH_KEYS:
        return (_("Time high"), _("Above %(v)s.") % {"v": display.glucose(high, unit)})
    if key == "cv_percent":
        return (
            _("How much your glucose swings (CV)"),
            _("Lower is steadier; steadier glucose means fewer lows."),
        )
    return key, ""


def lay_goal_rows(goals: list[dict], targets: dict, unit: str) -> list[dict]:
    """The patient's goals in plain words, lows first: what, how much, the goal, and a
    verdict a lay reader gets from words as well as colour."""

    def order(goal):
        key = goal["key"]
        return (
            0 if key in LOW_KEYS else 1 if key in ("in_range_percent", "in_target_percent") else 2
        )

    rows = []
    for goal in sorted((g for g in goals if "comparison" in g), key=order):
        name, why = _lay_name(goal["key"], targets, unit)
        met = display.goal_met(goal.get("value"), goal["comparison"], goal["target"])
        low_goal = goal["key"] in LOW_KEYS
        if met is None:
            verdict, tone = _("No data yet"), "none"
        elif met:
            verdict, tone = _("On target"), "good"
        elif low_goal:
            verdict, tone = _("Too many lows: talk to your care team"), "bad"
        else:
            verdict, tone = _("Not yet on target"), "warn"
        rows.append(
            {
                "key": goal["key"],
                "name": name,
                "why": why,
                "value": display.percent(goal.get("value")),
                "goal": _("Your goal: %(goal)s")
                % {"goal": display.goal_text(goal["comparison"], goal["target"])},
                "verdict": verdict,
                "tone": tone,
                "low": low_goal,
            }
        )
    return rows


def meal_words(key: str) -> str:
    """'fasting_mean_mg_dl' -> 'Fasting' (a finger-stick goal's name)."""
    from reports.figures import meal_tag_label

    return meal_tag_label(key.removesuffix("_mean_mg_dl"))
