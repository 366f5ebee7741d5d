"""Visit tasks: thin, take ids, acknowledge late, safe to run twice.

A message row's unique key (visit, kind, visit start) and a conditional-update claim make
each reminder, "moved" or "cancelled" message go out once (``visit_message_send``); a worker
killed mid-send leaves the message unacknowledged and the claim expires, so the redelivered
task sends it. The day lists are kept to one per clinician and day by a unique constraint.
"""

import datetime as dt

from celery import shared_task
from django.conf import settings

from visits.services import (
    booking_invite_deliver,
    clinician_day_lists,
    reminders_due,
    visit_message_send,
    waitlist_offer_deliver,
)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_visit_message(self, visit_id: int, kind: str, visit_start: str) -> str:
    status = visit_message_send(
        visit_id=visit_id, kind=kind, visit_start=dt.datetime.fromisoformat(visit_start)
    )
    if status == "busy":  # another worker holds the claim: look again once it may have lapsed
        raise self.retry(countdown=settings.VISIT_MESSAGE_LEASE_SECONDS, max_retries=5)
    return status


@shared_task(acks_late=True, ignore_result=True)
def enqueue_visit_reminders() -> int:
    """The beat task ("visits: reminders"): one send_visit_message per visit coming up."""
    due = reminders_due()
    for visit_id, start in due:
        send_visit_message.delay(visit_id, "reminder", start)
    return len(due)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_clinician_day_lists() -> int:
    """The beat task ("visits: clinicians' day lists"): tomorrow's visits to each clinician."""
    return clinician_day_lists()


@shared_task(acks_late=True, ignore_result=True)
def send_booking_invite(attempt_id: int) -> str:
    """A booking invite (issue #19 §1), sent once: the attempt row is claimed before sending."""
    return booking_invite_deliver(attempt_id=attempt_id)


@shared_task(acks_late=True, ignore_result=True)
def send_waitlist_offer(offer_id: int) -> str:
    """A freed time offered to a waiting patient (issue #19 §5), sent once: claimed first."""
    return waitlist_offer_deliver(offer_id=offer_id)
