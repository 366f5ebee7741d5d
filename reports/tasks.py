"""Report tasks: thin, take ids, safe to run twice (the report's unique key absorbs repeats).

``acks_late`` + ``reject_on_worker_lost``: a worker killed in the middle of a report leaves the
message unacknowledged, the broker redelivers it, and the second run creates the one report.
"""

from celery import shared_task

from reports.services import report_generate, reports_due


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def generate_report(patient_id: int, only_if_due: bool = False) -> int | None:
    report = report_generate(patient_id=patient_id, only_if_due=only_if_due)
    return report.pk if report else None


@shared_task(acks_late=True, ignore_result=True)
def enqueue_due_reports() -> int:
    """The beat task ("reports: due check"): one generate_report per due patient."""
    due = reports_due()
    for patient_id in due:
        generate_report.delay(patient_id, only_if_due=True)
    return len(due)
