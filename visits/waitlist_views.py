"""The waiting list on the pages (issue #19 §5): join it (a patient for themself on their
booking page, staff for a patient on the staff booking page), leave it, and take a freed time
that was offered. Each view: decorator → permission-checked lookup (a patient their own
record, anyone else the patients they see; others 404) → service → redirect back.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_patient_for, patients_visible_to
from accounts.models import User
from visits import services
from visits.forms import parse_id
from visits.models import VisitType
from visits.models_frontdesk import WaitlistEntry, WaitlistOffer


def _patient(request, raw):
    """The patient the form names: a patient only themself, others whom they schedule."""
    if request.user.is_patient:
        patient = getattr(request.user, "patient", None)
        if patient is None or (raw not in (None, "") and parse_id(raw) != patient.pk):
            raise Http404("No such patient.")
        return patient
    return get_patient_for(request.user, parse_id(raw) or 0, clinical=False)


def _back(request, patient):
    if request.user.is_patient:
        return redirect(reverse("visits:self_book") + "#waitlist")
    return redirect(reverse("visits-book") + f"?patient={patient.pk}#waitlist")


@login_required
@require_POST
def waitlist_join(request):
    """Wait for an earlier visit of a type, with one clinician or any."""
    patient = _patient(request, request.POST.get("patient"))
    visit_type = VisitType.objects.filter(
        pk=parse_id(request.POST.get("visit_type")) or 0, active=True
    ).first()
    clinician = None
    if request.POST.get("clinician"):
        clinician = User.objects.filter(pk=parse_id(request.POST.get("clinician")) or 0).first()
        if clinician is None:
            messages.error(request, _("This clinician does not take this type of visit."))
            return _back(request, patient)
    if visit_type is None:
        messages.error(request, _("Choose a type of visit."))
        return _back(request, patient)
    try:
        services.waitlist_add(
            patient=patient, visit_type=visit_type, clinician=clinician, by=request.user
        )
    except services.VisitError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("On the waiting list: a time that frees up will be offered by message.")
        )
    return _back(request, patient)


@login_required
@require_POST
def waitlist_leave(request, pk):
    entry = WaitlistEntry.objects.filter(
        pk=pk, patient__in=patients_visible_to(request.user)
    ).first()
    if entry is None:
        raise Http404("No such waiting-list entry.")
    services.waitlist_leave(entry=entry)
    messages.success(request, _("Taken off the waiting list."))
    return _back(request, entry.patient)


@login_required
@require_POST
def waitlist_accept(request, pk):
    """Take an offered time: the first to accept gets it; a later one reads "already taken"."""
    offer = (
        WaitlistOffer.objects.filter(pk=pk, entry__patient__in=patients_visible_to(request.user))
        .select_related("entry__patient")
        .first()
    )
    if offer is None:
        raise Http404("No such offer.")
    patient = offer.entry.patient
    try:
        services.waitlist_accept(offer=offer, by=request.user)
    except services.SlotTaken:
        messages.error(request, _("Sorry, someone else has already taken this time."))
    except services.VisitError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The visit is booked."))
        if request.user.is_patient:
            return redirect(reverse("visits:self_book") + "#my-visits")
    return _back(request, patient)
