"""Visit pages: calendars, the worklist, booking, a visit's actions, calendar feeds.

Each view: decorator → permission-checked lookup (``get_patient_for`` / ``visits_visible_to``)
→ form → service → page (or the htmx fragment). Times show in the center's zone; on the
patient's own pages in the patient's zone.
"""

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access import audit, get_patient_for, may_record_visit_results, may_see_clinical
from accounts.models import CareCenter, User
from visits import ics, scheduling, services
from visits.forms import CancelForm, CompleteForm, RescheduleRequestForm, parse_date, parse_id
from visits.models import CalendarFeed, ClosedDay, Room, Visit, VisitType
from visits.models_frontdesk import WaitlistEntry
from visits.services import selfbook

SLOT_DAYS = 7
SLOTS_SHOWN = 60


def _scheduler(user: User) -> None:
    if user.is_patient:
        raise PermissionDenied


def center_for(request, *, strict: bool = False) -> CareCenter:
    """The care center a page works on: staff their own; admins ``?center=`` or the first.

    The calendar and worklist (``strict=False``) give an admin who belongs to a center that
    one and fall back to the first center for an unknown ``center``; setup
    (``strict=True``, ``setup_views``) always reads an admin's ``?center=`` and answers 404
    for an unknown one. Nobody else has a center here: 404.
    """
    user = request.user
    if user.care_center_id and not (strict and user.is_admin_role):
        return user.care_center
    if user.is_admin_role:
        raw = request.GET.get("center")
        center = None if raw is None else CareCenter.objects.filter(pk=parse_id(raw) or 0).first()
        if center is None and not (strict and raw is not None):
            center = CareCenter.objects.order_by("name").first()
        if center:
            return center
        raise Http404("No such care center." if strict else "No care center.")
    raise Http404("No care center.")


@login_required
@require_safe
def calendar(request):
    """Day or week calendar of a center, optionally of one clinician or one room."""
    _scheduler(request.user)
    center = center_for(request)
    tz = services.center_zone(center)
    view = "week" if request.GET.get("view") == "week" else "day"
    day = parse_date(request.GET.get("date"), timezone.localdate(timezone.now(), tz))
    first = day - dt.timedelta(days=day.weekday()) if view == "week" else day
    days = [first + dt.timedelta(days=i) for i in range(7 if view == "week" else 1)]
    start = scheduling.to_instant(days[0], dt.time(0), tz)
    end = scheduling.to_instant(days[-1] + dt.timedelta(days=1), dt.time(0), tz)
    visits = (
        services.visits_visible_to(request.user)
        .filter(center=center, start_at__gte=start, start_at__lt=end)
        .exclude(status=Visit.Status.CANCELLED)
        .select_related("patient", "clinician", "visit_type", "room")
        .order_by("start_at", "clinician_id")
    )
    clinicians = services.clinicians_for(center=center)
    rooms = Room.objects.filter(center=center)
    clinician_id = request.GET.get("clinician") or ""
    room_id = request.GET.get("room") or ""
    if parse_id(clinician_id) is not None:
        visits = visits.filter(clinician_id=parse_id(clinician_id))
    if parse_id(room_id) is not None:
        visits = visits.filter(room_id=parse_id(room_id))
    by_day = defaultdict(list)
    for visit in visits:
        by_day[timezone.localdate(visit.start_at, tz)].append(visit)
    step = dt.timedelta(days=7 if view == "week" else 1)
    context = {
        "center": center,
        "tz": center.timezone,
        "view": view,
        "day": day,
        "days": [(d, by_day[d]) for d in days],
        "previous": day - step,
        "next": day + step,
        "clinicians": clinicians,
        "rooms": rooms,
        "clinician_id": clinician_id,
        "room_id": room_id,
        "requests": services.visits_visible_to(request.user)
        .filter(reschedule_requested=True, status=Visit.Status.BOOKED)
        .select_related("patient", "clinician", "visit_type"),
        "worklist_count": len(services.worklist(user=request.user)),
    }
    template = "visits/_calendar.html" if request.htmx else "visits/calendar.html"
    return render(request, template, context)


