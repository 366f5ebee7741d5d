"""Enrolment: a patient watched by their care center, with their consent (issue #20 §1)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.access import audit
from care_plans.services import targets_for
from monitoring import rules
from monitoring.models import Enrolment
from patients.models import Consent, Patient

CONSENT_TOPIC = "remote_monitoring"


class NoConsent(Exception):
    """The patient has not consented to remote monitoring (the API answers 409)."""


def has_consented(patient: Patient) -> bool:
    """The patient's newest ``remote_monitoring`` decision is "given"."""
    latest = Consent.newest_first(patient).filter(topic=CONSENT_TOPIC).first()
    return latest is not None and latest.given


def enrolment_of(patient: Patient) -> Enrolment | None:
    return Enrolment.objects.filter(patient=patient).first()


def thresholds_of(patient: Patient, enrolment: Enrolment | None) -> rules.Thresholds:
    """The plan's defaults, then the clinician's overrides (``rules.thresholds_for_plan``)."""
    overrides = enrolment.thresholds if enrolment is not None else None
    try:
        return rules.thresholds_for_plan(targets_for(patient), overrides)
    except ValueError:  # overrides stored before a bound changed: the plan's defaults
        return rules.thresholds_for_plan(targets_for(patient))


def enrolment_set(*, patient: Patient, enrolled: bool, thresholds: dict | None, by) -> Enrolment:
    """Enrol (or end the enrolment of) ``patient``, optionally with threshold overrides.

    Raises ``NoConsent`` when enrolling a patient who has not consented, ``ValueError``
    (naming the key) for a threshold out of ``rules.THRESHOLD_BOUNDS``. Audited.
    """
    if thresholds is not None:
        rules.thresholds_for_plan(None, thresholds)  # validates: ValueError names the key
    with transaction.atomic():
        enrolment, _ = Enrolment.objects.select_for_update().get_or_create(patient=patient)
        if enrolled and not has_consented(patient):
            raise NoConsent("The patient has not consented to remote monitoring.")
        now = timezone.now()
        if thresholds is not None:
            enrolment.thresholds = {k: v for k, v in thresholds.items() if v is not None}
        if enrolled and not enrolment.active:
            enrolment.active, enrolment.enrolled_at, enrolment.enrolled_by = True, now, by
            enrolment.ended_at, enrolment.ended_reason = None, ""
        elif not enrolled and enrolment.active:
            enrolment.active, enrolment.ended_at = False, now
            enrolment.ended_reason = "ended by clinician"
        enrolment.save()
        what = f"monitoring {'enrolled' if enrolment.active else 'not enrolled'}"
        if enrolment.thresholds:
            what += " " + ",".join(f"{k}={v:g}" for k, v in sorted(enrolment.thresholds.items()))
        audit(by, patient, "change", what)
    return enrolment


def enrolment_end(*, patient: Patient, reason: str) -> bool:
    """End the enrolment (consent withdrawn); its open alerts close. True if one ended."""
    from monitoring.services.actions import alerts_close_all

    now = timezone.now()
    ended = Enrolment.objects.filter(patient=patient, active=True).update(
        active=False, ended_at=now, ended_reason=reason
    )
    if ended:
        alerts_close_all(patient=patient, reason="not_enrolled", now=now)
    return bool(ended)
