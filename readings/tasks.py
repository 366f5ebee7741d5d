"""Background work for readings: thin wrappers that take primary keys."""

from celery import shared_task

from readings.services import upload_process


@shared_task(acks_late=True)
def process_upload(upload_id: int) -> None:
    """Import one upload; a second delivery finds it claimed and does nothing."""
    upload_process(upload_id=upload_id)
