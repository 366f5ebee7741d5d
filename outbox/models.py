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
