"""Erasure on request: it removes what every app holds about a patient, so it lives on the
top floor (the admin's "Erase on request", ``workspace.admin``)."""

from readings.models import DailyRollup


def patient_erase(*, patient, by) -> dict:
    """Erase a patient on request: readings, treatments, device status, rollups, uploads (and
    their files on disk), reports, consultations (and their photos), medication requests, care
    plans, consents, visits, device tokens, the Nightscout link, triage, and the record itself.
    The patient's account is deactivated and stripped of personal fields; its calendar feed
    address and two-factor devices are removed.

    What stays is the audit trail (append-only, it names the patient only by id) with one
    "erase" row as the tombstone: who erased which patient id, when, and what was removed.
    Returns the counts removed.
    """
    from django.db import transaction
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.access import audit
    from accounts.models import AuditEvent
    from care_plans.models import CarePlan
    from consultations.services import consultation_photo_files
    from patients.models import Consent
    from readings.models import (
        Device,
        DeviceToken,
        NightscoutDeviceStatus,
        NightscoutLink,
        Reading,
        Treatment,
        Upload,
    )
    from reports.models import Report
    from visits.models import CalendarFeed, Visit

    patient_id = patient.pk
    files = [f for f in Upload.objects.filter(patient=patient).values_list("file", flat=True) if f]
    files += consultation_photo_files(patient)  # consultations and requests: cascaded
    counts = {}
    with transaction.atomic():
        for name, model in (
            ("readings", Reading),
            ("treatments", Treatment),
            ("device status", NightscoutDeviceStatus),
            ("rollups", DailyRollup),
            ("device tokens", DeviceToken),
            ("Nightscout link", NightscoutLink),
            ("reports", Report),
            ("care plans", CarePlan),
            ("consents", Consent),
            ("visits", Visit),
            ("uploads", Upload),
            ("devices", Device),
        ):
            counts[name] = model.objects.filter(patient_id=patient_id).delete()[0]
        user = patient.user
        patient.delete()
        if user is not None:
            for model in (CalendarFeed, TOTPDevice, StaticDevice):
                model.objects.filter(user=user).delete()
            user.is_active = False
            user.set_unusable_password()
            user.first_name = user.last_name = user.email = ""
            user.save()
        counts["files"] = len(files)
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        audit(
            by,
            None,
            AuditEvent.Action.ERASE,
            f"erased on request: {summary}",
            patient_id=patient_id,
        )
        transaction.on_commit(lambda: _remove_files(files))
    return counts


def _remove_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        default_storage.delete(name)
