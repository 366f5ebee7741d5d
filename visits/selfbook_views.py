"""The patient's own booking page (issue #19 §2) and the staff's list of patients' requests.

``/visits/book/`` is one address for two audiences: a patient books for themselves here
(``visits:self_book``, the page booking invites link to); staff and clinicians get the staff
booking page (``visits-book``) at the same address. Times on the patient's page are in the
patient's zone. Each view: decorator → lookup (the signed-in patient's own record, 404 for any
other) → form → service (``visits.services.selfbook``) → page.
"""

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from patients.models import Patient
from visits import services, views
from visits.forms import parse_date, parse_id
from visits.models import Visit, VisitRequest
from visits.models_frontdesk import WaitlistEntry
from visits.services import selfbook

SLOT_DAYS = 7


def _own_patient(request, claimed=None) -> Patient:
    """The signed-in patient's record; a ``patient`` id naming anyone else is 404."""
    patient = getattr(request.user, "patient", None)
    if patient is None:
        raise Http404("No patient record.")
    if claimed not in (None, "") and parse_id(claimed) != patient.pk:
        raise Http404("No such patient.")
    return patient


def _parse_start(raw: str | None) -> dt.datetime | None:
    try:
        start = dt.datetime.fromisoformat(raw or "")
    except (ValueError, TypeError):
        return None
    return start if start.tzinfo is not None else None


def _names(patient: Patient) -> dict[int, str]:
    center = patient.care_center
    return {c.pk: str(c) for c in services.clinicians_for(center=center)} if center else {}


def _team_slots(slots, patient: Patient, visit_type) -> list:
    team = set(
        selfbook.care_team(patient=patient, visit_type=visit_type).values_list("pk", flat=True)
    )
    names = _names(patient)
    return [(slot, names.get(slot.clinician_id)) for slot in slots if slot.clinician_id in team]


def _suggested(user, patient: Patient, types):
    """The type the worklist suggests for the patient, if patients may book it."""
    suggested = services.suggested_visit_type_for(user=user, patient=patient)
    return types.filter(pk=suggested.pk).first() if suggested is not None else None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def self_book(request):
    """Book, move or cancel one's own visit, or leave a request when no time suits."""
    if not request.user.is_patient:
        return views.book(request)  # staff book for a patient at the same address
    data = request.POST if request.method == "POST" else request.GET
    patient = _own_patient(request, data.get("patient"))
    types = selfbook.bookable_types()
    moving = None
    if data.get("move"):
        moving = get_object_or_404(
            Visit.objects.select_related("visit_type", "clinician"),
            pk=parse_id(data.get("move")) or 0,
            patient=patient,
            status=Visit.Status.BOOKED,
        )
    visit_type = (
        moving.visit_type
        if moving is not None
        else types.filter(pk=parse_id(data.get("visit_type"))).first()
        or _suggested(request.user, patient, types)
        or types.filter(code=services.FOLLOW_UP_CODE).first()
        or types.first()
    )
    tz = patient.tzinfo
    today = timezone.localdate(timezone.now(), tz)
    first = max(parse_date(data.get("date"), today), today)
    context = {
        "patient": patient,
        "types": types,
        "visit_type": visit_type,
        "moving": moving,
        "date": first,
        "hours": selfbook.change_hours(),
        "follow_up": services.follow_up_due(patient),
    }
    status = 200
    if request.method == "POST":
        status = _book_or_move(request, context, data)
        if status == 302:
            return redirect(reverse("visits:self_book") + "#my-visits")
    context.update(_page(patient, visit_type, first, moving))
    context.update(_waitlist(patient, visit_type))
    return render(request, "visits/self_book.html", context, status=status)


def _waitlist(patient: Patient, visit_type) -> dict:
    """The waiting-list section: offers open to the patient, what they wait for, and the
    types (those patients book) and clinicians (their care team) they may wait for."""
    return {
        "offers": list(services.open_offers(patient)),
        "waiting": list(
            WaitlistEntry.objects.filter(patient=patient, active=True).select_related(
                "visit_type", "clinician"
            )
        ),
        "waitlist_types": selfbook.bookable_types(),
        "waitlist_clinicians": (
            selfbook.care_team(patient=patient, visit_type=visit_type) if visit_type else []
        ),
    }


