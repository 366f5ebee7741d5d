"""Booking requests: a clinician asks the front desk to book a patient a visit (from a
consultation). A request is open until a visit of that patient is booked after it, or staff
dismiss it; the worklist page and ``GET /api/v1/visits/worklist/`` list the open ones.
Nothing else in visits depends on them.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import audit, patients_visible_to
from accounts.models import AuditEvent, User
from patients.models import Patient
from visits.models import BookingRequest, Visit
from visits.services.slots import VisitError

REASONS = {"consultation"}  # worded on the worklist: "asked in a consultation"


def booking_request_reason(reason: str) -> str:
    """The reason in words, in the active language."""
    return _("asked in a consultation") if reason == "consultation" else reason


def booking_request_add(*, patient: Patient, by: User, reason: str) -> BookingRequest:
    if reason not in REASONS:
        raise ValueError(f"unknown booking request reason {reason!r}")
    return BookingRequest.objects.create(patient=patient, requested_by=by, reason=reason)


def _open():
    booked_since = Visit.objects.filter(
        patient_id=OuterRef("patient_id"), created_at__gte=OuterRef("created_at")
    ).exclude(status=Visit.Status.CANCELLED)
    return BookingRequest.objects.filter(dismissed_at__isnull=True).filter(~Exists(booked_since))


def booking_requests_open(*, user: User) -> list[BookingRequest]:
    """Open requests for the patients ``user`` sees (staff: their center's), oldest first."""
    return list(
        _open()
        .filter(patient__in=patients_visible_to(user))
        .select_related("patient", "requested_by")
        .order_by("created_at", "pk")
    )


def booking_request_for(*, user: User, pk) -> BookingRequest | None:
    """One request of a patient ``user`` sees (open or not); None for any other id."""
    return (
        BookingRequest.objects.filter(pk=pk, patient__in=patients_visible_to(user))
        .select_related("patient")
        .first()
    )


def booking_request_dismiss(*, booking_request: BookingRequest, by: User) -> BookingRequest:
    """Take an open request off the worklist without booking; audited on the patient.
    ``VisitError`` when it is no longer open (dismissed, or a visit was booked after it)."""
    if not _open().filter(pk=booking_request.pk).exists():
        raise VisitError(_("This request is no longer open."))
    updated = BookingRequest.objects.filter(
        pk=booking_request.pk, dismissed_at__isnull=True
    ).update(dismissed_at=timezone.now(), dismissed_by=by)
    if not updated:
        raise VisitError(_("This request is no longer open."))
    audit(
        by,
        booking_request.patient,
        AuditEvent.Action.CHANGE,
        f"booking request {booking_request.pk} dismissed",
    )
    booking_request.refresh_from_db()
    return booking_request
