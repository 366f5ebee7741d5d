"""The workspace's Alerts tab (issue #20 §3): the patient's enrolment and thresholds, the
episodes of the last weeks over the glucose trace of the last two days, who was told, who
acknowledged and what was done, and the mutes in force. Composes ``monitoring`` (the
workspace sits above it; monitoring never imports the workspace)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db.models import Prefetch
from django.utils import timezone

from accounts.access import may_edit_care_plan
from care_plans.services import targets_for
from monitoring import services
from monitoring.models import MUTABLE_KINDS, Alert, AlertNotification, Mute
from monitoring.views import MUTE_HOURS
from patients.models import Patient
from workspace.tabs import day_figure, local_today

TIMELINE_DAYS = 60
TRACE_DAYS = 2
EPISODE_COLOURS = {
    "urgent_low": "#c92a2a",
    "predicted_low": "#f08c00",
    "high": "#e8590c",
    "no_data": "#868e96",
}


def alerts_tab(patient: Patient, *, user, unit: str, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    enrolment = services.enrolment_of(patient)
    thresholds = services.thresholds_of(patient, enrolment)
    notifications = AlertNotification.objects.select_related("recipient").order_by("created_at")
    episodes = list(
        Alert.objects.filter(patient=patient, opened_at__gte=now - dt.timedelta(days=TIMELINE_DAYS))
        .select_related("acknowledged_by")
        .prefetch_related(Prefetch("notifications", queryset=notifications))
        .order_by("-opened_at", "-pk")
    )
    figure = day_figure(
        patient, local_today(patient, now), TRACE_DAYS, unit=unit, targets=targets_for(patient)
    )
    zone = zoneinfo.ZoneInfo(patient.timezone)

    def local(moment: dt.datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    for episode in episodes:
        start = episode.since or episode.opened_at
        end = episode.ended_at or episode.closed_at or episode.last_at or now
        if end < now - dt.timedelta(days=TRACE_DAYS):
            continue
        figure["layout"].setdefault("shapes", []).append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": local(start),
                "x1": local(max(end, start + dt.timedelta(minutes=5))),
                "y0": 0,
                "y1": 1,
                "fillcolor": EPISODE_COLOURS[episode.kind],
                "opacity": 0.18,
                "line": {"width": 0},
            }
        )
    return {
        "enrolment": enrolment,
        "consented": services.has_consented(patient),
        "thresholds": thresholds,
        "episodes": episodes,
        "alert_figure": figure,
        "mutes": list(Mute.objects.filter(patient=patient, until__gt=now).select_related("by")),
        "may_mute": may_edit_care_plan(user, patient),
        "mutable_kinds": [(k, Alert.Kind(k).label) for k in MUTABLE_KINDS],
        "mute_hours": MUTE_HOURS,
    }


def watch_summary(patient: Patient, *, now: dt.datetime | None = None) -> dict:
    """What the patient's page says about remote monitoring: enrolled or not, when the clinic
    watches (its opening hours, in the center's zone) and whether anyone is on call outside
    them in the coming week."""
    from monitoring.models import OnCallShift
    from visits.models import OpeningHours

    now = now or timezone.now()
    enrolment = services.enrolment_of(patient)
    center = patient.care_center
    hours = list(OpeningHours.objects.filter(center=center)) if center else []
    on_call = bool(
        center
        and OnCallShift.objects.filter(
            center=center, end__gt=now, start__lt=now + dt.timedelta(days=7)
        ).exists()
    )
    return {
        "enrolled": bool(enrolment and enrolment.active),
        "hours": hours,
        "zone": center.timezone if center else None,
        "on_call": on_call,
    }
