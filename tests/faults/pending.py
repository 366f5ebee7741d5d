"""Work still pending in a kill test: beat's outbox dispatch while the test waits, and, when
the work never settles, what to print to tell a lost message (never received by any worker)
from a blocked redelivery (still in kombu's unacked set, or its restore mutex held) from a
task that ran and failed."""

import time

from outbox.models import OutboxTask
from outbox.services import outbox_dispatch


def with_outbox_dispatch(condition, every: float = 3.0):
    """``condition`` that first runs ``outbox_dispatch`` (at most every ``every`` seconds), as
    beat's "outbox: dispatch" does in production: a message lost in flight — a worker SIGKILLed
    between Redis's BRPOP and kombu's unacknowledged record, which no visibility timeout
    brings back (celery/celery#4354) — is sent again once its row is older than the resend
    delay. Without it, such a loss fails the test, as it did in about one run in four."""
    last = [0.0]

    def check() -> bool:
        if time.monotonic() - last[0] >= every:
            outbox_dispatch()
            last[0] = time.monotonic()
        return condition()

    return check


def work_left(redis, workers) -> str:
    logs = "".join(w.output() for w in workers)
    lines = [redis.describe()]
    for row in OutboxTask.objects.filter(done_at=None).order_by("pk"):
        tid = str(row.task_id)
        lines.append(
            f"outbox {row.pk} {row.task}{tuple(row.args)} id={tid} sends={row.sends} "
            f"sent_at={row.sent_at} received={logs.count(tid + '] received')} "
            f"in logs={logs.count(tid)} error={row.last_error[:200]!r}"
        )
    return "\n".join(lines)
