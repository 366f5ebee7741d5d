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
from glycemia import display
from monitoring import rules, services
from monitoring.models import MUTABLE_KINDS, Alert, AlertNotification, Mute
from monitoring.views import MUTE_HOURS
from patients.models import Consent, Patient
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
        "consent": Consent.newest_first(patient).filter(topic=services.CONSENT_TOPIC).first(),
        "may_enrol": may_edit_care_plan(user, patient),
        "enrol_fields": enrolment_fields(patient, enrolment, unit),
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
    watches (its opening hours, in the center's zone) and how the rota covers the time outside
    them in the coming week (``monitoring.routing.coverage``: always, sometimes, never)."""
    from monitoring import routing
    from monitoring.models import OnCallShift
    from visits.models import ClosedDay, OpeningHours

    now = now or timezone.now()
    enrolment = services.enrolment_of(patient)
    center = patient.care_center
    rows = list(OpeningHours.objects.filter(center=center)) if center else []
    week = now + dt.timedelta(days=7)
    on_call = "never"
    if center is not None:
        hours: dict[int, list] = {}
        for row in rows:
            hours.setdefault(row.weekday, []).append((row.opens, row.closes))
        closed = ClosedDay.objects.filter(
            center=center, date__gte=now.date() - dt.timedelta(days=1), date__lte=week.date()
        ).values_list("date", flat=True)
        rota = [
            (s.start, s.end, s.clinician_id)
            for s in OnCallShift.objects.filter(
                center=center, end__gt=now, start__lt=week, clinician__is_active=True
            )
        ]
        on_call = routing.coverage(
            now, week, hours, zoneinfo.ZoneInfo(center.timezone), list(closed), rota
        )
    return {
        "enrolled": bool(enrolment and enrolment.active),
        "hours": rows,
        "zone": center.timezone if center else None,
        "on_call": on_call,
    }


# --- the enrolment form on the Alerts tab ----------------------------------------------------
# Glucose thresholds are typed in the viewer's unit and go back through the display layer
# (``glycemia.display.glucose_entered``); durations are minutes and hours. A blank field, or
# the plan's own value, means "the plan's default" (no override stored).

GLUCOSE_FIELDS = {"urgent_low": "urgent_low_mg_dl", "high": "high_mg_dl"}
NUMBER_FIELDS = {"high_minutes": "high_minutes", "no_data_hours": "no_data_hours"}
ENROL_ACTIONS = ("enrol", "unenrol", "thresholds")


class EnrolmentInputError(ValueError):
    """Input the enrolment form cannot take; ``errors`` maps field -> message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def enrolment_fields(patient: Patient, enrolment, unit: str, typed=None, errors=None) -> list[dict]:
    """The four threshold fields as the form shows them: the value in force (the viewer's
    unit), the plan's default as a hint, the bounds, what was typed and its error."""
    from django.utils.translation import gettext as _

    current = services.thresholds_of(patient, enrolment)
    plan = services.thresholds_of(patient, None)
    overrides = dict(enrolment.thresholds) if enrolment is not None else {}
    labels = {
        "urgent_low": _("Urgent low below"),
        "high": _("High above"),
        "high_minutes": _("High for at least (minutes)"),
        "no_data_hours": _("No data for (hours)"),
    }
    rows = []
    for name, key in {**GLUCOSE_FIELDS, **NUMBER_FIELDS}.items():
        low, high = rules.THRESHOLD_BOUNDS[key]
        value, default = getattr(current, key), getattr(plan, key)
        if name in GLUCOSE_FIELDS:
            shown = display.glucose_field(value, unit)
            hint = display.glucose(default, unit)
            bounds = (display.glucose_field(low, unit), display.glucose_field(high, unit))
            step = "0.1" if unit == display.MMOL_L else "1"
        else:
            shown, hint = f"{value:g}", f"{default:g}"
            bounds, step = (f"{low:g}", f"{high:g}"), "1"
        rows.append(
            {
                "name": name,
                "label": labels[name],
                "unit": unit if name in GLUCOSE_FIELDS else "",
                "value": typed.get(name, "") if typed is not None else shown,
                "default": hint,
                "overridden": key in overrides,
                "min": bounds[0],
                "max": bounds[1],
                "step": step,
                "error": (errors or {}).get(name, ""),
            }
        )
    return rows


def _typed_number(raw: str):
    text = (raw or "").strip().replace(",", ".")
    if not text:
        return None
    if len(text) > 12:
        raise ValueError
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError
    return value


def enrolment_input(post, patient: Patient, enrolment, unit: str) -> tuple[str, dict]:
    """(action, thresholds in mg/dL, minutes and hours: None = the plan's default) from the
    form; ``EnrolmentInputError`` for anything out of bounds or not a number."""
    from django.utils.translation import gettext as _

    action = post.get("action", "")
    if action not in ENROL_ACTIONS:
        raise EnrolmentInputError({"action": _("Enrol, change the thresholds or end it.")})
    current = services.thresholds_of(patient, enrolment)
    plan = services.thresholds_of(patient, None)
    overrides = dict(enrolment.thresholds) if enrolment is not None else {}
    thresholds: dict = {}
    errors: dict[str, str] = {}
    for name, key in {**GLUCOSE_FIELDS, **NUMBER_FIELDS}.items():
        try:
            typed = _typed_number(post.get(name, ""))
        except ValueError:
            errors[name] = _("Type a number.")
            continue
        if typed is None:
            thresholds[key] = None
            continue
        if name in GLUCOSE_FIELDS:
            value = display.glucose_entered(typed, unit, getattr(current, key), getattr(plan, key))
        else:
            value = typed
        low, high = rules.THRESHOLD_BOUNDS[key]
        if not low <= value <= high:
            if name in GLUCOSE_FIELDS:
                span = display.glucose_range(low, high, unit)
            else:
                span = f"{low:g}–{high:g}"
            errors[name] = _("Must be from %(span)s.") % {"span": span}
            continue
        # The plan's own value, not changed, stays "the plan's" (it follows a plan change).
        same_as_plan = value == getattr(plan, key) and key not in overrides
        thresholds[key] = None if same_as_plan else value
    if errors:
        raise EnrolmentInputError(errors)
    return action, thresholds
