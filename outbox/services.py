"""A transactional outbox for Celery tasks: deferred work survives a broker that is down.

``task_enqueue(task, *args)`` writes an ``OutboxTask`` row in the caller's transaction and,
once that transaction commits, sends the task with the row's ``task_id``. If the broker does
not answer, the caller is not disturbed (an upload still answers 201/202): the row stays
unsent and ``outbox_dispatch`` sends it later — from the beat task "outbox: dispatch" (every
minute), from every worker as it starts (``worker_ready``) and from
``python manage.py dispatch_outbox``. The worker closes the row when the task has run
(``task_success`` / ``task_failure``); a row sent but never closed within
``OUTBOX_RESEND_AFTER_SECONDS`` (the broker lost the message: Redis restarted without
persistence) is sent again. Every task sent this way must be safe to run twice.
"""

import datetime as dt
import logging
import uuid

from celery import current_app
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from outbox.models import OutboxTask

logger = logging.getLogger(__name__)

# One quick retry, then give up: the row is the retry (a web request must not wait for Redis).
SEND_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
# A message header the outbox puts on what it sends, so the worker closes a row only for the
# tasks that have one: every other task (report generation, beat's jobs, triage) would cost an
# UPDATE that matches nothing, one round trip per task (#23).
OUTBOX_HEADER = "outbox"


def task_enqueue(task, *args, **kwargs) -> OutboxTask:
    """Record ``task(*args, **kwargs)`` now; send it when the current transaction commits.

    ``task`` is a Celery task or its registered name (``"readings.tasks.process_upload"``):
    services name the task, so a services module never imports the tasks module that calls
    it (tasks → services, one way). An unknown name raises ``KeyError`` here, at once."""
    name = task if isinstance(task, str) else task.name
    task_named(name)
    row = OutboxTask.objects.create(task=name, args=list(args), kwargs=kwargs)
    # With a real broker, a send that fails after the commit must not turn the committed
    # request into an error (the row is still there for the dispatcher): robust. Eager (unit
    # tests, the embedded default) the task runs here, and its errors surface as they would.
    transaction.on_commit(lambda: _send(row.pk), robust=not current_app.conf.task_always_eager)
    return row


def task_named(name: str):
    """The Celery task registered as ``name``. A process imports an app's tasks module only
    when something uses it (a worker imports them all as it starts): a name not registered yet
    imports every installed app's ``tasks`` module first (Celery's autodiscovery)."""
    if name not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)
    return current_app.tasks[name]


def _claim(row_pk: int, sent_at, now) -> bool:
    return bool(
        OutboxTask.objects.filter(pk=row_pk, sent_at=sent_at, done_at=None).update(
            sent_at=now, sends=F("sends") + 1
        )
    )


def _send(row_pk: int, *, expected_sent_at=None, now=None) -> bool | None:
    """Claim the row (conditional update: one sender wins) and publish it.

    True: sent; False: the broker did not answer (the row is left for the dispatcher);
    None: someone else sent or finished it.
    """
    now = now or timezone.now()
    if not _claim(row_pk, expected_sent_at, now):
        return None
    row = OutboxTask.objects.get(pk=row_pk)
    headers = {OUTBOX_HEADER: 1}
    if current_app.conf.task_always_eager:  # unit tests: the task runs here and now
        task_named(row.task).apply_async(
            row.args, row.kwargs, task_id=str(row.task_id), headers=headers
        )
        return True
    try:
        task_named(row.task).apply_async(
            row.args,
            row.kwargs,
            task_id=str(row.task_id),
            headers=headers,
            retry=True,
            retry_policy=SEND_RETRY_POLICY,
        )
    except Exception as exc:  # noqa: BLE001  (kombu/redis raise several types; the row retries)
        logger.warning("outbox %s: %s not sent (%s); kept for later", row.pk, row.task, exc)
        OutboxTask.objects.filter(pk=row.pk, sent_at=now).update(
            sent_at=expected_sent_at, last_error=f"not sent: {exc}"[:1000]
        )
        return False
    return True


def outbox_dispatch(*, now: dt.datetime | None = None, limit: int = 1000) -> dict:
    """Send rows never sent, and rows sent long ago but never closed. Safe to run twice.

    Stops at the first row the broker refuses (it is down: the next run tries again).
    """
    now = now or timezone.now()
    rows = (
        OutboxTask.objects.filter(done_at=None, sends__lt=settings.OUTBOX_MAX_SENDS)
        .filter(Q(sent_at=None) | _sent_long_ago(now))
        .order_by("pk")
        .values_list("pk", "sent_at")[:limit]
    )
    counts = {"sent": 0, "skipped": 0, "broker_down": False}
    for pk, sent_at in list(rows):
        try:
            outcome = _send(pk, expected_sent_at=sent_at, now=now)
        except Exception:  # one bad row (a task since renamed…) must not stop the others
            logger.exception("outbox %s: could not be sent", pk)
            counts["skipped"] += 1
            continue
        if outcome is False:
            counts["broker_down"] = True
            break
        counts["sent" if outcome else "skipped"] += 1
    return counts


