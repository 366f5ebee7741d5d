"""What happened after a suggestion was accepted (issue #21 §3): the metric its rule aimed
at, in the report the suggestion came from (before) and in the first report whose period
starts on or after the day of the accepting plan version (after), against the rule's
target; and, for the population view, per rule how often it was proposed, accepted and
dismissed and the median change of its metric afterwards.

Metrics per rule (read from the stored reports, so the figures are the ones those reports
showed): lows first and over-basalisation aim at time below range (< 70 mg/dL, goal < 4 %,
Battelino 2019); basal titration at the fasting glucose (the median of the report's daily
profile in the hour before the wake time of the plan in force for that report, 07:00 by
default; goal at most the fasting goal's
upper limit, ADA 2024 §6: 130 mg/dL); a rise after a meal at time in range (goal > 70 %).
"""

from __future__ import annotations

import datetime as dt
import statistics
import zoneinfo

from common.compiled import CompiledRead
from glycemia.suggestions import RULE_HYPO, RULE_MEAL, RULE_OVERBASAL, RULE_TITRATION
from reports.models import Report, Suggestion

FASTING_GOAL_HIGH_MG_DL = 130.0  # ADA 2024 §6: fasting 80-130 mg/dL (the plan's own if set)
BELOW_RANGE_GOAL = 4.0  # Battelino 2019: time < 70 mg/dL under 4 %
TIR_GOAL = 70.0  # Battelino 2019: time in range over 70 %

# rule -> (metric key, comparison the target asks, target); "fasting_mg_dl" is computed.
RULE_METRICS = {
    RULE_HYPO: ("below_range_percent", "<", BELOW_RANGE_GOAL),
    RULE_OVERBASAL: ("below_range_percent", "<", BELOW_RANGE_GOAL),
    RULE_TITRATION: ("fasting_mg_dl", "<=", FASTING_GOAL_HIGH_MG_DL),
    RULE_MEAL: ("in_range_percent", ">", TIR_GOAL),
}


def _fasting(report: Report, wake_minute: int = 7 * 60) -> float | None:
    """Mean of the days' medians of the report's stored profile in the hour before waking."""
    profile = (report.metrics or {}).get("profile") or {}
    step = profile.get("step_minutes") or 15
    slots = range((wake_minute - 60) // step, wake_minute // step)
    medians = []
    for row in (profile.get("days") or {}).values():
        values = [row[i] for i in slots if i < len(row) and row[i] is not None]
        if values:
            medians.append(statistics.median(values))
    return statistics.fmean(medians) if medians else None


def _wake_minute(report: Report) -> int:
    """Minutes after midnight of the wake time in the plan the report was made under."""
    from care_plans.services import care_plan_version

    version = care_plan_version(report.care_plan_version_id)
    wake = str(((version.content if version else None) or {}).get("wake_time") or "07:00")
    try:
        hours, minutes = (int(part) for part in wake.split(":", 1))
    except ValueError:
        return 7 * 60
    return hours * 60 + minutes if 1 <= hours <= 23 and 0 <= minutes <= 59 else 7 * 60


def metric_value(report: Report, key: str) -> float | None:
    m = report.metrics or {}
    if key == "below_range_percent":
        low, very_low = m.get("low_percent"), m.get("very_low_percent")
        return None if low is None or very_low is None else low + very_low
    if key == "fasting_mg_dl":
        return _fasting(report, _wake_minute(report))
    value = m.get(key)
    return float(value) if isinstance(value, int | float) else None


def after_report(suggestion: Suggestion) -> Report | None:
    """The first report of the same kind whose period starts on or after the (patient's
    local) day the suggestion was accepted."""
    if suggestion.state != Suggestion.State.ACCEPTED or suggestion.decided_at is None:
        return None
    before = suggestion.report
    zone = zoneinfo.ZoneInfo(before.patient.timezone)
    accepted_on = suggestion.decided_at.astimezone(zone).date()
    return (
        Report.objects.filter(
            patient_id=suggestion.patient_id, kind=before.kind, period_start__gte=accepted_on
        )
        .order_by("period_start", "pk")
        .first()
    )


def outcome(suggestion: Suggestion, after: Report | None = None) -> dict | None:
    """``{"suggestion", "key", "comparison", "target", "before", "after", "change",
    "after_report"}`` for an accepted suggestion whose rule aims at a metric and that has an
    after report."""
    aim = RULE_METRICS.get(suggestion.rule)
    if aim is None:
        return None
    after = after or after_report(suggestion)
    if after is None:
        return None
    key, comparison, target = aim
    before_value = metric_value(suggestion.report, key)
    after_value = metric_value(after, key)
    change = None if before_value is None or after_value is None else after_value - before_value
    return {
        "suggestion": suggestion,
        "key": key,
        "comparison": comparison,
        "target": target,
        "before": before_value,
        "after": after_value,
        "change": change,
        "after_report": after,
    }


def _accepted(patient_id: int, kind: str, before: dt.datetime):
    """The patient's suggestions accepted before ``before`` on reports of ``kind``."""
    return Suggestion.objects.filter(
        patient_id=patient_id,
        state=Suggestion.State.ACCEPTED,
        report__kind=kind,
        decided_at__lt=before,
    )


# The ids of the 20 latest of them (``common.compiled``: built once, #23).
_LATEST_ACCEPTED = CompiledRead(
    lambda patient_id, kind, before: (
        _accepted(patient_id, kind, before)
        .order_by("-decided_at")
        .values_list("pk", flat=True)[:20]
    ),
    kinds=(int, str, dt.datetime),
)


def outcomes_shown_on(report: Report) -> list[dict]:
    """Outcomes of the patient's accepted suggestions whose after report is ``report``."""
    before = dt.datetime.combine(report.period_start, dt.time(), dt.UTC) + dt.timedelta(days=1)
    # Most reports have none: ask for the ids first (a light query, compiled once), and for
    # the suggestions with their reports (a heavy one to build) only when there are some.
    latest = _LATEST_ACCEPTED.all(report.patient_id, str(report.kind), before)
    if not latest:
        return []
    accepted = _accepted(report.patient_id, report.kind, before)
    out = []
    for suggestion in (
        accepted.filter(pk__in=latest).select_related("report__patient").order_by("-decided_at")
    ):
        if after_report(suggestion) == report:
            result = outcome(suggestion, after=report)
            if result is not None:
                out.append(result)
    return out


def rule_summary(patient_ids) -> list[dict]:
    """Per rule, over the given patients (ids, or a ``values("pk")`` query): proposed
    (stored suggestions that proposed a change or a review), accepted, dismissed, and the
    median change of the rule's metric from before to after, over accepted ones with an
    after report."""
    rows = []
    suggestions = Suggestion.objects.filter(patient_id__in=patient_ids).select_related(
        "report__patient"
    )
    by_rule: dict[str, list[Suggestion]] = {}
    for s in suggestions.exclude(kind__in=["no_change", "not_for_pregnancy"]):
        by_rule.setdefault(s.rule, []).append(s)
    for rule, items in sorted(by_rule.items()):
        changes = []
        for s in items:
            if s.state == Suggestion.State.ACCEPTED:
                result = outcome(s)
                if result and result["change"] is not None:
                    changes.append(result["change"])
        aim = RULE_METRICS.get(rule)
        rows.append(
            {
                "rule": rule,
                "proposed": len(items),
                "accepted": sum(s.state == "accepted" for s in items),
                "dismissed": sum(s.state == "dismissed" for s in items),
                "key": aim[0] if aim else None,
                "median_change": statistics.median(changes) if changes else None,
                "with_outcome": len(changes),
            }
        )
    return rows
