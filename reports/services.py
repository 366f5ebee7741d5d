"""Generating health reports: period, data, glycemia, targets, comparison, patterns, snapshot.

``report_generate`` is the one process; the Celery task, the management command, the
"Generate now" button and the demo seeder all call it. It is safe to run twice or in two
workers at once: the (patient, period, kind) unique constraint absorbs the second insert, and
notifications are created in the same transaction as the report they announce.

Care plans: the report cadence, the plan version in force and its targets come from
``care_plans.services`` (``report_cadence_days``, ``care_plan_current``,
``targets_of_version``). Until that module provides them, the consensus "standard" preset and
14 days are used.

Cost (``bench/reports.py``, PostgreSQL): about 10 queries for a new report — patient, the
care plan version (read once for the cadence and the targets: ``care_plan_reads_shared``),
the patient's newest report (whether this period's report exists, and usually the previous
report too), readings, the insert, the triage entry (read and update) and the notifications
in one transaction, plus up to three for the plan suggestions (the plan's versions for dose
changes when there is a plan, meal treatments, their insert). Keep it that way: each extra
query is ~1 ms of a report, most of it Django building the SQL. The fixed-shape reads are
compiled once (``common.compiled.CompiledRead``): 3.5 of a report's 11 ms of Python were
their building and compiling (#23).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import zoneinfo
from typing import NamedTuple

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import patient_visible, patient_visible_by_shape, visibility_shape
from common.compiled import CompiledRead
from common.replicas import on_replica
from glycemia.compare import compare_periods
from glycemia.daily import daily_stats, day_night_split, hourly_stats
from glycemia.meter import meter_metrics
from glycemia.metrics import cgm_metrics
from glycemia.series import NS_PER_DAY, NS_PER_MINUTE, clean_series, local_ns
from glycemia.targets import (
    PRESETS,
    evaluate_meter,
    evaluate_metrics,
    range_percents,
    sufficiency,
)
from patients.models import Patient
from readings.models import DailyRollup, Reading
from readings.windows import readings_arrays
from reports import patterns as found
from reports.models import ALGORITHM_VERSION, Report, ReportNotification
from reports.suggestions import report_suggestions, suggestions_store

log = logging.getLogger(__name__)

DEFAULT_CADENCE_DAYS = 14
MIN_READINGS = 1  # a period with no readings of either kind makes no report


# --- care plan bridge -------------------------------------------------------------------


def _care_plan_function(name: str):
    """``care_plans.services.<name>`` if that module provides it, else None."""
    try:
        from care_plans import services
    except ImportError:
        return None
    return getattr(services, name, None)


def plan_cadence_days(patient: Patient) -> int:
    cadence = _care_plan_function("report_cadence_days")
    days = cadence(patient) if cadence else None
    return int(days or DEFAULT_CADENCE_DAYS)


def plan_in_force(patient: Patient) -> tuple:
    """(care plan version in force or None, its targets) from one query: the targets stored on
    a report are always those of the version it names."""
    current = _care_plan_function("care_plan_current")
    targets_of_version = _care_plan_function("targets_of_version")
    version = current(patient=patient) if current else None
    targets = targets_of_version(version, patient=patient) if targets_of_version else None
    return version, dict(targets or PRESETS["standard"])


# --- period and data ----------------------------------------------------------------------


def last_full_local_day(patient: Patient, now: dt.datetime | None = None) -> dt.date:
    now = now or timezone.now()
    return now.astimezone(zoneinfo.ZoneInfo(patient.timezone)).date() - dt.timedelta(days=1)


def report_period(patient: Patient, *, period_end: dt.date | None = None, cadence: int):
    """(start, end) local dates, inclusive: `cadence` days ending at `period_end`."""
    end = period_end or last_full_local_day(patient)
    return end - dt.timedelta(days=cadence - 1), end


# --- content ------------------------------------------------------------------------------


def _local_parts(t: np.ndarray, tz: str) -> tuple[np.ndarray, np.ndarray]:
    local = local_ns(t, tz)
    return (local % NS_PER_DAY) // NS_PER_MINUTE, local // NS_PER_DAY


PROFILE_STEP_MINUTES = 15  # daily-profile charts: one stored reading per 15 minutes


def profile_samples(t, v, *, tz: str, start: dt.date, end: dt.date, parts=None) -> dict:
    """The daily-profile trace kept in the report (readings can change; the report must not):
    per local date, the first reading of each 15-minute slot (None where there is none).
    A sample of the stored readings, no arithmetic on the values. ``parts``: the readings'
    ``_local_parts`` when the caller has them.
    """
    minute, day = parts if parts is not None else _local_parts(t, tz)
    first_day = (start - dt.date(1970, 1, 1)).days
    ndays, nslots = (end - start).days + 1, 1440 // PROFILE_STEP_MINUTES
    grid = np.full(ndays * nslots, np.nan)
    cell = (day - first_day) * nslots + minute // PROFILE_STEP_MINUTES
    ok = (cell >= 0) & (cell < grid.size)
    cell, values = cell[ok][::-1], v[ok][::-1]  # reversed: the first reading wins below
    grid[cell] = values
    rows = grid.reshape(ndays, nslots).tolist()  # Python floats; `x != x` is NaN
    return {
        "step_minutes": PROFILE_STEP_MINUTES,
        "days": {
            (start + dt.timedelta(days=i)).isoformat(): [None if x != x else x for x in row]
            for i, row in enumerate(rows)
        },
    }


def _utc_ns(stamps: list[str]) -> np.ndarray:
    """UTC ISO instants as int64 epoch ns. The events' own form (``glycemia.series.iso_utc``,
    '2024-01-01T08:05:00Z') is read by numpy directly, a tenth of pandas' parser's time."""
    if all(s.endswith("Z") for s in stamps):
        seconds = np.array([s[:-1] for s in stamps], dtype="datetime64[s]")
        return seconds.astype("datetime64[ns]").view("int64")
    return pd.to_datetime(stamps, utc=True).as_unit("ns").asi8


def cgm_content(t, v, *, tz: str, start: dt.date, end: dt.date, targets: dict) -> dict:
    """metrics (§5 + daily, hourly, day/night), goals and patterns of a CGM period, and
    ``window_metrics``: the window's ``cgm_metrics`` as computed, before the report's
    additions below (the plan suggestions' rules take them rather than computing them again:
    ``glycemia.suggestions.evaluate_rules``' ``cgm_window_metrics``)."""
    t, v = clean_series(t, v)
    window = {"start": start.isoformat(), "end": end.isoformat()}
    # exact: stored unrounded, so every page rounds once (glycemia.display) — a stored 0.35
    # (from 0.347) would show as "0.4 %" where the readings say 0.3 %.
    metrics = cgm_metrics(t, v, tz=tz, exact=True, **window)
    window_metrics = dict(metrics)  # a copy: "sufficient" and the range percents change below
    minute, day = parts = _local_parts(t, tz)  # once for the profile and the patterns
    metrics["daily"] = daily_stats(t, v, tz=tz)
    metrics["hourly"] = hourly_stats(t, v, tz=tz)
    metrics["day_night"] = day_night_split(
        t, v, tz=tz, interval_minutes=metrics["interval_minutes"], **window
    )
    metrics["profile"] = profile_samples(t, v, tz=tz, start=start, end=end, parts=parts)
    # Judged against the report's own period (a weekly report cannot span 14 days).
    verdict = sufficiency(
        days=metrics["days"],
        period_days=(end - start).days + 1,
        active_percent=metrics["active_percent"],
    )
    metrics["sufficient"] = verdict["sufficient"]
    metrics["sufficient_days_required"] = verdict["required_days"]
    # The plan's own range (pregnancy 63-140, a clinician's 70-141): the time-in-ranges bar
    # and the goals read the same numbers (glycemia.targets.band_rows).
    metrics.update(range_percents(v, targets.get("range_low", 70), targets.get("range_high", 180)))
    goals = evaluate_metrics(metrics, targets, values=v)
    hypo_minutes = _local_parts(_utc_ns([e["start"] for e in metrics["hypo_events"]]), tz)[0]
    patterns = found.find_patterns(
        minute, day, v, metrics, nights=(end - start).days + 1, hypo_starts=hypo_minutes
    )
    return {
        "metrics": metrics,
        "goals": goals,
        "patterns": patterns,
        "window_metrics": window_metrics,
    }


# The plan's finger-stick times (care_plans.services.SMBG_TAGS) in the meter's tag words.
PLAN_TO_METER_TAG = {"fasting": "fasting", "pre_meal": "before_meal", "post_meal": "after_meal"}


def meter_schedule(monitoring: dict | None) -> int | None:
    """Finger-sticks a day the plan asks for (None when it sets none)."""
    per_day = (monitoring or {}).get("smbg_readings_per_day")
    return int(per_day) if per_day else None


def meter_content(
    t,
    v,
    tags,
    *,
    tz: str,
    start: dt.date,
    end: dt.date,
    targets: dict,
    monitoring: dict | None = None,
) -> dict:
    """Finger-stick summary: meter metrics against the plan's schedule, readings by hour of
    day, averages by meal tag against the plan's fasting / before- / after-meal targets."""
    schedule = meter_schedule(monitoring)
    metrics = meter_metrics(
        t,
        v,
        tags,
        tz=tz,
        start=start.isoformat(),
        end=end.isoformat(),
        target_low=targets.get("range_low", 70),
        target_high=targets.get("range_high", 180),
        schedule=schedule,
    )
    metrics["schedule_per_day"] = schedule
    metrics["below_70_percent"] = (
        round(100.0 * metrics["below_70"] / metrics["readings"], 2) if metrics["readings"] else None
    )
    metrics["hourly"] = hourly_stats(t, v, tz=tz)
    metrics["daily"] = daily_stats(t, v, tz=tz)
    minute, _ = _local_parts(t, tz)
    metrics["points"] = [  # each finger-stick: local minute of day, mg/dL, meal tag
        [int(m), float(x), tag or ""] for m, x, tag in zip(minute, v, tags, strict=True)
    ]
    patterns = []
    insufficient = metrics["readings_per_day"] is None or metrics["readings_per_day"] < 1
    if insufficient:
        per_day = metrics["readings_per_day"] or 0
        patterns.append(
            {
                "code": "few_meter_readings",
                "severity": "warning",
                "params": {"readings_per_day": per_day},
                "text": f"Few finger-stick readings: {per_day} a day.",
            }
        )
    if metrics["below_70"]:
        patterns.append(
            {
                "code": "meter_lows",
                "severity": "warning",
                "params": {"below_70": metrics["below_70"], "below_54": metrics["below_54"]},
                "text": f"{metrics['below_70']} finger-stick readings below 70 mg/dL.",
            }
        )
    return {"metrics": metrics, "goals": evaluate_meter(metrics, targets), "patterns": patterns}


def _test_delay() -> None:
    """Test-only: REPORTS_TEST_DELAY_SECONDS makes generation slow so a broker test can kill
    the worker in the middle of a report (tests/reports/test_broker.py). Unset in production."""
    import os

    seconds = float(os.environ.get("REPORTS_TEST_DELAY_SECONDS") or 0)
    if seconds > 0:
        time.sleep(seconds)


# --- the process --------------------------------------------------------------------------


class _Draft(NamedTuple):
    patient: Patient
    start: dt.date
    end: dt.date
    cadence: int
    kind: str
    content: dict
    targets: dict
    comparison: list
    previous: Report | None
    version: object
    suggestions: list


def _report_draft(*, patient_id: int, period_end: dt.date | None, only_if_due: bool):
    """Everything ``report_generate`` reads and computes before it writes: None (nothing to
    report), the period's existing report, or the new report's parts. Reads only: the cadence
    and the version in force come from one read of the care plan
    (``care_plans.services.care_plan_reads_shared``)."""
    shared = _care_plan_function("care_plan_reads_shared")
    with shared() if shared else contextlib.nullcontext():
        return _report_draft_reads(
            patient_id=patient_id, period_end=period_end, only_if_due=only_if_due
        )


# The draft's fixed-shape reads, compiled once (``common.compiled``: building and compiling
# them was about 0.2 and 0.3 ms of each report's Python, #23).
_PATIENT = CompiledRead(lambda pk: Patient.objects.filter(pk=pk))
_NEWEST_REPORT = CompiledRead(
    lambda pk: Report.objects.filter(patient_id=pk).order_by("-period_end", "-pk")[:1]
)


def _report_draft_reads(*, patient_id: int, period_end: dt.date | None, only_if_due: bool):
    patient = _PATIENT.first(patient_id)
    if patient is None:
        raise Patient.DoesNotExist("Patient matching query does not exist.")
    cadence = plan_cadence_days(patient)
    start, end = report_period(patient, period_end=period_end, cadence=cadence)
    # The patient's newest report answers three questions in one query: is a report due
    # (only_if_due), does this period's report exist (none can when the newest ends before
    # `end`), and, usually, which report is the previous one (``_previous_report``).
    latest = _NEWEST_REPORT.first(patient_id)
    if only_if_due and latest and latest.period_end + dt.timedelta(latest.cadence_days) > end:
        return None
    if latest is not None and latest.period_end >= end:
        if (latest.period_start, latest.period_end) == (start, end):
            report = latest  # the newest of the period's reports, as the query below finds
        else:
            existing = Report.objects.filter(
                patient_id=patient_id, period_start=start, period_end=end
            )
            report = existing.first()
        if report is not None:
            report.was_created = False
            return report
    version, targets = plan_in_force(patient)
    t, v = readings_arrays(patient, Reading.Kind.CGM, start, end)
    tags = None
    if v.size >= MIN_READINGS:
        kind = Report.Kind.CGM
        content = cgm_content(t, v, tz=patient.timezone, start=start, end=end, targets=targets)
    else:
        t, v, tags = readings_arrays(patient, Reading.Kind.SMBG, start, end, tags=True)
        if v.size < MIN_READINGS:
            return None
        kind = Report.Kind.SMBG
        content = meter_content(
            t,
            v,
            tags,
            tz=patient.timezone,
            start=start,
            end=end,
            targets=targets,
            monitoring=(version.content.get("monitoring") if version else None),
        )
    previous = _previous_report(patient_id, kind=kind, start=start, end=end, latest=latest)
    comparison = (
        compare_periods(
            comparison_values(content["metrics"], content["goals"]),
            comparison_values(previous.metrics, previous.goals),
            targets=targets,
        )
        if previous
        else []
    )
    suggestions = report_suggestions(
        patient=patient,
        version=version,
        kind=kind,
        start=start,
        end=end,
        t=t,
        v=v,
        tags=tags,
        patterns=content["patterns"],
        window_metrics=content.get("window_metrics"),
    )
    return _Draft(
        patient, start, end, cadence, kind, content, targets, comparison, previous, version,
        suggestions,
    )  # fmt: skip


def report_generate(
    *,
    patient_id: int,
    period_end: dt.date | None = None,
    only_if_due: bool = False,
    notify: bool = True,
) -> Report | None:
    """The patient's report for the cadence period ending at `period_end` (default: the last
    full local day), created once; None when there is no data (or, with `only_if_due`, when
    the last report's period plus its cadence has not ended yet).

    The returned report has ``was_created`` (True only for the call that inserted it).

    Its reads (readings, plan, earlier reports) run on a read replica when there is one
    (``common.replicas``) that has replayed everything the primary held when generation
    began — so a report queued by an import sees that import — else on the primary; the
    report is written to the primary.

    >>> report_generate(patient_id=7).period_end  # doctest: +SKIP
    datetime.date(2026, 5, 13)
    """
    draft = on_replica(
        _report_draft,
        patient_id=patient_id,
        period_end=period_end,
        only_if_due=only_if_due,
        barrier=True,
    )
    if draft is None or isinstance(draft, Report):
        return draft
    _test_delay()
    key = {"period_start": draft.start, "period_end": draft.end, "kind": draft.kind}
    try:
        # No get_or_create: the existence check above already ran, so insert straight away
        # (saves a SELECT and a savepoint) and let the unique constraint catch a concurrent
        # worker that inserted the same period in between.
        with transaction.atomic():
            report = Report.objects.create(
                **key,
                patient=draft.patient,  # cached on the instance: report_notify needs no query
                cadence_days=draft.cadence,
                metrics=draft.content["metrics"],
                goals=draft.content["goals"],
                targets=draft.targets,
                comparison=draft.comparison,
                patterns=draft.content["patterns"],
                previous=draft.previous,
                care_plan_version_id=getattr(draft.version, "pk", None),
                care_plan_version_number=getattr(draft.version, "number", None),
                algorithm_version=ALGORITHM_VERSION,
            )
            suggestions_store(report=report, suggestions=draft.suggestions)
            if notify:
                report_notify(report=report)
    except IntegrityError:
        try:
            report = Report.objects.get(patient_id=patient_id, **key)
        except Report.DoesNotExist:
            pass
        else:
            report.was_created = False
            return report
        raise  # not the unique constraint: a real error
    report.was_created = True
    return report


def comparison_values(metrics: dict, goals: list[dict]) -> dict:
    """A period's metrics plus its goals' values: the plan's own-range percents (pregnancy
    63-140: in/below/above target) live in the goals, and a comparison needs them."""
    values = {g["key"]: g["value"] for g in goals or [] if g.get("value") is not None}
    return {**metrics, **values}


def _previous_report(
    patient_id: int, *, kind: str, start: dt.date, end: dt.date, latest: Report | None
) -> Report | None:
    """The patient's newest `kind` report that ended before `end` and started before `start`.

    ``latest`` is the patient's newest report of all (None: they have none). It is that
    report whenever it qualifies — it is first in the same order — which saves the query.
    """
    if latest is None:
        return None
    if latest.kind == kind and latest.period_end < end and latest.period_start < start:
        return latest
    return (
        Report.objects.filter(patient_id=patient_id, kind=kind, period_end__lt=end)
        .exclude(period_start__gte=start)
        .order_by("-period_end", "-pk")
        .first()
    )


# (user id, e-mail) of the patient's active endocrinologists: their ids and addresses are
# all ``report_notify`` needs (no user objects to build). Compiled once (#23).
_ACTIVE_ENDOCRINOLOGISTS = CompiledRead(
    lambda pk: Patient.endocrinologists.through.objects.filter(
        user__is_active=True, patient_id=pk
    ).values_list("user_id", "user__email")
)


def report_notify(*, report: Report) -> None:
    """Unread-list entries for the patient's endocrinologists, in the report's transaction,
    and an e-mail to those with an address once it commits. The e-mail carries no clinical
    data, only a link (health data does not travel by e-mail)."""
    clinicians = _ACTIVE_ENDOCRINOLOGISTS.all(report.patient_id)
    ReportNotification.objects.bulk_create(
        [ReportNotification(report=report, user_id=pk) for pk, _email in clinicians],
        ignore_conflicts=True,
    )
    recipients = [email for _pk, email in clinicians if email]
    if recipients:
        report_id = report.pk
        transaction.on_commit(lambda: _send_report_email(report_id, recipients))


def _send_report_email(report_id: int, recipients: list[str]) -> None:
    url = getattr(settings, "SITE_URL", "").rstrip("/") + reverse(
        "reports-detail", args=[report_id]
    )
    try:
        send_mail(
            _("New health report"),
            _("A new health report is ready for one of your patients: %(url)s") % {"url": url},
            None,
            recipients,
        )
    except Exception:  # a mail server outage must not undo or retry a stored report
        log.exception("could not e-mail report %s", report_id)


def reports_due(*, today: dt.date | None = None) -> list[int]:
    """Patients whose last report's period_end + cadence ≤ today, or who have data in the last
    cadence but no report yet. One query for any number of patients.

    `today` is a UTC date; the task passes `only_if_due=True`, so a patient whose local day
    has not yet ended gets the report on a later hourly run. The cadence used is the one stored
    on the last report (a changed care-plan cadence takes effect from the next report).
    """
    today = today or timezone.now().date()
    latest = Report.objects.filter(patient_id=OuterRef("pk")).order_by("-period_end", "-pk")
    recent = DailyRollup.objects.filter(
        patient_id=OuterRef("pk"), date__gte=today - dt.timedelta(days=DEFAULT_CADENCE_DAYS)
    )
    rows = (
        Patient.objects.order_by()
        .annotate(
            last_end=Subquery(latest.values("period_end")[:1]),
            cadence=Subquery(latest.values("cadence_days")[:1]),
            has_data=Exists(recent),
        )
        .filter(has_data=True)
        .values_list("pk", "last_end", "cadence")
    )
    return [
        pk
        for pk, last_end, cadence in rows
        if last_end is None or last_end + dt.timedelta(days=cadence) <= today
    ]


def reports_for(patient: Patient):
    return Report.objects.filter(patient=patient).order_by("-period_end", "-pk")


def notifications_unread(user):
    """The user's unread report notifications, for patients they may still see: a clinician
    taken off a care team keeps old notification rows, which must not show the patient.
    (``patient_visible``: a clinician's care team is asked per notification, not through a
    subquery of all their patients.)"""
    return (
        _unread_of(patient_visible(user, "report__patient_id"), user.pk)
        .select_related("report__patient")
        .order_by("-created_at")
    )


def _unread_of(visible, user_id: int):
    """Unread notifications of the user ``user_id`` on the patients ``visible`` holds."""
    return ReportNotification.objects.filter(visible, user_id=user_id, read_at__isnull=True)


def _unread_counts(visible, user_id: int, report_id: int):
    """One row (none when nothing is unread): (unread notifications, those of the report),
    counted in the one group of the user's rows."""
    return (
        _unread_of(visible, user_id)
        .order_by()
        .values("user_id")
        .annotate(total=Count("pk"), this=Count("pk", filter=Q(report_id=report_id)))
        .values_list("total", "this")
    )


# For an endocrinologist (``visibility_shape`` "team": the same query with their id), compiled
# once (``common.compiled``; building the count was ~1 ms of each report page, #23).
_UNREAD_COUNTS_TEAM = CompiledRead(
    lambda team_user_id, user_id, report_id: _unread_counts(
        patient_visible_by_shape("team", team_user_id, "report__patient_id"), user_id, report_id
    ),
    kinds=(int, int, int),
)


def unread_counts(user, report_id: int) -> tuple[int, int]:
    """(How many reports are on the user's unread list, 1 if report ``report_id`` is one of
    them else 0): ``notifications_unread(user)`` counted, in one query."""
    if visibility_shape(user) == "team":
        rows = _UNREAD_COUNTS_TEAM.all(user.pk, user.pk, report_id)
    else:
        rows = list(_unread_counts(patient_visible(user, "report__patient_id"), user.pk, report_id))
    return tuple(rows[0]) if rows else (0, 0)


def report_risk(report: Report) -> dict:
    """How urgent an unread report is: time below range first (lows harm first), then time
    below 54, then goals not met. ``{"below", "very_low", "missed": [goal keys], "key"}``;
    sort by ``key`` (descending risk)."""
    from glycemia import display
    from glycemia.compare import below_range_percent

    m = report.metrics or {}
    goal_values = {g["key"]: g.get("value") for g in report.goals if "comparison" in g}
    below = below_range_percent({**m, **goal_values})
    if below is None:
        below = m.get("below_70_percent")  # finger-stick reports
    very_low = m.get("very_low_percent")
    missed = [
        g["key"]
        for g in report.goals
        if (
            "comparison" in g
            and display.goal_met(g.get("value"), g["comparison"], g["target"]) is False
        )
        or ("tag" in g and g.get("met") is False)
    ]
    key = (
        display.percent_value(below) or 0.0,
        display.percent_value(very_low) or 0.0,
        len(missed),
    )
    return {"below": below, "very_low": very_low, "missed": missed, "key": key}


def notifications_by_risk(user, *, limit: int = 200) -> list:
    """The unread list, riskiest report first (``report_risk``), newest first among equals."""
    notes = list(notifications_unread(user)[:limit])
    for note in notes:
        note.risk = report_risk(note.report)
    return sorted(notes, key=lambda n: n.risk["key"], reverse=True)


def notifications_mark_read(*, report: Report, user) -> None:
    ReportNotification.objects.filter(report=report, user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def patient_progress(*, patient: Patient, latest_report: bool = True) -> dict:
    """What the patient's home page says about their glucose: their latest report's goals
    (the numbers the care team reviewed) or, before any report (or with
    ``latest_report=False``, as "My glucose" asks), the last 14 full local days against their
    own targets (``care_plans.services.effective_targets``).

    ``{"report": Report|None, "goals": [...], "targets": {...}, "kind": "cgm"|"smbg"|None,
    "start", "end", "meter": metrics|None}``.
    """
    from care_plans.services import effective_targets

    report = reports_for(patient).first() if latest_report else None
    if report is not None:
        return {
            "report": report,
            "goals": report.goals,
            "targets": report.targets or {},
            "kind": report.kind,
            "start": report.period_start,
            "end": report.period_end,
            "meter": None if report.is_cgm else report.metrics,
        }
    targets = effective_targets(patient)
    end = last_full_local_day(patient)
    start = end - dt.timedelta(days=DEFAULT_CADENCE_DAYS - 1)
    t, v = readings_arrays(patient, Reading.Kind.CGM, start, end)
    if v.size:
        metrics = cgm_metrics(
            t,
            v,
            tz=patient.timezone,
            start=start.isoformat(),
            end=end.isoformat(),
            exact=True,
            full=False,
        )
        goals = evaluate_metrics(metrics, targets, values=clean_series(t, v)[1])
        return {
            "report": None,
            "goals": goals,
            "targets": targets,
            "kind": "cgm",
            "start": start,
            "end": end,
            "meter": None,
        }
    t, v, tags = readings_arrays(patient, Reading.Kind.SMBG, start, end, tags=True)
    if v.size:
        content = meter_content(
            t, v, tags, tz=patient.timezone, start=start, end=end, targets=targets
        )
        return {
            "report": None,
            "goals": content["goals"],
            "targets": targets,
            "kind": "smbg",
            "start": start,
            "end": end,
            "meter": content["metrics"],
        }
    return {
        "report": None,
        "goals": [],
        "targets": targets,
        "kind": None,
        "start": start,
        "end": end,
        "meter": None,
    }
