"""Background work for readings: thin wrappers that take primary keys."""

from celery import shared_task

from readings.services import rollups_rebuild_for, upload_process, uploads_sweep


@shared_task(acks_late=True)
def process_upload(upload_id: int) -> None:
    """Import one upload; a second delivery finds it claimed and does nothing."""
    upload_process(upload_id=upload_id)


@shared_task(acks_late=True)
def rebuild_rollups(patient_id: int) -> None:
    """Recompute a patient's daily rollups (their time zone changed); safe to run twice."""
    rollups_rebuild_for(patient_id=patient_id)


@shared_task(acks_late=True)
def sweep_uploads() -> dict:
    """Periodic: re-queue or fail uploads whose worker died; drop old failed files."""
    return uploads_sweep()
