"""The waiting list: patients who want an earlier visit of a type (with one clinician, or
any). A cancelled visit's time is offered to every waiting patient it suits — each gets a
message in their language (e-mail, SMS, and in the app), sent once after commit by the
``visits.tasks.send_waitlist_offer`` task — and the first to accept books it through
``visit_book``: the database's no-double-booking rule decides between two who accept at once,
and the others' offers become "taken" (a later acceptor reads "already taken").

Patients join the list themselves (the visit types they may book, their own care team) or
whoever schedules them adds them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User
from patients.models import Patient
from visits.models import ClosedDay, Visit, VisitType
from visits.models_frontdesk import WaitlistEntry, WaitlistOffer
from visits.services.slots import SlotTaken, VisitError, center_zone


class OfferTaken(VisitError):
    """Someone else accepted the offered time first."""


def waitlist_add(
    *, patient: Patient, visit_type: VisitType, by: User, clinician: User | None = None
) -> WaitlistEntry:
    """Put the patient on the waiting list (one active entry per visit type). A patient
    adding themself may choose only the types patients book and their own care team."""
    if patient.care_center_id is None:
        raise VisitError(_("The patient has no care center."))
    if not visit_type.active:
        raise VisitError(_("This type of visit is not offered."))
    if getattr(by, "is_patient", False):
        from visits.services.selfbook import care_team

        if not visit_type.patient_bookable:
            raise VisitError(_("This type of visit is booked by your care center."))
        if clinician is not None and not (
            care_team(patient=patient, visit_type=visit_type).filter(pk=clinician.pk).exists()
        ):
            raise VisitError(_("This clinician does not take this type of visit."))
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


def waitlist_leave(*, entry: WaitlistEntry) -> None:
    """Take the entry off the waiting list (its open offers stay until they are taken)."""
    WaitlistEntry.objects.filter(pk=entry.pk).update(active=False)


def _offer_text(offer: WaitlistOffer) -> tuple[str, str]:
    """(subject, text) in the active language, the time in the patient's zone."""
    patient = offer.entry.patient
    local = offer.start_at.astimezone(patient.tzinfo)
    when = f"{date_format(local, 'DATE_FORMAT')} {local:%H:%M} ({patient.timezone})"
    what = {
        "type": offer.entry.visit_type.label,
        "when": when,
        "clinician": str(offer.clinician),
    }
    return _("An earlier visit is free"), _(
        "A %(type)s visit with %(clinician)s on %(when)s has become free. The first to "
        "accept it gets it: open your booking page to take it."
    ) % what


def waitlist_offer_freed(*, visit: Visit) -> list[WaitlistOffer]:
    """Offer a cancelled visit's time to every active entry it suits (same center and visit
    type; the same clinician or any), oldest entry first; the patient whose visit it was is
    left out. Each new offer is written in the patient's language and sent after commit.
    A time already past, or on a day the center has closed, offers nothing."""
    from outbox.services import task_enqueue

    if visit.start_at <= timezone.now():
        return []
    day = timezone.localdate(visit.start_at, center_zone(visit.center))
    if ClosedDay.objects.filter(center_id=visit.center_id, date=day).exists():
        return []  # cancelled because the center closed: nothing to offer
    entries = (
        WaitlistEntry.objects.filter(
            active=True,
            visit_type_id=visit.visit_type_id,
            patient__care_center_id=visit.center_id,
        )
        .exclude(patient_id=visit.patient_id)
        .select_related("patient", "visit_type")
    )
    offers = []
    for entry in entries.order_by("created_at", "pk"):
        if entry.clinician_id not in (None, visit.clinician_id):
            continue
        offer, created = WaitlistOffer.objects.get_or_create(
            entry=entry, clinician_id=visit.clinician_id, start_at=visit.start_at
        )
        if created:
            with translation.override(entry.patient.language or settings.LANGUAGE_CODE):
                subject, text = _offer_text(offer)
            WaitlistOffer.objects.filter(pk=offer.pk).update(subject=subject, text=text)
            offer.subject, offer.text = subject, text
            task_enqueue("visits.tasks.send_waitlist_offer", offer.pk)
        offers.append(offer)
    return offers


def waitlist_offer_deliver(*, offer_id: int) -> str:
    """Send one offer, once: a conditional update claims it. An offer no longer open (taken
    or accepted before the message went out) is not sent. Returns "sent" or "done"."""
    from visits.services.messages import sms_backend

    claimed = WaitlistOffer.objects.filter(
        pk=offer_id, sent_at__isnull=True, status=WaitlistOffer.Status.OPEN
    ).update(sent_at=timezone.now())
    if not claimed:
        return "done"
    offer = WaitlistOffer.objects.select_related("entry__patient__user").get(pk=offer_id)
    patient = offer.entry.patient
    channels = ["in_app"]
    email = patient.email or (patient.user.email if patient.user else "")
    if email:
        send_mail(offer.subject, offer.text, None, [email])
        channels.append("email")
    if patient.phone:
        sms_backend().send(patient.phone, offer.text)
        channels.append("sms")
    WaitlistOffer.objects.filter(pk=offer_id).update(channels=",".join(channels))
    return "sent"


def open_offers(patient: Patient):
    """The patient's offers still open and in the future, soonest first."""
    return (
        WaitlistOffer.objects.filter(
            entry__patient=patient, status=WaitlistOffer.Status.OPEN, start_at__gt=timezone.now()
        )
        .select_related("entry__visit_type", "clinician")
        .order_by("start_at", "pk")
    )


def waitlist_accept(*, offer: WaitlistOffer, by: User) -> Visit:
    """Book the offered time for the offer's patient. ``OfferTaken`` (a ``VisitError``) when
    someone else accepted first; ``SlotTaken`` (with the next free times) when the time was
    booked another way; ``VisitError`` when the time is no longer bookable (past, a closed
    day, the clinician away) or the offer was already accepted."""
    from visits.services.lifecycle import visit_book

    if offer.status == WaitlistOffer.Status.TAKEN:
        raise OfferTaken(_("Sorry, someone else has already taken this time."))
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
