"""Window figures from the daily rollups (never from raw readings); triage is in
``patients.triage``."""

import datetime as dt

import pandas as pd
from django.utils import timezone

from glycemia.rollups import ROLLUP_FIELDS, metrics_from_rollups
from patients.models import Patient
from readings.models import DailyRollup

TRIAGE_WINDOW_DAYS = 14


def window_dates(end: dt.date | None = None, days: int = TRIAGE_WINDOW_DAYS):
    end = end or timezone.now().date()
    return end - dt.timedelta(days=days - 1), end


def rollup_metrics(
    patient_ids: list[int], *, start: dt.date, end: dt.date, kind: str = "cgm"
) -> dict[int, dict]:
    """14-day metrics per patient from DailyRollup rows: one query, vectorized arithmetic."""
    rows = DailyRollup.objects.filter(
        patient_id__in=patient_ids, date__gte=start, date__lte=end, kind=kind
    ).values_list("patient_id", "date", "interval_minutes", "slots", *ROLLUP_FIELDS)
    frame = pd.DataFrame.from_records(
        list(rows), columns=["patient_id", "date", "interval_minutes", "slots", *ROLLUP_FIELDS]
    )
    if frame.empty:
        return {}
    zones = dict(Patient.objects.filter(pk__in=patient_ids).values_list("pk", "timezone"))
    result = metrics_from_rollups(frame, start=start, end=end, zones=zones)
    result = result.astype(object).where(result.notna(), None)
    metrics = {}
    for pid, row in result.to_dict(orient="index").items():
        if row["readings"]:
            # Unrounded: the page rounds once (glycemia.display).
            row["below_percent"] = row["very_low_percent"] + row["low_percent"]
            row["above_percent"] = row["high_percent"] + row["very_high_percent"]
        metrics[int(pid)] = row
    return metrics


def patient_erase(*, patient, by) -> dict:
    """Erase a patient on request: readings, treatments, device status, rollups, uploads (and
    their files on disk), reports, care plans, consents, visits, device tokens, the Nightscout
    link, triage, and the record itself. The patient's account is deactivated and stripped of
    personal fields; its calendar feed address and two-factor devices are removed.

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
