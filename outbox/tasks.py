"""Outbox task: the beat schedule "outbox: dispatch" runs it every minute."""

from celery import shared_task

from outbox.services import outbox_dispatch, outbox_prune


@shared_task(acks_late=True, ignore_result=True)
def dispatch_outbox() -> dict:
    """Send deferred work recorded while the broker was away; safe to run twice. Rows closed
    long ago are deleted on the way (``outbox_prune``)."""
    outbox_prune()
    return outbox_dispatch()
