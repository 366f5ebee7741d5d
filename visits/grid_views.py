"""The time-grid schedule (issue #19 §4): a day with one column per clinician (or, with
``?by=room``, per room: a room's free time is the working hours held there, visits without a
room in a column of their own), or a week of one clinician; visits as blocks sized by
duration, free time shown, closed days and leave marked; staff move a visit by dragging it
(``static/js/grid.js`` posts to ``grid_move``) or, without a mouse, through the visit's
reschedule form. A printable day list per clinician.

Who: everyone but patients (as the calendar); visits of patients one may see. Times in the
center's zone. The arithmetic is pure (``visits.grid``).
"""

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.models import User
from visits import grid, scheduling, services
from visits.forms import parse_date, parse_id
from visits.models import AvailabilityException, ClosedDay, Room, Visit
from visits.views import _scheduler, center_for


def _minutes(instant: dt.datetime, day: dt.date, tz) -> int:
    """Minutes from ``day``'s local midnight to ``instant`` (real time)."""
    midnight = scheduling.to_instant(day, dt.time(0), tz)
    return int((instant - midnight).total_seconds() // 60)


def _column(*, title, clinician, day, tz, visits, windows, closed, leave, room=None):
    spans = grid.merge([(_minutes(w.start, day, tz), _minutes(w.end, day, tz)) for w in windows])
    items = [(v, _minutes(v.start_at, day, tz), _minutes(v.end_at, day, tz)) for v in visits]
    return {
        "title": title,
        "clinician": clinician,
        "room": room,
        "day": day,
        "windows": spans,
        "items": items,
        "free": grid.free_spans(spans, [(s, e) for _v, s, e in items]),
        "closed": closed,
        "leave": leave,
    }


def _layout(columns: list[dict]) -> tuple[int, int]:
    spans = [s for c in columns for s in c["windows"]]
    spans += [(s, e) for c in columns for _v, s, e in c["items"]]
    first, last = grid.bounds(spans)
    for c in columns:
        c["blocks"] = [
            {
                "visit": b.key,
                "top": grid.to_px(b.start, first),
                "height": max(grid.to_px(b.end, first) - grid.to_px(b.start, first), 20),
                "left": round(100 * b.lane / b.lanes, 2),
                "width": round(100 / b.lanes, 2),
            }
            for b in grid.place(c["items"])
        ]
        c["free_blocks"] = [
            {"top": grid.to_px(s, first), "height": grid.to_px(e, first) - grid.to_px(s, first)}
            for s, e in c["free"]
        ]
    return first, last


@login_required
@require_safe
def schedule(request):
    """``?view=day`` (default; one column per clinician, ``&by=room`` one per room) or
    ``?view=week&clinician=`` (one clinician's week); ``?date=``."""
    _scheduler(request.user)
    center = center_for(request)
    tz = services.center_zone(center)
    day = parse_date(request.GET.get("date"), timezone.localdate(timezone.now(), tz))
    clinicians = list(services.clinicians_for(center=center))
    chosen = next((c for c in clinicians if c.pk == parse_id(request.GET.get("clinician"))), None)
    week = request.GET.get("view") == "week" and chosen is not None
    days = [day - dt.timedelta(days=day.weekday()) + dt.timedelta(days=i) for i in range(7)]
    days = days if week else [day]
    shown = [chosen] if week else clinicians
    start = scheduling.to_instant(days[0], dt.time(0), tz)
    end = scheduling.to_instant(days[-1] + dt.timedelta(days=1), dt.time(0), tz)
    visits = (
        services.visits_visible_to(request.user)
        .filter(center=center, start_at__lt=end, end_at__gt=start)
        .exclude(status=Visit.Status.CANCELLED)
        .select_related("patient", "clinician", "visit_type", "room")
        .order_by("start_at")
    )
    by_key = defaultdict(list)
    for visit in visits:
        by_key[(visit.clinician_id, timezone.localdate(visit.start_at, tz))].append(visit)
    ids = [c.pk for c in shown]
    windows = services.windows_for(center=center, clinician_ids=ids, first=days[0], last=days[-1])
    closed = dict(
        ClosedDay.objects.filter(center=center, date__range=(days[0], days[-1])).values_list(
            "date", "reason"
        )
    )
    leave = defaultdict(list)
    for e in AvailabilityException.objects.filter(
        center=center, clinician_id__in=ids, date__range=(days[0], days[-1])
    ).exclude(kind=AvailabilityException.Kind.EXTRA):
        leave[(e.clinician_id, e.date)].append(e)
    by_room = request.GET.get("by") == "room" and not week
    if by_room:
        columns = _room_columns(
            center=center, day=day, tz=tz, visits=visits, windows=windows, closed=closed
        )
    else:
        columns = _clinician_columns(
            shown=shown,
            days=days,
            week=week,
            tz=tz,
            by_key=by_key,
            windows=windows,
            closed=closed,
            leave=leave,
        )
    first, last = _layout(columns)
    step = dt.timedelta(days=7 if week else 1)
    context = {
        "center": center,
        "tz": center.timezone,
        "day": day,
        "week": week,
        "by_room": by_room,
        "days": days,
        "clinicians": clinicians,
        "chosen": chosen,
        "columns": columns,
        "first": first,
        "height": grid.to_px(last, first),
        "labels": [
            {"top": grid.to_px(m, first), "text": f"{m // 60:02d}:{m % 60:02d}"}
            for m in grid.labels(first, last)
        ],
        "previous": day - step,
        "next": day + step,
        "scale": grid.PX_PER_MINUTE,
        "section": "grid",
    }
    return render(request, "visits/grid.html", context)


def _clinician_columns(*, shown, days, week, tz, by_key, windows, closed, leave) -> list[dict]:
    return [
        _column(
            title=(f"{d:%a} {d.day}" if week else str(c)),
            clinician=c,
            day=d,
            tz=tz,
            visits=by_key[(c.pk, d)],
            windows=windows.get((c.pk, d), ()),
            closed=closed.get(d) if d in closed else None,
            leave=leave.get((c.pk, d), []),
        )
        for c in shown
        for d in days
    ]


def _room_columns(*, center, day, tz, visits, windows, closed) -> list[dict]:
    """One column per room of the center, then one for visits without a room (remote, or a
    type that needs none). A room's working time is every clinician's hours held there
    (a window's tag is its room); a drop changes the time, the room follows the clinician's
    hours at that time."""
    rooms = list(Room.objects.filter(center=center).order_by("name", "pk"))
    held = defaultdict(list)
    for (_cid, d), day_windows in windows.items():
        if d == day:
            for w in day_windows:
                if w.tag is not None:
                    held[w.tag].append(w)
    in_room = defaultdict(list)
    for visit in visits:
        in_room[visit.room_id].append(visit)
    is_closed = closed.get(day) if day in closed else None
    columns = [
        _column(
            title=room.name,
            clinician=None,
            room=room,
            day=day,
            tz=tz,
            visits=in_room[room.pk],
            windows=held[room.pk],
            closed=is_closed,
            leave=[],
        )
        for room in rooms
    ]
    columns.append(
        _column(
            title=_("No room"),
            clinician=None,
            room=None,
            day=day,
            tz=tz,
            visits=in_room[None],
            windows=(),
            closed=is_closed,
            leave=[],
        )
    )
    return columns


def _answer(request, status: int, detail: str, back: str, **extra):
    """JSON for the drag script (it asks with ``Accept: application/json``); a page otherwise."""
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": detail, **extra}, status=status)
    (messages.success if status == 200 else messages.error)(request, detail)
    return redirect(back)


@login_required
@require_POST
def grid_move(request):
    """Move a visit to ``clinician`` at ``minute`` (since local midnight) of ``date``: the
    same rules as any move (a taken slot answers 409 with the reason; the block goes back)."""
    _scheduler(request.user)
    visit = get_object_or_404(
        services.visits_visible_to(request.user).select_related("center", "visit_type"),
        pk=parse_id(request.POST.get("visit")) or 0,
    )
    tz = services.center_zone(visit.center)
    day = parse_date(request.POST.get("date"), timezone.localdate(visit.start_at, tz))
    back = f"{reverse('visits:grid')}?date={day.isoformat()}"
    minute = parse_id(request.POST.get("minute"))
    clinician = (
        services.clinicians_for(center=visit.center)
        .filter(pk=parse_id(request.POST.get("clinician")) or 0)
        .first()
    )
    if minute is None or minute >= 24 * 60 or clinician is None:
        return _answer(request, 400, _("Choose one of the free times."), back)
    start = scheduling.to_instant(day, dt.time(minute // 60, minute % 60), tz)
    try:
        services.visit_reschedule(visit=visit, start=start, by=request.user, clinician=clinician)
    except services.VisitError as exc:
        return _answer(request, 400, str(exc), back)
    except services.SlotTaken as exc:
        return _answer(request, 409, exc.message, back)
    return _answer(request, 200, _("Visit moved."), back)


@login_required
@require_safe
def day_list(request):
    """A printable list of one day's visits, one section per clinician (``?clinician=``: one)."""
    _scheduler(request.user)
    center = center_for(request)
    tz = services.center_zone(center)
    day = parse_date(request.GET.get("date"), timezone.localdate(timezone.now(), tz))
    start = scheduling.to_instant(day, dt.time(0), tz)
    end = scheduling.to_instant(day + dt.timedelta(days=1), dt.time(0), tz)
    visits = (
        services.visits_visible_to(request.user)
        .filter(center=center, start_at__gte=start, start_at__lt=end)
        .exclude(status=Visit.Status.CANCELLED)
        .select_related("patient", "clinician", "visit_type", "room")
        .order_by("clinician_id", "start_at")
    )
    clinician_id = parse_id(request.GET.get("clinician"))
    if clinician_id is not None:
        visits = visits.filter(clinician_id=clinician_id)
    by_clinician: dict[User, list] = defaultdict(list)
    for visit in visits:
        by_clinician[visit.clinician].append(visit)
    context = {
        "center": center,
        "tz": center.timezone,
        "day": day,
        "lists": sorted(by_clinician.items(), key=lambda item: str(item[0])),
        "section": "grid",
    }
    return render(request, "visits/day_list.html", context)
