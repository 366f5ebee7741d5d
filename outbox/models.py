import uuid

from django.db import models


class OutboxTask(models.Model):
    """One piece of deferred work, recorded in the transaction that made it necessary.

    The row is the truth, the broker message only a courier: the row is written with the data
    (an upload, a moved visit), sent to the broker once that transaction commits, and closed
    (``done_at``) by the worker when the task has run. A row never sent (the broker was down)
    or sent long ago and never closed (the broker lost it) is sent again by
    ``outbox.services.outbox_dispatch``. Tasks sent this way are idempotent, so a second
    delivery does nothing. The message's task id is ``task_id``, the same on every send.
    """

    task = models.CharField(max_length=200)  # the Celery task's name
    args = models.JSONField(default=list)  # ids and plain values, never patient data
    kwargs = models.JSONField(default=dict)
    task_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sends = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["sent_at"], name="outbox_open", condition=models.Q(done_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} ({'done' if self.done_at else 'open'})"


class Heartbeat(models.Model):
    """The last time a part of the pipeline showed it was alive (one row per ``name``).

    ``worker``: a worker ran the heartbeat task (beat sends it every minute; a worker also
    beats as it starts). ``beat``: beat sent it (recorded in the beat process as it publishes,
    so a dead worker or broker does not hide a living beat). ``GET /health/`` reads them.
    The rows live here, on the outbox's floor, because they describe the same machinery the
    outbox already watches (broker, workers, beat) and every app above may read them.
    """

    name = models.CharField(max_length=40, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"


class Incident(models.Model):
    """A stretch of time during which alerting was degraded (``outbox.pipeline``).

    Opened when the evaluation lag passes 2 minutes or a heartbeat is older than 5 minutes,
    closed when both are back; at most one is open (a partial unique constraint, so two
    observers — beat, a worker, a ``/health/`` probe — cannot open two). ``notified_at`` is
    claimed by a conditional update before the notice goes out: one notice per incident.
    """

    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    is_open = models.BooleanField(default=True)
    reasons = models.JSONField(default=list)  # outbox.pipeline reasons, when it opened
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_open"], condition=models.Q(is_open=True), name="one_open_incident"
            )
        ]

    def __str__(self) -> str:
        return f"alerting degraded from {self.opened_at:%Y-%m-%d %H:%M} ({', '.join(self.reasons)})"
