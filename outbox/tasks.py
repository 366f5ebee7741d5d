"""Outbox tasks: the beat schedules "outbox: dispatch" and "outbox: heartbeat" run them every
minute."""

from celery import shared_task
from django.utils import timezone

from outbox import pipeline
from outbox.health import heartbeat_record, pipeline_watch
from outbox.services import outbox_dispatch, outbox_prune


@shared_task(acks_late=True, ignore_result=True)
def dispatch_outbox() -> dict:
    """Send deferred work recorded while the broker was away; safe to run twice. Rows closed
    long ago are deleted on the way (``outbox_prune``)."""
    outbox_prune()
    return outbox_dispatch()


@shared_task(acks_late=True, ignore_result=True)
def heartbeat() -> bool:
    """A worker is alive: record it, then look at the pipeline (opens or closes the
    degraded-alerting incident, ``outbox.health.pipeline_watch``). Safe to run twice.
    Returns whether alerting is degraded."""
    heartbeat_record(pipeline.WORKER, now=timezone.now())
    return pipeline_watch(check_broker=False) is not None
