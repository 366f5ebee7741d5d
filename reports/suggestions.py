"""Plan suggestions on reports (issue #21 §2): computed from the pure rules
(``glycemia.suggestions``) when a report is made and stored with it (``suggestions_store``);
dismissed with a reason (``suggestion_dismiss``); accepted by the plan version that names
one (``suggestion_accept``, called from ``reports.signals`` when a version is saved).

The inputs of the rules are the report's own: its period and readings (the arrays the report
was computed from), the plan version in force (``report.care_plan_version_id``) and its
findings (``report.patterns``), plus the dates each drug's dose last changed (from the plan's
versions, so a fresh change settles before it is judged) and the recorded meal starts
(carbohydrate treatments). Patients never see suggestions
(``accounts.access.may_see_plan_suggestions``).
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from accounts.access import audit
from care_plans.models import CarePlanVersion
from common.compiled import CompiledRead
from glycemia.suggestions import evaluate_rules
from patients.models import Patient
from readings.models import Treatment
from reports.models import Report, Suggestion, SuggestionStateError

log = logging.getLogger(__name__)

DOSED_KINDS = ("insulin_basal", "insulin_bolus", "sulfonylurea")
MAX_REASON = 2000


# --- computing ----------------------------------------------------------------------------


# A plan's versions up to a number, oldest first: compiled once (``common.compiled``, #23).
_VERSIONS_UP_TO = CompiledRead(
    lambda plan_id, number: (
        CarePlanVersion.objects.filter(plan_id=plan_id, number__lte=number)
        .order_by("number")
        .only("content", "created_at", "number")
    ),
    kinds=(int, int),
)


def dose_changes(version: CarePlanVersion | None, tz: str) -> dict[str, str]:
    """{medication kind: local ISO date its doses last changed} over the plan's versions up
    to ``version`` (the one in force): a change settles before its effect is judged."""
    if version is None:
        return {}
    zone = zoneinfo.ZoneInfo(tz)
    changed: dict[str, str] = {}
    before: dict[str, list] = {}
    for v in _VERSIONS_UP_TO.all(version.plan_id, version.number):
        meds = (v.content or {}).get("medications") or []
        for kind in DOSED_KINDS:
            doses = sorted(
                (str(m.get("product", "")).lower(), str(m.get("dose")))
                for m in meds
                if isinstance(m, dict) and m.get("kind") == kind
            )
            if v.number > 1 and doses != before.get(kind, []):
                changed[kind] = v.created_at.astimezone(zone).date().isoformat()
            before[kind] = doses
    return changed


# Carbohydrate treatments' times in [lo, hi), compiled once (``common.compiled``; #23: a
# query's construction costs more Python than running it).
_CARB_TIMES = CompiledRead(
    lambda pk, lo, hi: Treatment.objects.filter(
        kind=Treatment.Kind.CARBS, patient_id=pk, timestamp__gte=lo, timestamp__lt=hi
    ).values_list("timestamp", flat=True),
    kinds=(int, dt.datetime, dt.datetime),
)


def _meal_starts(patient: Patient, start: dt.date, end: dt.date) -> np.ndarray | None:
    """Recorded meal starts (carbohydrate treatments) from the day before the window to its
    end, as UTC epoch ns; None when there are none (the plan's meal times are used)."""
    zone = zoneinfo.ZoneInfo(patient.timezone)
    lo = dt.datetime.combine(start - dt.timedelta(days=1), dt.time(), zone)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
    stamps = _CARB_TIMES.all(patient.pk, lo, hi)
    ns = [int(s.timestamp() * 1e6) * 1000 for s in stamps]
    return np.array(sorted(ns), dtype="int64") if ns else None


def suggestions_compute(
    *,
    patient: Patient,
    version: CarePlanVersion | None,
    kind: str,
    start: dt.date,
    end: dt.date,
    t,
    v,
    tags=None,
    patterns=(),
    window_metrics: dict | None = None,
) -> list[dict]:
    """The rules' suggestions for one report period (the pure package's shape).
    ``window_metrics``: the period's exact ``cgm_metrics`` of ``t``, ``v`` when the caller
    has them (``reports.services.cgm_content``), so the rules need not compute them again."""
    content = version.content if version is not None else {}
    readings = (
        {"times": t, "values": v}
        if kind == Report.Kind.CGM
        else {"meter_times": t, "meter_values": v, "meter_tags": list(tags or [])}
    )
    result = evaluate_rules(
        content,
        tz=patient.timezone,
        start=start.isoformat(),
        end=end.isoformat(),
        meal_times=_meal_starts(patient, start, end),
        patterns=patterns,
        diabetes_type=patient.diabetes_type,
        changed_on=dose_changes(version, patient.timezone),
        cgm_window_metrics=window_metrics if kind == Report.Kind.CGM else None,
        **readings,
    )
    return result["suggestions"]


def suggestions_store(*, report: Report, suggestions: list[dict]) -> list[Suggestion]:
    """Store the report's suggestions (in the report's transaction)."""
    return Suggestion.objects.bulk_create(
        [
            Suggestion(
                report=report,
                patient_id=report.patient_id,
                position=i,
                rule=s["rule"],
                kind=s["kind"],
                source=s["source"],
                evidence=s["evidence"],
                proposed_change=s.get("proposed_change"),
                blocked_by=list(s.get("blocked_by") or []),
            )
            for i, s in enumerate(suggestions)
        ]
    )


def report_suggestions(
    *, patient: Patient, version, kind, start, end, t, v, tags, patterns, window_metrics=None
):
    """``suggestions_compute`` for report generation: a fault in the rules is logged and the
    report is still made (a report is worth more than its suggestions)."""
    try:
        return suggestions_compute(
            patient=patient,
            version=version,
            kind=kind,
            start=start,
            end=end,
            t=t,
            v=v,
            tags=tags,
            patterns=patterns,
            window_metrics=window_metrics,
        )
    except Exception:
        log.exception("plan suggestions failed for patient %s, %s–%s", patient.pk, start, end)
        return []


# --- deciding -----------------------------------------------------------------------------


def suggestion_dismiss(*, suggestion: Suggestion, by, reason: str) -> Suggestion:
    """Dismiss an open suggestion with the clinician's reason; audited. Raises
    ``ValueError`` for an empty reason and ``SuggestionStateError`` when it was decided
    already (the conditional update makes two clinicians' clicks one decision)."""
    # A form may carry NUL or a lone surrogate (no text column stores them): dropped/replaced.
    reason = (reason or "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise ValueError("A reason is required.")
    now = timezone.now()
    with transaction.atomic():
        done = Suggestion.objects.filter(pk=suggestion.pk, state=Suggestion.State.OPEN).update(
            state=Suggestion.State.DISMISSED, decided_by=by, decided_at=now, dismiss_reason=reason
        )
        if not done:
            raise SuggestionStateError("This suggestion was already decided.")
        audit(by, suggestion.report.patient, "change", f"suggestion {suggestion.pk} dismissed")
    suggestion.refresh_from_db()
    return suggestion


def suggestion_accept(*, version: CarePlanVersion) -> Suggestion | None:
    """Mark the suggestion that prompted ``version`` accepted (by the version's author, at
    its time); audited. A version prompted by anything else, or by a suggestion decided
    already, changes nothing."""
    if version.prompted_by_type_id != ContentType.objects.get_for_model(Suggestion).pk:
        return None
    done = Suggestion.objects.filter(
        pk=version.prompted_by_id, patient_id=version.plan.patient_id, state="open"
    ).update(
        state=Suggestion.State.ACCEPTED,
        decided_by=version.created_by,
        decided_at=version.created_at,
    )
    suggestion = Suggestion.objects.filter(pk=version.prompted_by_id).first()
    if done and suggestion is not None:
        audit(
            version.created_by,
            version.plan.patient,
            "change",
            f"suggestion {suggestion.pk} accepted: care plan v{version.number}",
        )
    return suggestion


# The report page's reads of a report's plan suggestions and of the plan versions around
# them, compiled once (``common.compiled``; building them was ~1 ms of the page, #23).
_SUGGESTIONS_OF = CompiledRead(
    lambda report_id: Suggestion.objects.filter(report_id=report_id).order_by("position", "pk")
)
# The report's own suggestions by a subquery (one shape for any number of them); the
# content types' ids are values of the call (they are rows of each database).
_PROMPTED_BY = CompiledRead(
    lambda report_type, report_id, suggestion_type, suggestions_report_id: (
        CarePlanVersion.objects.filter(
            Q(prompted_by_type_id=report_type, prompted_by_id=report_id)
            | Q(
                prompted_by_type_id=suggestion_type,
                prompted_by_id__in=Suggestion.objects.filter(
                    report_id=suggestions_report_id
                ).values("pk"),
            )
        ).order_by("number")
    ),
    kinds=(int, int, int, int),
)


def suggestions_of(report: Report) -> list[Suggestion]:
    """The report's plan suggestions in its order (position, pk), each knowing its report."""
    found = _SUGGESTIONS_OF.all(report.pk)
    for suggestion in found:
        suggestion.report = report
    return found


def versions_prompted_by_report(report: Report) -> list[CarePlanVersion]:
    """Plan versions prompted by the report itself or by one of its suggestions, oldest
    first."""
    types = ContentType.objects.get_for_models(Report, Suggestion)
    versions = _PROMPTED_BY.all(types[Report].pk, report.pk, types[Suggestion].pk, report.pk)
    # Most reports prompted none: their authors are asked for only when there are some,
    # rather than a join to the user table on every report page, and the prefetch is set up
    # only then too (an empty prefetch still costs its setup on every page; #23).
    if versions:
        prefetch_related_objects(versions, "created_by")
    return versions


__all__ = [
    "SuggestionStateError",
    "report_suggestions",
    "suggestion_accept",
    "suggestion_dismiss",
    "suggestions_compute",
    "suggestions_of",
    "suggestions_store",
    "versions_prompted_by_report",
]
