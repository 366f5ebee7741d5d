"""Setup pages: a center's opening hours, closed days and rooms; each clinician's weekly
sessions and exceptions (leave, training, extra sessions); the visit-type catalogue.

Who: care-center staff (role ``staff``) set up their own center, admins any center (``?center=``
picks it). Clinicians, nurses, dietitians and patients are refused (403); another center's
rows are not found (404). Visit types are one catalogue shared by every center (the booking
pages and ``/api/v1/visit-types/`` offer the same list everywhere), so only admins change them;
staff read it.

Each view: decorator → ``_setup_center`` (the permission-checked lookup) → form → save →
audit → redirect (post/redirect/get, so every page works without JavaScript). An invalid form
re-renders the page with its errors and status 400. The slot search reads these rows directly
(``visits.services.window_epochs_for``), so a change shows in the free times at once.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, ProtectedError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import audit
from accounts.models import AuditEvent, CareCenter, User
from visits import scheduling, services
from visits.forms import (
    AvailabilityExceptionForm,
    AvailabilityForm,
    ClosedDayForm,
    OpeningHoursForm,
    RoomForm,
    VisitTypeForm,
)
from visits.models import (
    Availability,
    AvailabilityException,
    ClosedDay,
    OpeningHours,
    Room,
    Visit,
    VisitType,
)
from visits.services import closures
from visits.views import center_for

# The parts of a center's setup: form (prefix = part) and model.
CENTER_PARTS = {
    "hours": (OpeningHoursForm, OpeningHours),
    "closed": (ClosedDayForm, ClosedDay),
    "rooms": (RoomForm, Room),
}
CLINICIAN_PARTS = {
    "sessions": (AvailabilityForm, Availability),
    "exceptions": (AvailabilityExceptionForm, AvailabilityException),
}


def _may_set_up(user: User) -> bool:
    return user.role == User.Role.STAFF or user.is_admin_role


def _setup_center(request) -> CareCenter:
    """The center ``request.user`` sets up: staff their own, admins ``?center=`` (or the
    first). Anyone else is refused; a bad or unknown ``center`` is a 404."""
    if not _may_set_up(request.user):
        raise PermissionDenied
    return center_for(request, strict=True)


def _with_center(request, url: str, center: CareCenter) -> str:
    return f"{url}?center={center.pk}" if request.user.is_admin_role else url


def _audit(request, center: CareCenter, what: str) -> None:
    audit(request.user, None, AuditEvent.Action.CHANGE, f"visit setup, {center}: {what}")


def _booked_on(
    center: CareCenter, day, clinician: User | None = None, starts=None, ends=None
) -> int:
    """Open visits on ``day`` (center's local day), optionally one clinician's, optionally
    only those overlapping ``starts``–``ends`` (local times: a part-day leave)."""
    tz = services.center_zone(center)
    start = scheduling.to_instant(day, starts or dt.time(0), tz)
    end = (
        scheduling.to_instant(day, ends, tz)
        if ends
        else scheduling.to_instant(day + dt.timedelta(days=1), dt.time(0), tz)
    )
    visits = Visit.objects.filter(
        center=center,
        start_at__lt=end,
        end_at__gt=start,
        status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN],
    )
    if clinician is not None:
        visits = visits.filter(clinician=clinician)
    return visits.count()


def _save(form):
    """The form's new row, or None with a form error when a unique constraint refuses it (the
    same closed day or room added at the same moment by someone else)."""
    try:
        with transaction.atomic():
            return form.save()
    except IntegrityError:
        form.add_error(None, _("This was added by someone else a moment ago."))
        return None


def _warn_booked(request, center, day, clinician=None, starts=None, ends=None) -> None:
    count = _booked_on(center, day, clinician, starts, ends)
    if count:
        messages.warning(
            request,
            _("%(count)d visit(s) are still booked on %(day)s: move or cancel them.")
            % {"count": count, "day": day.isoformat()},
        )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def center_setup(request):
    """Opening hours, closed days, rooms and the center's clinicians; POST ``part`` adds one."""
    center = _setup_center(request)
    forms = {part: form(center=center, prefix=part) for part, (form, _m) in CENTER_PARTS.items()}
    status = 200
    if request.method == "POST":
        part = request.POST.get("part")
        if part not in CENTER_PARTS:
            return render(
                request, "visits/setup.html", _center_context(request, center, forms), status=400
            )
        form = CENTER_PARTS[part][0](request.POST, center=center, prefix=part)
        if form.is_valid() and (item := _save(form)) is not None:
            _audit(request, center, f"added {item._meta.verbose_name} {item}")
            messages.success(request, _("Saved."))
            if part == "closed":
                _warn_booked(request, center, item.date)
            return redirect(_with_center(request, reverse("visits-setup"), center))
        forms[part], status = form, 400
    return render(
        request, "visits/setup.html", _center_context(request, center, forms), status=status
    )


def _center_context(request, center, forms) -> dict:
    from visits import closure_views  # it builds on this module's lookups

    today = timezone.localdate(timezone.now(), services.center_zone(center))
    return {
        "center": center,
        "centers": CareCenter.objects.all() if request.user.is_admin_role else None,
        "center_query": f"?center={center.pk}" if request.user.is_admin_role else "",
        "forms": forms,
        "hours": OpeningHours.objects.filter(center=center),
        "closed_days": ClosedDay.objects.filter(center=center, date__gte=today),
        "rooms": Room.objects.filter(center=center),
        "clinicians": services.clinicians_for(center=center).annotate(
            sessions=Count("availability")
        ),
        # Booked visits in closed time, with where each could move (issue #19 §3).
        "closures": closure_views.closure_rows(center),
    }