def _book_or_move(request, context, data) -> int:
    """The POST: 302 when booked or moved, else the status to answer with the page."""
    patient, visit_type, moving = context["patient"], context["visit_type"], context["moving"]
    start = _parse_start(data.get("start"))
    clinician = User.objects.filter(pk=parse_id(data.get("slot_clinician")) or 0).first()
    if start is None or clinician is None or visit_type is None:
        context["error"] = _("Choose one of the free times.")
        return 400
    try:
        if moving is not None:
            selfbook.self_move(visit=moving, clinician=clinician, start=start, by=request.user)
            messages.success(request, _("Your visit was moved."))
        else:
            selfbook.self_book(
                patient=patient,
                clinician=clinician,
                visit_type=visit_type,
                start=start,
                by=request.user,
            )
            messages.success(request, _("Your visit is booked."))
    except services.VisitError as exc:
        context["error"] = str(exc)
        return 400
    except services.SlotTaken as exc:
        context["error"] = exc.message
        context["next_free"] = _team_slots(exc.next_free, patient, visit_type)
        return 409
    return 302


def _page(patient: Patient, visit_type, first: dt.date, moving) -> dict:
    slots = []
    if visit_type is not None and patient.care_center is not None:
        slots = selfbook.self_slots(
            patient=patient,
            visit_type=visit_type,
            first=first,
            days=SLOT_DAYS,
            ignore_visit=moving,
        )
    names = _names(patient)
    by_day = defaultdict(list)
    for slot in slots:
        by_day[timezone.localdate(slot.start, patient.tzinfo)].append(
            (slot, names.get(slot.clinician_id))
        )
    upcoming = (
        Visit.objects.filter(
            patient=patient,
            status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN],
            end_at__gte=timezone.now(),
        )
        .select_related("visit_type", "clinician", "room")
        .order_by("start_at")
    )
    return {
        "slot_days": sorted(by_day.items()),
        "tz": patient.timezone,
        "previous": first - dt.timedelta(days=SLOT_DAYS),
        "next": first + dt.timedelta(days=SLOT_DAYS),
        "today": timezone.localdate(timezone.now(), patient.tzinfo),
        "my_visits": [
            (
                v,
                v.status == Visit.Status.BOOKED and selfbook.patient_may_change(v.start_at),
                v.visit_type.patient_bookable,
            )
            for v in upcoming
        ],
        "open_request": VisitRequest.objects.filter(
            patient=patient, handled_at__isnull=True
        ).first(),
    }


@login_required
@require_POST
def self_cancel(request, pk):
    """The patient cancels their own visit, within the change window."""
    if not request.user.is_patient:
        raise PermissionDenied
    patient = _own_patient(request)
    visit = get_object_or_404(Visit, pk=pk, patient=patient)
    try:
        selfbook.self_cancel(
            visit=visit,
            by=request.user,
            reason=(request.POST.get("reason") or "").strip() or _("Cancelled by the patient"),
        )
    except services.VisitError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your visit was cancelled."))
    return redirect(reverse("visits:self_book") + "#my-visits")


@login_required
@require_POST
def self_request(request):
    """No time suits: the patient says which would; staff see it on the requests page."""
    if not request.user.is_patient:
        raise PermissionDenied
    patient = _own_patient(request)
    visit_type = selfbook.bookable_types().filter(pk=parse_id(request.POST.get("visit_type")))
    try:
        selfbook.visit_request_create(
            patient=patient,
            visit_type=visit_type.first(),
            note=request.POST.get("note", ""),
            by=request.user,
        )
    except services.VisitError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your request was sent to the care center."))
    return redirect(reverse("visits:self_book") + "#request")


@login_required
@require_safe
def requests_list(request):
    """Patients' requests for a visit when no free time suited them (staff and clinicians)."""
    if request.user.is_patient:
        raise PermissionDenied
    rows = list(selfbook.visit_requests_open(request.user))
    return render(request, "visits/requests.html", {"rows": rows, "section": "requests"})


@login_required
@require_POST
def request_close(request, pk):
    if request.user.is_patient:
        raise PermissionDenied
    item = get_object_or_404(selfbook.visit_requests_open(request.user), pk=pk)
    selfbook.visit_request_close(request=item, by=request.user)
    messages.success(request, _("Request closed."))
    return redirect("visits:requests")
