"""Front-desk pages: the worklist as a recall list, logging an outreach attempt, sending a
booking invite. Each view: decorator → permission-checked lookup (``get_patient_for``,
patients refused) → form → service → redirect or page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.access import get_patient_for
from visits import services
from visits.forms_outreach import InviteForm, OutreachForm
from visits.models_frontdesk import Channel, Outcome
from visits.services.requests import (
    booking_request_dismiss,
    booking_request_for,
    booking_requests_open,
)
from visits.views import _scheduler, center_for


def outreach_filters() -> list[tuple[str, str]]:
    """(value, label) of the worklist's outreach filter."""
    return [
        ("", _("Any")),
        (services.NOT_CONTACTED, _("Not contacted")),
        *[(value, str(label)) for value, label in Outcome.choices],
        (services.RETRY_DUE, _("Try again today")),
    ]


def sort_choices() -> list[tuple[str, str]]:
    return [
        ("", _("Urgent first")),
        ("due", _("Due date")),
        ("center", _("Center")),
        ("clinician", _("Clinician")),
    ]


@login_required
@require_safe
def worklist(request):
    """Who needs a visit booked, how to reach them, and what was tried (staff: "urgent"
    without the clinical reason). Filter by outreach state, sort by due date, center or
    clinician."""
    _scheduler(request.user)
    outreach = request.GET.get("outreach", "")
    sort = request.GET.get("sort", "")
    outreach = outreach if outreach in (*services.OUTREACH_STATES, services.RETRY_DUE) else ""
    sort = sort if sort in services.WORKLIST_SORTS else ""
    rows = services.worklist(user=request.user)
    shown = services.worklist_view(rows, outreach=outreach, sort=sort)
    context = {
        "rows": shown,
        "total": len(rows),
        "center": center_for(request),
        "outreach": outreach,
        "sort": sort,
        "outreach_filters": outreach_filters(),
        "sorts": sort_choices(),
        "outreach_form": OutreachForm(),
        "invite_form": InviteForm(),
        "channels": dict(Channel.choices),
        "today": timezone.localdate(),
        # Clinicians' requests to book (from a consultation): until a visit is booked after.
        "requests": booking_requests_open(user=request.user),
    }
    return render(request, "visits/worklist.html", context)


def _back(request, patient):
    return redirect(reverse("visits-worklist") + f"#patient-{patient.pk}")


@login_required
@require_POST
def outreach(request, pk):
    """Log a call, a message left, no answer or a refusal, with a date to try again."""
    _scheduler(request.user)
    patient = get_patient_for(request.user, pk, clinical=False)
    form = OutreachForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the outreach entered."))
        return _back(request, patient)
    data = form.cleaned_data
    try:
        services.outreach_record(
            patient=patient,
            by=request.user,
            channel=data["channel"],
            outcome=data["outcome"],
            note=data["note"],
            retry_on=data["retry_on"],
        )
        if data["prefer"]:
            services.contact_preference_set(
                patient=patient, channel=data["channel"], by=request.user
            )
    except services.VisitError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Outreach recorded."))
    return _back(request, patient)


@login_required
@require_POST
def invite(request, pk):
    """Send the patient a booking invite (their preferred channel, or the one chosen)."""
    _scheduler(request.user)
    patient = get_patient_for(request.user, pk, clinical=False)
    form = InviteForm(request.POST)
    channel = form.cleaned_data["channel"] if form.is_valid() else ""
    try:
        services.booking_invite_send(patient=patient, by=request.user, channel=channel)
    except services.VisitError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Booking invite sent."))
    return _back(request, patient)


@login_required
@require_POST
def booking_request_dismiss_view(request, pk):
    """Take a clinician's booking request off the worklist without booking (audited)."""
    _scheduler(request.user)
    item = booking_request_for(user=request.user, pk=pk)
    if item is None:
        raise Http404("No such booking request.")
    try:
        booking_request_dismiss(booking_request=item, by=request.user)
    except services.VisitError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Request dismissed."))
    return redirect(reverse("visits-worklist") + "#booking-requests-title")
