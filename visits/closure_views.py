"""Closing a day or a leave moves its visits (issue #19 §3): the setup page lists the booked
visits in closed time (``closure_rows``) and these POSTs move or cancel them, one by one or
all at once. Who: as the setup pages (staff of the visit's center, admins; others 403, another
center's visit 404). Each patient is told by the move or the cancellation itself.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import audit
from accounts.models import AuditEvent, CareCenter, User
from visits import services
from visits.forms import parse_id
from visits.models import Visit
from visits.services import closures
from visits.setup_views import _may_set_up, _setup_center, _with_center


def closure_rows(center: CareCenter) -> list[tuple[Visit, closures.MoveOptions, str]]:
    """(visit, where it could go, the other clinician's name) for the setup page."""
    names = {c.pk: str(c) for c in services.clinicians_for(center=center)}
    rows = []
    for visit in closures.visits_in_closed_time(center=center):
        options = closures.move_options(visit)
        other = names.get(options.other.clinician_id, "") if options.other else ""
        rows.append((visit, options, other))
    return rows


def _back(request, center: CareCenter):
    return redirect(_with_center(request, reverse("visits-setup"), center) + "#closures")


def _closure_visit(request, pk) -> Visit:
    if not _may_set_up(request.user):
        raise PermissionDenied
    visits = Visit.objects.select_related("patient", "clinician", "visit_type", "center")
    if request.user.is_admin_role:
        return get_object_or_404(visits, pk=pk)
    return get_object_or_404(visits, pk=pk, center_id=request.user.care_center_id or 0)


def _audit(request, visit: Visit, what: str) -> None:
    audit(request.user, visit.patient, AuditEvent.Action.CHANGE, f"closed time: visit {what}")


@login_required
@require_POST
def closure_move(request, pk):
    """Move one visit: to the offered slot (``start`` + ``clinician``) or the best free one."""
    visit = _closure_visit(request, pk)
    start, clinician = None, None
    if request.POST.get("start"):
        try:
            start = dt.datetime.fromisoformat(request.POST["start"])
        except ValueError:
            start = None
        clinician = services.clinicians_for(center=visit.center).filter(
            pk=parse_id(request.POST.get("clinician")) or 0
        )
        clinician = clinician.first()
        if start is None or start.tzinfo is None or clinician is None:
            messages.error(request, _("Choose one of the free times."))
            return _back(request, visit.center)
    try:
        closures.closure_move(visit=visit, by=request.user, start=start, clinician=clinician)
    except services.VisitError as exc:
        messages.error(request, str(exc))
    except services.SlotTaken as exc:
        messages.error(request, exc.message)
    else:
        _audit(request, visit, f"{visit.pk} moved")
        messages.success(request, _("Visit moved; the patient is told."))
    return _back(request, visit.center)


@login_required
@require_POST
def closure_cancel(request, pk):
    visit = _closure_visit(request, pk)
    reason = (request.POST.get("reason") or "").strip()
    try:
        closures.closure_cancel(visit=visit, by=request.user, reason=reason)
    except services.VisitError as exc:
        messages.error(request, str(exc))
    else:
        _audit(request, visit, f"{visit.pk} cancelled")
        messages.success(request, _("Visit cancelled; the patient is told."))
    return _back(request, visit.center)


@login_required
@require_POST
def closure_all(request):
    """Move (``action=move``) or cancel with a reason (``action=cancel``) every visit in
    closed time at the center."""
    center = _setup_center(request)
    action = request.POST.get("action")
    user: User = request.user
    if action == "move":
        moved, left = closures.closure_move_all(center=center, by=user)
        messages.success(
            request, _("%(count)d visit(s) moved; each patient is told.") % {"count": moved}
        )
        if left:
            messages.error(
                request,
                _("%(count)d visit(s) found no free time: cancel them or book by hand.")
                % {"count": len(left)},
            )
    elif action == "cancel":
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            messages.error(request, _("Give a reason for cancelling."))
        else:
            count = closures.closure_cancel_all(center=center, by=user, reason=reason)
            messages.success(
                request, _("%(count)d visit(s) cancelled; each patient is told.") % {"count": count}
            )
    else:
        messages.error(request, _("Choose to move or to cancel."))
    return _back(request, center)