@login_required
@require_POST
def center_remove(request, part, pk):
    """Remove one opening period, closed day or room of the center."""
    center = _setup_center(request)
    if part not in CENTER_PARTS:
        raise Http404
    item = get_object_or_404(CENTER_PARTS[part][1], center=center, pk=pk)
    what = f"removed {item._meta.verbose_name} {item}"
    try:
        item.delete()
    except ProtectedError:
        messages.error(request, _("This room has visits booked in it, so it cannot be removed."))
    else:
        _audit(request, center, what)
        messages.success(request, _("Removed."))
    return redirect(_with_center(request, reverse("visits-setup"), center))


def _clinician_for(request, pk) -> tuple[CareCenter, User]:
    """A clinician of the center ``request.user`` sets up (admins: the clinician's center)."""
    if request.user.is_admin_role:
        clinician = get_object_or_404(
            services.clinicians_for(center=None).filter(care_center__isnull=False), pk=pk
        )
        return clinician.care_center, clinician
    center = _setup_center(request)
    return center, get_object_or_404(services.clinicians_for(center=center), pk=pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def clinician_setup(request, pk):
    """One clinician's weekly sessions and exceptions; POST ``part`` adds one."""
    center, clinician = _clinician_for(request, pk)
    forms = {
        part: form(center=center, clinician=clinician, prefix=part)
        for part, (form, _m) in CLINICIAN_PARTS.items()
    }
    status = 200
    if request.method == "POST":
        part = request.POST.get("part")
        if part in CLINICIAN_PARTS:
            form = CLINICIAN_PARTS[part][0](
                request.POST, center=center, clinician=clinician, prefix=part
            )
            if form.is_valid() and (item := _save(form)) is not None:
                _audit(request, center, f"added {item._meta.verbose_name} {item}")
                messages.success(request, _("Saved."))
                if part == "exceptions" and item.kind != AvailabilityException.Kind.EXTRA:
                    _warn_booked(request, center, item.date, clinician, item.starts, item.ends)
                url = reverse("visits-setup-clinician", args=[clinician.pk])
                return redirect(url)
            forms[part] = form
        status = 400
    today = timezone.localdate(timezone.now(), services.center_zone(center))
    context = {
        "center": center,
        "clinician": clinician,
        "forms": forms,
        "sessions": Availability.objects.filter(clinician=clinician, center=center).select_related(
            "room"
        ),
        "exceptions": AvailabilityException.objects.filter(
            clinician=clinician, center=center, date__gte=today
        ).select_related("room"),
        "types": [
            t for t in VisitType.objects.filter(active=True) if clinician.role in t.role_list
        ],
        "back": _with_center(request, reverse("visits-setup"), center),
        "closures": closures.visits_in_closed_time(center=center, clinician=clinician),
    }
    return render(request, "visits/setup_clinician.html", context, status=status)


@login_required
@require_POST
def clinician_remove(request, pk, part, item):
    """Remove one weekly session or exception of the clinician."""
    center, clinician = _clinician_for(request, pk)
    if part not in CLINICIAN_PARTS:
        raise Http404
    row = get_object_or_404(CLINICIAN_PARTS[part][1], clinician=clinician, center=center, pk=item)
    what = f"removed {row._meta.verbose_name} {row}"
    row.delete()
    _audit(request, center, what)
    messages.success(request, _("Removed."))
    return redirect("visits-setup-clinician", clinician.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def visit_types(request):
    """The visit-type catalogue: staff read it, admins add types (POST)."""
    if not _may_set_up(request.user):
        raise PermissionDenied
    form = VisitTypeForm() if request.user.is_admin_role else None
    status = 200
    if request.method == "POST":
        if not request.user.is_admin_role:
            raise PermissionDenied
        form = VisitTypeForm(request.POST)
        if form.is_valid():
            item = form.save()
            audit(request.user, None, AuditEvent.Action.CHANGE, f"visit type {item.code} added")
            messages.success(request, _("Saved."))
            return redirect("visits-setup-types")
        status = 400
    context = {"types": VisitType.objects.order_by("-active", "name"), "form": form}
    return render(request, "visits/setup_types.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def visit_type_edit(request, pk):
    """Change a visit type (admins). Booked visits keep their times; new bookings use the new
    duration. Deactivating a type stops new bookings of it."""
    if not request.user.is_admin_role:
        raise PermissionDenied
    visit_type = get_object_or_404(VisitType, pk=pk)
    form = VisitTypeForm(request.POST if request.method == "POST" else None, instance=visit_type)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            changed = ", ".join(form.changed_data) or "nothing"
            audit(
                request.user,
                None,
                AuditEvent.Action.CHANGE,
                f"visit type {visit_type.code} changed: {changed}",
            )
            messages.success(request, _("Saved."))
            return redirect("visits-setup-types")
        return render(
            request, "visits/setup_type.html", {"form": form, "visit_type": visit_type}, status=400
        )
    return render(request, "visits/setup_type.html", {"form": form, "visit_type": visit_type})
