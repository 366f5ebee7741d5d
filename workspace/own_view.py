"""The patient's own view, "My glucose": their glucose for a lay reader.

The clinician's workspace (``workspace/tabs.py``) shows flags, GRI, CV and the triage
review; a patient is never sent there (``workspace.views`` redirects them here). This page says
the same data in the patient's words and unit, through the display layer:

- their goals in words, lows first (``reports.wording.lay_goal_rows``) over the last 14 full
  local days — the days the AGP beside them draws, so the page agrees with itself (the home
  page's summary is the latest report's, dated there);
- the AGP of those days and one day's (or week's) trace, in the reader's unit with the plan's
  range shaded (``reports.figures.agp``, ``workspace.tabs.day_figure``);
- their latest uploads, reports and current plan, with links to read each in full.

Every read is bounded: 14 days of CGM, one day or week of readings, a few uploads and reports.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from care_plans.services import care_plan_current
from glycemia.agp import agp
from patients.models import Patient
from readings.models import Reading
from reports import figures, wording
from reports.services import patient_progress, readings_arrays, reports_for
from workspace import tabs as workspace

LATEST_UPLOADS = 5
LATEST_REPORTS = 6
FIRST_DAY = dt.date(1970, 1, 1)  # DESIGN §3: nothing before 1970 is a reading


def day_in_range(patient: Patient, day: dt.date) -> bool:
    """A day the page can show: from 1970 to the patient's today (later days hold nothing,
    and a day near the end of the calendar would overflow the week around it)."""
    return FIRST_DAY <= day <= workspace.local_today(patient)


def latest_day(patient: Patient) -> dt.date:
    """The local day of the patient's latest reading (their today if none): someone who sends
    a file now and then opens the page on their data, not on an empty today. Two indexed
    look-ups (``reading_unique_instant`` is patient, kind, timestamp)."""
    today = workspace.local_today(patient)
    latest = [
        Reading.objects.filter(patient=patient, kind=kind)
        .order_by("-timestamp")
        .values_list("timestamp", flat=True)
        .first()
        for kind in (Reading.Kind.CGM, Reading.Kind.SMBG)
    ]
    latest = [t for t in latest if t is not None]
    if not latest:
        return today
    return min(timezone.localdate(max(latest), patient.tzinfo), today)


def own_view(patient: Patient, *, unit: str, day: dt.date, span: int) -> dict:
    """Everything "My glucose" shows for ``day`` (and the ``span - 1`` days before it)."""
    progress = patient_progress(patient=patient, latest_report=False)
    targets = progress["targets"]
    low, high = targets.get("range_low", 70), targets.get("range_high", 180)
    agp_figure = None
    if progress["kind"] == "cgm":
        start, end = progress["start"], progress["end"]
        times, values = readings_arrays(patient, Reading.Kind.CGM, start, end)
        curves = agp(times.astype("datetime64[ns]"), values, tz=patient.timezone)
        agp_figure = figures.agp({"agp": curves}, unit=unit, range_low=low, range_high=high)
    today = workspace.local_today(patient)
    return {
        "patient": patient,
        "progress": progress,
        "goals": wording.lay_goal_rows(progress["goals"], targets, unit),
        "meter_goals": wording.meter_rows(progress["goals"], unit),
        "meter_per_day": (progress["meter"] or {}).get("readings_per_day"),
        "target_range": wording.display.glucose_range(low, high, unit),
        "agp_figure": agp_figure,
        "day": day,
        "span": span,
        "first_day": day - dt.timedelta(days=span - 1),
        "previous": day - dt.timedelta(days=span),
        "next": day + dt.timedelta(days=span),
        "is_today": day >= today,
        "day_figure": workspace.day_figure(patient, day, span, unit=unit, targets=targets),
        "uploads": list(patient.uploads.order_by("-created_at", "-pk")[:LATEST_UPLOADS]),
        "reports": list(
            reports_for(patient).only("pk", "period_start", "period_end", "kind")[:LATEST_REPORTS]
        ),
        "plan": care_plan_current(patient=patient),
    }
