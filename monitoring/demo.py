"""Demo remote monitoring for ``seed_demo``: the center's lead, a night on-call rota for the
next two weeks (18:00–08:00 in the center's zone, clinicians taking turns) and four CGM
patients who consented and are enrolled by their endocrinologist. The demo's readings were
loaded before the enrolment, so they raise nothing; new readings (an uploader app, the
simulator) and silences of more than 4 hours do. Idempotent: nothing if a lead is set."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db import transaction
from django.utils import timezone

from accounts.models import CareCenter, User
from monitoring.models import CenterLead, OnCallShift
from monitoring.services import enrolment_set
from patients.consent import consent_record
from patients.models import Patient

ROTA_DAYS = 14
ENROLLED = 4


def seed_monitoring(*, center: CareCenter, clinicians: list[User]) -> int:
    """Seed the rota and enrolments; returns the number of patients enrolled."""
    if CenterLead.objects.filter(center=center).exists() or not clinicians:
        return 0
    zone = zoneinfo.ZoneInfo(center.timezone)
    today = timezone.localdate(timezone.now(), zone)
    with transaction.atomic():
        CenterLead.objects.create(center=center, lead=clinicians[0])
        for n in range(ROTA_DAYS):
            day = today + dt.timedelta(days=n)
            start = dt.datetime.combine(day, dt.time(18), zone)
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8), zone)
            OnCallShift.objects.create(
                center=center, clinician=clinicians[n % len(clinicians)], start=start, end=end
            )
        patients = (
            Patient.objects.filter(care_center=center, readings__kind="cgm", user__isnull=False)
            .distinct()
            .order_by("mrn")[:ENROLLED]
        )
        for patient in patients:
            consent_record(patient=patient, topic="remote_monitoring", given=True, by=patient.user)
            by = patient.endocrinologists.first()
            enrolment_set(patient=patient, enrolled=True, thresholds=None, by=by)
    return len(patients)