def _slot_context(request, *, patient, visit_type, clinician, first, ignore_visit=None):
    center = patient.care_center
    slots = services.visit_slots(
        visit_type=visit_type,
        center=center,
        first=first,
        days=SLOT_DAYS,
        clinician=clinician,
        patient=patient,
        ignore_visit=ignore_visit,
        limit=SLOTS_SHOWN,
    )
    names = {c.pk: str(c) for c in services.clinicians_for(center=center)}
    by_day = defaultdict(list)
    tz = services.center_zone(center)
    for slot in slots:
        by_day[timezone.localdate(slot.start, tz)].append((slot, names.get(slot.clinician_id)))
    return {"slot_days": sorted(by_day.items()), "tz": center.timezone, "first": first}


def _booking_inputs(request, data):
    patient = get_patient_for(request.user, data.get("patient"), clinical=False)
    if patient.care_center is None:
        raise Http404("The patient has no care center.")
    types = VisitType.objects.filter(active=True)
    visit_type = types.filter(pk=parse_id(data.get("visit_type"))).first()
    if visit_type is None:  # opened without a type: the one the worklist suggests
        visit_type = services.suggested_visit_type_for(user=request.user, patient=patient)
    visit_type = visit_type or types.filter(code=services.FOLLOW_UP_CODE).first() or types.first()
    if visit_type is None:
        raise Http404("No visit types are set up.")
    clinicians = services.clinicians_for(center=patient.care_center, visit_type=visit_type)
    clinician = clinicians.filter(pk=parse_id(data.get("clinician"))).first()
    return patient, visit_type, clinician, clinicians, types


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def book(request):
    """Pick type, clinician (or first available) and a free slot; book it."""
    _scheduler(request.user)
    data = request.POST if request.method == "POST" else request.GET
    patient, visit_type, clinician, clinicians, types = _booking_inputs(request, data)
    tz = services.center_zone(patient.care_center)
    first = parse_date(data.get("date"), timezone.localdate(timezone.now(), tz))
    context = {
        "patient": patient,
        "visit_type": visit_type,
        "clinician": clinician,
        "clinicians": clinicians,
        "types": types,
        "date": first,
    }
    status = 200
    if request.method == "POST":
        try:
            start = dt.datetime.fromisoformat(request.POST.get("start", ""))
            chosen = clinicians.get(pk=request.POST.get("slot_clinician"))
        except (ValueError, User.DoesNotExist):
            context["error"] = _("Choose one of the free times.")
            status = 400
        else:
            try:
                visit = services.visit_book(
                    patient=patient,
                    clinician=chosen,
                    visit_type=visit_type,
                    start=start,
                    by=request.user,
                )
            except services.VisitError as exc:
                context["error"], status = str(exc), 400
            except services.SlotTaken as exc:
                context["error"], status = exc.message, 409
                context["next_free"] = _named(exc.next_free, patient)
            else:
                messages.success(request, _("Visit booked."))
                return redirect("visits-detail", visit.pk)
    context.update(
        _slot_context(
            request, patient=patient, visit_type=visit_type, clinician=clinician, first=first
        )
    )
    template = (
        "visits/_slots.html" if request.htmx and request.method == "GET" else "visits/book.html"
    )
    if template == "visits/book.html":  # the waiting list (issue #19 §5)
        context.update(
            offers=list(services.open_offers(patient)),
            waiting=list(
                WaitlistEntry.objects.filter(patient=patient, active=True).select_related(
                    "visit_type", "clinician"
                )
            ),
            waitlist_types=types,
            waitlist_clinicians=clinicians,
        )
    return render(request, template, context, status=status)


def _named(slots, patient):
    names = {c.pk: str(c) for c in services.clinicians_for(center=patient.care_center)}
    return [(slot, names.get(slot.clinician_id)) for slot in slots]


