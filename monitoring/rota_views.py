"""The on-call rota page (issue #20 §3): who covers a center when, and its lead.

Who: the center's staff and admins set it (admins any center, ``?center=``); its clinicians
read it; patients are refused (403); another center's shift is not found (404). Times are
wall-clock times in the center's zone. Post/redirect/get; an invalid form re-renders with its
errors and status 400. Every change is audited (``monitoring.services.rota``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import CareCenter, User
from monitoring.forms import LeadForm, ShiftForm
from monitoring.models import CenterLead, OnCallShift
from monitoring.services import rota
from visits.views import center_for

READERS = (User.Role.ENDOCRINOLOGIST, User.Role.NURSE, User.Role.DIETITIAN)
SHOWN_SHIFTS = 200


def _may_edit(user: User) -> bool:
    return user.role == User.Role.STAFF or user.is_admin_role


def _center(request) -> CareCenter:
    user = request.user
    if not (_may_edit(user) or user.role in READERS):
        raise PermissionDenied
    return center_for(request, strict=True)


def _here(request, center: CareCenter) -> str:
    url = reverse("monitoring-rota")
    return f"{url}?center={center.pk}" if request.user.is_admin_role else url


def _context(request, center, shift_form, lead_form) -> dict:
    now = timezone.now()
    lead = CenterLead.objects.filter(center=center).select_related("lead").first()
    shifts = list(
        OnCallShift.objects.filter(center=center, end__gt=now)
        .select_related("clinician")
        .order_by("start", "pk")[:SHOWN_SHIFTS]
    )
    for shift in shifts:
        shift.now_on = shift.start <= now
    return {
        "center": center,
        "centers": CareCenter.objects.order_by("name") if request.user.is_admin_role else None,
        "center_query": f"?center={center.pk}" if request.user.is_admin_role else "",
        "may_edit": _may_edit(request.user),
        "lead": lead.lead if lead else None,
        "shifts": shifts,
        "shift_form": shift_form,
        "lead_form": lead_form,
        "clinicians": rota.rota_clinicians(center),
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def rota_page(request):
    """The rota (current and coming shifts) and the lead; POST ``part`` = shift | lead."""
    center = _center(request)
    lead = CenterLead.objects.filter(center=center).first()
    shift_form = ShiftForm(center=center, prefix="shift")
    lead_form = LeadForm(
        center=center, prefix="lead", initial={"lead": lead.lead_id if lead else None}
    )
    if request.method != "POST":
        return render(
            request, "monitoring/rota.html", _context(request, center, shift_form, lead_form)
        )
    if not _may_edit(request.user):
        raise PermissionDenied
    part = request.POST.get("part")
    if part == "shift":
        shift_form = ShiftForm(request.POST, center=center, prefix="shift")
        if shift_form.is_valid():
            data = shift_form.cleaned_data
            try:
                _shift, others = rota.shift_add(
                    center=center, clinician=data["clinician"], start=data["start"],
                    end=data["end"], by=request.user,
                )  # fmt: skip
            except rota.RotaError as exc:
                shift_form.add_error(None, str(exc))
            else:
                messages.success(request, _("Shift added."))
                if others:
                    names = ", ".join(
                        sorted(
                            {s.clinician.get_full_name() or s.clinician.username for s in others}
                        )
                    )
                    messages.warning(
                        request,
                        _("It overlaps %(names)s's shift: both are told of an alert then.")
                        % {"names": names},
                    )
                return redirect(_here(request, center))
    elif part == "lead":
        lead_form = LeadForm(request.POST, center=center, prefix="lead")
        if lead_form.is_valid():
            try:
                rota.lead_set(center=center, lead=lead_form.cleaned_data["lead"], by=request.user)
            except rota.RotaError as exc:
                lead_form.add_error(None, str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect(_here(request, center))
    context = _context(request, center, shift_form, lead_form)
    return render(request, "monitoring/rota.html", context, status=400)


@login_required
@require_POST
def rota_shift_remove(request, pk):
    center = _center(request)
    if not _may_edit(request.user):
        raise PermissionDenied
    shift = get_object_or_404(
        OnCallShift.objects.select_related("clinician", "center"), center=center, pk=pk
    )
    rota.shift_remove(shift=shift, by=request.user)
    messages.success(request, _("Removed."))
    return redirect(_here(request, center))
