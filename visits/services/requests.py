"""Booking requests: a clinician asks the front desk to book a patient a visit (from a
consultation). A request is open until a visit of that patient is booked after it; the
worklist page lists the open ones above the due rows. Nothing else in visits depends on them.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from accounts.access import patients_visible_to
from accounts.models import User
from patients.models import Patient
from visits.models import BookingRequest, Visit

REASONS = {"consultation"}  # worded on the worklist: "asked in a consultation"


def booking_request_add(*, patient: Patient, by: User, reason: str) -> BookingRequest:
    if reason not in REASONS:
        raise ValueError(f"unknown booking request reason {reason!r}")
    return BookingRequest.objects.create(patient=patient, requested_by=by, reason=reason)


def booking_requests_open(*, user: User) -> list[BookingRequest]:
    """Open requests for the patients ``user`` sees (staff: their center's), oldest first."""
    booked_since = Visit.objects.filter(
        patient_id=OuterRef("patient_id"), created_at__gte=OuterRef("created_at")
    ).exclude(status=Visit.Status.CANCELLED)
    return list(
        BookingRequest.objects.filter(patient__in=patients_visible_to(user))
        .filter(~Exists(booked_since))
        .select_related("patient")
        .order_by("created_at", "pk")
    )