def _queue_prefixes(queue: str) -> list[str]:
    """Task-name prefixes that ``CELERY_TASK_ROUTES`` sends to ``queue`` ("monitoring.tasks.*"
    gives "monitoring.tasks."; an exact name stays whole)."""
    routes = getattr(settings, "CELERY_TASK_ROUTES", {}) or {}
    return [
        pattern.removesuffix("*")
        for pattern, route in routes.items()
        if isinstance(route, dict) and route.get("queue") == queue
    ]


def _sent_long_ago(now: dt.datetime) -> Q:
    """Rows sent and not closed for longer than their queue's resend delay.

    A message can be lost in flight without Redis failing: kombu's Redis transport removes it
    from the queue (BRPOP) before the worker records it as unacknowledged, so a worker killed
    in between (SIGKILL, the OOM killer) takes it with it; no visibility timeout brings it back
    (celery/celery#4354, kombu#305; seen in tests/faults). The outbox is what recovers it.
    ``OUTBOX_RESEND_AFTER_SECONDS`` (an hour) suits long imports; queues in
    ``OUTBOX_RESEND_AFTER_SECONDS_BY_QUEUE`` (remote monitoring: its alerts and their
    notifications run in well under a second, and a clinician waits for them) are sent again
    sooner. Every task is idempotent, so a resend of one that was only slow changes nothing.
    """
    special = getattr(settings, "OUTBOX_RESEND_AFTER_SECONDS_BY_QUEUE", {}) or {}
    default = now - dt.timedelta(seconds=settings.OUTBOX_RESEND_AFTER_SECONDS)
    condition, covered = Q(), Q()
    for queue, seconds in special.items():
        names = Q()
        for prefix in _queue_prefixes(queue):
            names |= Q(task__startswith=prefix) if prefix.endswith(".") else Q(task=prefix)
        if not names:
            continue
        condition |= names & Q(sent_at__lt=now - dt.timedelta(seconds=seconds))
        covered |= names
    return condition | (~covered & Q(sent_at__lt=default)) if covered else Q(sent_at__lt=default)


DONE_KEPT = dt.timedelta(days=30)  # closed rows stay this long (to look into), then go


def outbox_prune(*, now: dt.datetime | None = None) -> int:
    """Delete rows closed more than ``DONE_KEPT`` ago; log the rows given up on (sent
    ``OUTBOX_MAX_SENDS`` times and never closed: their work needs a person). Returns the
    number deleted."""
    now = now or timezone.now()
    deleted, _ = OutboxTask.objects.filter(done_at__lt=now - DONE_KEPT).delete()
    stuck = OutboxTask.objects.filter(done_at=None, sends__gte=settings.OUTBOX_MAX_SENDS)
    for pk, task in stuck.values_list("pk", "task")[:100]:
        logger.error(
            "outbox %s: %s sent %s times and never done", pk, task, settings.OUTBOX_MAX_SENDS
        )
    return deleted


def _close(task_id, error: str = "") -> None:
    """Close the row of this task id, if it is an outbox task (other tasks match no row)."""
    try:
        key = uuid.UUID(str(task_id))
    except ValueError:
        return  # not a task id at all
    OutboxTask.objects.filter(task_id=key, done_at=None).update(
        done_at=timezone.now(), last_error=error[:1000]
    )


def from_outbox(request) -> bool:
    """Whether the task being run was sent by the outbox (its message has ``OUTBOX_HEADER``).

    Celery puts a message's own headers in ``request.headers``, on a worker as when eager."""
    return bool((getattr(request, "headers", None) or {}).get(OUTBOX_HEADER))


def on_task_success(sender=None, **kwargs) -> None:
    """celery ``task_success``: the row's work is done. Tasks not sent by the outbox have no
    row: nothing to ask the database."""
    request = getattr(sender, "request", None)
    if request is not None and from_outbox(request):
        _close(getattr(request, "id", None))


def on_task_failure(sender=None, task_id=None, exception=None, **kwargs) -> None:
    """celery ``task_failure``: the task ran and raised; sending it again would not help."""
    _close(task_id, f"failed: {exception!r}")


def on_worker_ready(**kwargs) -> None:
    """celery ``worker_ready``: a worker coming up (the broker is back) sends what waited."""
    try:
        counts = outbox_dispatch()
        logger.info("outbox dispatched at worker start: %s", counts)
    except Exception:  # noqa: BLE001  (the database may be away too: beat tries again)
        logger.warning("outbox: dispatch at worker start failed", exc_info=True)
    finally:
        connections.close_all()  # the main process keeps no connection its children share