@login_required
@require_POST
def book_first(request):
    """From the worklist in one step: the first free slot of the suggested type."""
    _scheduler(request.user)
    patient, visit_type, _clinician, _clinicians, _types = _booking_inputs(request, request.POST)
    for _attempt in range(3):  # someone may take the slot between search and insert
        slots = services.next_free_slots(
            visit_type=visit_type,
            center=patient.care_center,
            after=timezone.now(),
            patient=patient,
        )
        if not slots:
            messages.error(request, _("No free time in the next four weeks."))
            return redirect("visits-worklist")
        try:
            visit = services.visit_book(
                patient=patient,
                clinician=User.objects.get(pk=slots[0].clinician_id),
                visit_type=visit_type,
                start=slots[0].start,
                by=request.user,
            )
        except services.SlotTaken:
            continue
        messages.success(request, _("Visit booked."))
        return redirect("visits-detail", visit.pk)
    messages.error(request, _("That time is no longer free."))
    return redirect("visits-worklist")


def _visit_for(request, pk) -> Visit:
    visits = services.visits_visible_to(request.user).select_related(
        "patient", "clinician", "visit_type", "room", "center"
    )
    return get_object_or_404(visits, pk=pk)


@login_required
@require_safe
def detail(request, pk):
    visit = _visit_for(request, pk)
    if request.user.is_patient:  # their visits are on their home page
        return redirect(reverse("home") + "#visits")
    clinical = may_see_clinical(request.user, visit.patient)
    context = {
        "visit": visit,
        "tz": visit.center.timezone,
        "changes": visit.changes.select_related("by"),
        "cancel_form": CancelForm(),
        "complete_form": CompleteForm(
            clinical=may_record_visit_results(request.user, visit.patient)
        ),
        "clinical": clinical,
        "now": timezone.now(),
        "check_in_opens": services.check_in_opens(visit),
    }
    if clinical and hasattr(visit, "completion"):
        context["completion"] = visit.completion
        audit(request.user, visit.patient, "view", f"visit {visit.pk} results")
    return render(request, "visits/detail.html", context)


def _after_action(request, visit):
    if request.user.is_patient:  # back home, where their visits are (never the workspace)
        return redirect(reverse("home") + "#visits")
    return redirect("visits-detail", visit.pk)


@login_required
@require_POST
def action(request, pk, name):
    """check-in, no-show, cancel, complete, request-reschedule (the last two also patients)."""
    visit = _visit_for(request, pk)
    user = request.user
    if user.is_patient and name not in ("cancel", "request-reschedule"):
        raise PermissionDenied
    try:
        if name == "check-in":
            services.visit_check_in(visit=visit, by=user)
            messages.success(request, _("Checked in."))
        elif name == "no-show":
            services.visit_mark_no_show(visit=visit, by=user)
            messages.success(request, _("Marked as no-show."))
        elif name == "cancel":
            form = CancelForm(request.POST)
            if not form.is_valid():
                raise services.VisitError(_("Give a reason for cancelling."))
            if user.is_patient:  # the center's change window (issue #19 §2)
                selfbook.check_patient_window(visit)
            services.visit_cancel(visit=visit, by=user, reason=form.cleaned_data["reason"])
            messages.success(request, _("Visit cancelled."))
        elif name == "request-reschedule":
            form = RescheduleRequestForm(request.POST)
            form.is_valid()
            services.visit_request_reschedule(
                visit=visit, by=user, note=form.cleaned_data.get("note", "")
            )
            messages.success(request, _("Your request was sent to the care center."))
        elif name == "complete":
            clinical = may_record_visit_results(user, visit.patient)
            form = CompleteForm(request.POST, clinical=clinical)
            if not form.is_valid():
                raise services.VisitError(_("Check the values entered."))
            data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            services.visit_complete(visit=visit, by=user, **{"checks_done": [], **data})
            if clinical:
                audit(user, visit.patient, "change", f"visit {visit.pk} results")
            messages.success(request, _("Visit completed."))
        else:
            raise Http404
    except services.VisitError as exc:
        messages.error(request, str(exc))
    return _after_action(request, visit)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def reschedule(request, pk):
    """Pick a new free time for a booked visit (the patient's old time is not in the way)."""
    _scheduler(request.user)
    visit = _visit_for(request, pk)
    data = request.POST if request.method == "POST" else request.GET
    tz = services.center_zone(visit.center)
    first = parse_date(
        data.get("date"), timezone.localdate(max(timezone.now(), visit.start_at), tz)
    )
    clinicians = services.clinicians_for(center=visit.center, visit_type=visit.visit_type)
    clinician = clinicians.filter(pk=parse_id(data.get("clinician"))).first()
    context = {"visit": visit, "clinicians": clinicians, "clinician": clinician, "date": first}
    status = 200
    if request.method == "POST":
        try:
            start = dt.datetime.fromisoformat(request.POST.get("start", ""))
            chosen = clinicians.get(pk=request.POST.get("slot_clinician"))
            services.visit_reschedule(visit=visit, start=start, by=request.user, clinician=chosen)
        except (ValueError, User.DoesNotExist):
            context["error"], status = _("Choose one of the free times."), 400
        except services.VisitError as exc:
            context["error"], status = str(exc), 400
        except services.SlotTaken as exc:
            context["error"], status = exc.message, 409
            context["next_free"] = _named(exc.next_free, visit.patient)
        else:
            messages.success(request, _("Visit moved."))
            return redirect("visits-detail", visit.pk)
    context.update(
        _slot_context(
            request,
            patient=visit.patient,
            visit_type=visit.visit_type,
            clinician=clinician,
            first=first,
            ignore_visit=visit,
        )
    )
    template = (
        "visits/_slots.html"
        if request.htmx and request.method == "GET"
        else "visits/reschedule.html"
    )
    return render(request, template, context, status=status)


