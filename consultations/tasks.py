"""Consultation tasks: thin, take ids, safe to run twice (the notice's claim)."""

from celery import shared_task

from consultations.services import answer_notice_send


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_answer_notice(self, message_id: int) -> str:
    status = answer_notice_send(message_id=message_id)
    if status == "busy":
        raise self.retry(countdown=300, max_retries=5)
    return status
