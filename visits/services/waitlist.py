"""The waiting list: patients who want an earlier visit of a type (with one clinician, or
any). A cancelled visit's time is offered to every waiting patient it suits; the first to
accept books it through ``visit_book`` — the database's no-double-booking rule decides
between two who accept at once — and the others' offers become "taken".
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from patients.models import Patient
from visits.models import ClosedDay, Visit, VisitType
from visits.models_frontdesk import WaitlistEntry, WaitlistOffer
from visits.services.slots import SlotTaken, VisitError, center_zone


def waitlist_add(
    *, patient: Patient, visit_type: VisitType, by: User, clinician: User | None = None
) -> WaitlistEntry:
    """Put the patient on the waiting list (one active entry per visit type)."""
    if patient.care_center_id is None:
        raise VisitError(_("The patient has no care center."))
    if clinician is not None and (
        clinician.care_center_id != patient.care_center_id
        or clinician.role not in visit_type.role_list
    ):
        raise VisitError(_("This clinician does not take this type of visit."))
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(
                patient=patient, visit_type=visit_type, clinician=clinician, by=by
            )
    except IntegrityError:
        raise VisitError(_("The patient is already waiting for this type of visit.")) from None


def waitlist_offer_freed(*, visit: Visit) -> list[WaitlistOffer]:
    """Offer a cancelled visit's time to every active entry it suits (same center and visit
    type; the same clinician or any), oldest entry first; the patient whose visit it was is
    left out. A time already past, or on a day the center has closed, offers nothing."""
    if visit.start_at <= timezone.now():
        return []
    day = timezone.localdate(visit.start_at, center_zone(visit.center))
    if ClosedDay.objects.filter(center_id=visit.center_id, date=day).exists():
        return []  # cancelled because the center closed: nothing to offer
    entries = WaitlistEntry.objects.filter(
        active=True,
        visit_type_id=visit.visit_type_id,
        patient__care_center_id=visit.center_id,
    ).exclude(patient_id=visit.patient_id)
    offers = []
    for entry in entries.order_by("created_at", "pk"):
        if entry.clinician_id not in (None, visit.clinician_id):
            continue
        offer, _created = WaitlistOffer.objects.get_or_create(
            entry=entry, clinician_id=visit.clinician_id, start_at=visit.start_at
        )
        offers.append(offer)
    return offers


def waitlist_accept(*, offer: WaitlistOffer, by: User) -> Visit:
    """Book the offered time for the offer's patient. ``SlotTaken`` (with the next free
    times) when someone else was first; ``VisitError`` when the time is no longer bookable
    (past, a closed day, the clinician away) or the offer is not open."""
    from visits.services.lifecycle import visit_book

    if offer.status != WaitlistOffer.Status.OPEN:
        raise VisitError(_("This offer is no longer open."))
    entry = offer.entry
    try:
        visit = visit_book(
            patient=entry.patient,
            clinician=offer.clinician,
            visit_type=entry.visit_type,
            start=offer.start_at,
            by=by,
        )
    except SlotTaken:
        WaitlistOffer.objects.filter(pk=offer.pk).update(status=WaitlistOffer.Status.TAKEN)
        raise
    with transaction.atomic():
        WaitlistOffer.objects.filter(pk=offer.pk).update(
            status=WaitlistOffer.Status.ACCEPTED, visit=visit
        )
        WaitlistOffer.objects.filter(
            clinician_id=offer.clinician_id,
            start_at=offer.start_at,
            status=WaitlistOffer.Status.OPEN,
        ).update(status=WaitlistOffer.Status.TAKEN)
        WaitlistEntry.objects.filter(pk=entry.pk).update(active=False)
    return visit