# --- Calendar feeds -----------------------------------------------------------------------


def _feed_visits(user: User):
    if user.is_patient:
        patient = getattr(user, "patient", None)
        if patient is None:
            return Visit.objects.none(), "UTC"
        return Visit.objects.filter(patient=patient), patient.timezone
    tz = user.care_center.timezone if user.care_center else "UTC"
    return Visit.objects.filter(clinician=user), tz


def _ics_response(user: User, *, attachment: bool) -> HttpResponse:
    visits, tz = _feed_visits(user)
    since = timezone.now() - dt.timedelta(days=90)
    visits = list(
        visits.filter(start_at__gte=since).select_related(
            "patient", "clinician", "visit_type", "center", "room"
        )
    )
    closed = ClosedDay.objects.filter(
        center_id__in={v.center_id for v in visits}, date__gte=since.date()
    ).values_list("center_id", "date")
    # In the owner's language (a subscribed feed is fetched by a calendar app, not a browser).
    patient = getattr(user, "patient", None) if user.is_patient else None
    language = user.language or (patient.language if patient else "") or translation.get_language()
    with translation.override(language):
        body = ics.calendar(
            visits, for_patient=user.is_patient, name=_("Visits"), tz=tz, closed_days=set(closed)
        )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    if attachment:
        response["Content-Disposition"] = 'attachment; filename="visits.ics"'
    return response


@login_required
@require_safe
def my_calendar(request):
    """The signed-in patient's visits (or clinician's schedule) as an .ics download."""
    return _ics_response(request.user, attachment=True)


@require_safe
def feed(request, token):
    """The secret subscription address: no sign-in, revoked by issuing a new one."""
    item = CalendarFeed.objects.filter(token_hash=CalendarFeed.hash(token)).select_related("user")
    item = item.first()
    if item is None or not item.user.is_active:
        raise Http404("No such feed.")
    return _ics_response(item.user, attachment=False)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def feed_settings(request):
    """Issue (or replace: the old address stops working) or revoke the secret feed address."""
    address = None
    if request.method == "POST":
        if request.POST.get("revoke"):
            CalendarFeed.objects.filter(user=request.user).delete()
            messages.success(request, _("The calendar address no longer works."))
        else:
            token = CalendarFeed.issue(request.user)
            address = request.build_absolute_uri(reverse("visits-feed", args=[token]))
    context = {
        "address": address,
        "has_feed": CalendarFeed.objects.filter(user=request.user).exists(),
    }
    return render(request, "visits/feed.html", context)
