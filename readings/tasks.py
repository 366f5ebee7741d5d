"""Background work for readings: thin wrappers that take primary keys."""

from celery import shared_task

from readings.services import (
    reading_partitions_ensure,
    rollups_rebuild_for,
    upload_in_progress,
    upload_process,
    upload_stale_after,
    uploads_sweep,
)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def process_upload(self, upload_id: int) -> None:
    """Import one upload; a second delivery finds it claimed and does not import it again.

    While another import of it is under way the task looks again once that import may have
    gone quiet: if its worker was killed, this delivery is the one that takes over (the
    message is not acknowledged as done before the upload is). Without this, a redelivered
    copy that met the claim of a worker about to die would end, and the upload would wait
    for the sweep.
    """
    if upload_process(upload_id=upload_id) is None and upload_in_progress(upload_id=upload_id):
        if not self.request.is_eager:
            raise self.retry(countdown=upload_stale_after().total_seconds() + 1, max_retries=None)


@shared_task(acks_late=True)
def rebuild_rollups(patient_id: int) -> None:
    """Recompute a patient's daily rollups (their time zone changed); safe to run twice."""
    rollups_rebuild_for(patient_id=patient_id)


@shared_task(acks_late=True)
def sweep_uploads() -> dict:
    """Periodic: re-queue or fail uploads whose worker died; drop old failed files."""
    return uploads_sweep()


@shared_task(acks_late=True)
def ensure_reading_partitions() -> list[str]:
    """Periodic (daily): the readings table's monthly partitions ahead, and those of months
    waiting in the DEFAULT partition (PostgreSQL; nothing on SQLite). Safe to run twice."""
    return reading_partitions_ensure()
