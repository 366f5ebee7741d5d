"""Demo reports: the current and the previous period's report for each demo patient.

Called by ``seed_demo`` after it has loaded readings. Clinicians get unread entries for the
current reports only (the previous ones are history).
"""

import datetime as dt

from patients.models import Patient
from reports.services import last_full_local_day, plan_cadence_days, report_generate


def seed_reports(patient_ids) -> int:
    """Generate both reports per patient (idempotent); returns how many were created."""
    created = 0
    for patient in Patient.objects.filter(pk__in=list(patient_ids)):
        end = last_full_local_day(patient)
        previous_end = end - dt.timedelta(days=plan_cadence_days(patient))
        for period_end, notify in ((previous_end, False), (end, True)):
            report = report_generate(patient_id=patient.pk, period_end=period_end, notify=notify)
            created += bool(report and report.was_created)
    return created
