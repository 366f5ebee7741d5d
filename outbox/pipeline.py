"""Is the pipeline healthy, and is alerting degraded? Pure rules (no Django, no Celery).

The pipeline that carries a reading to an alert is: the web process stores the reading and
records the evaluation task in the outbox; the broker carries it; a worker runs it; beat sends
the periodic work (the outbox dispatch that resends what the broker lost, the heartbeat). Any
of them may stop without a sound. ``outbox.health`` observes them (``Observation``) and these
rules judge what it saw:

- **healthy** (``GET /health/`` answers 200) when every check passes: the database answers,
  the broker accepts a connection, a worker ran the heartbeat task and beat sent it within
  ``HEARTBEAT_LIMIT``, the oldest open outbox row is younger than the backlog limit (a
  setting) and the alert-evaluation lag is within ``LAG_LIMIT``; otherwise 503.
- **alerting degraded** (an incident: the admins and the on-call clinician are told once, and
  clinicians' pages show a banner) when the evaluation lag passes ``LAG_LIMIT`` or a heartbeat
  (the worker's or beat's) is older than ``HEARTBEAT_LIMIT`` — issue #20 §5. A heartbeat
  never recorded counts as too old: alerting that never ran is not working.

The **evaluation lag** is the age of the oldest outbox row of the monitoring evaluation task
(``EVALUATION_TASK``) that no worker has finished: how long the newest readings have waited to
be looked at. With none waiting the lag is zero.

>>> import datetime as dt
>>> now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
>>> fresh = now - dt.timedelta(seconds=30)
>>> degraded_reasons(Observation(now=now, worker_beat_at=fresh, beat_tick_at=fresh))
[]
>>> degraded_reasons(Observation(now=now, worker_beat_at=fresh, beat_tick_at=fresh,
...     evaluation_oldest_at=now - dt.timedelta(minutes=3)))
['evaluation_lag']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The Celery task name the monitoring app's evaluation registers under
# (``@shared_task(name=EVALUATION_TASK)``): its open outbox rows are the evaluation lag.
EVALUATION_TASK = "monitoring.tasks.evaluate_patient"

# Issue #20 §5: "when the lag passes 2 minutes or a heartbeat is older than 5 minutes".
LAG_LIMIT = dt.timedelta(minutes=2)
HEARTBEAT_LIMIT = dt.timedelta(minutes=5)

# The names of the two heartbeats (``outbox.models.Heartbeat.name``).
WORKER = "worker"  # a worker ran the heartbeat task
BEAT = "beat"  # beat sent it

# Why alerting is degraded (stored on the incident, named in the notice).
EVALUATION_LAG = "evaluation_lag"
WORKER_SILENT = "worker_heartbeat"
BEAT_SILENT = "beat_tick"


@dataclass(frozen=True)
class Observation:
    """What ``outbox.health.observe`` saw at ``now`` (aware datetimes; None = never / none).

    ``database_ok`` False means nothing else could be read: the other fields are then None.
    """

    now: dt.datetime
    database_ok: bool = True
    broker_ok: bool = True
    worker_beat_at: dt.datetime | None = None
    beat_tick_at: dt.datetime | None = None
    backlog_count: int = 0
    backlog_oldest_at: dt.datetime | None = None
    evaluation_pending: int = 0
    evaluation_oldest_at: dt.datetime | None = None


def age(now: dt.datetime, at: dt.datetime | None) -> dt.timedelta | None:
    """How long ago ``at`` was (never negative: a clock a little ahead counts as now).

    >>> now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    >>> age(now, now - dt.timedelta(seconds=90)).total_seconds()
    90.0
    >>> age(now, None) is None
    True
    """
    if at is None:
        return None
    return max(now - at, dt.timedelta(0))


def evaluation_lag(obs: Observation) -> dt.timedelta:
    """The age of the oldest unfinished evaluation; zero when none waits."""
    return age(obs.now, obs.evaluation_oldest_at) or dt.timedelta(0)


def heartbeat_fresh(now: dt.datetime, at: dt.datetime | None) -> bool:
    """At most ``HEARTBEAT_LIMIT`` old (5 minutes exactly is still fresh); never = stale."""
    seen = age(now, at)
    return seen is not None and seen <= HEARTBEAT_LIMIT


def degraded_reasons(obs: Observation) -> list[str]:
    """Why alerting is degraded now (empty: it is not). With the database away nothing can
    be judged (and no incident recorded): that is ``unhealthy_checks``' to report."""
    if not obs.database_ok:
        return []
    reasons = []
    if evaluation_lag(obs) > LAG_LIMIT:
        reasons.append(EVALUATION_LAG)
    if not heartbeat_fresh(obs.now, obs.worker_beat_at):
        reasons.append(WORKER_SILENT)
    if not heartbeat_fresh(obs.now, obs.beat_tick_at):
        reasons.append(BEAT_SILENT)
    return reasons


def unhealthy_checks(obs: Observation, *, backlog_limit: dt.timedelta) -> list[str]:
    """The checks that fail (empty: ``/health/`` answers 200), in the order ``/health/``
    lists them: ``database``, ``broker``, ``worker_heartbeat``, ``beat_tick``, ``outbox``,
    ``alert_evaluation``.

    >>> now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    >>> unhealthy_checks(Observation(now=now, database_ok=False),
    ...     backlog_limit=dt.timedelta(minutes=15))
    ['database']
    """
    if not obs.database_ok:
        return ["database"] + ([] if obs.broker_ok else ["broker"])
    failing = []
    if not obs.broker_ok:
        failing.append("broker")
    if not heartbeat_fresh(obs.now, obs.worker_beat_at):
        failing.append("worker_heartbeat")
    if not heartbeat_fresh(obs.now, obs.beat_tick_at):
        failing.append("beat_tick")
    backlog_age = age(obs.now, obs.backlog_oldest_at)
    if backlog_age is not None and backlog_age > backlog_limit:
        failing.append("outbox")
    if evaluation_lag(obs) > LAG_LIMIT:
        failing.append("alert_evaluation")
    return failing


OPEN, CLOSE = "open", "close"


def incident_step(*, incident_open: bool, reasons: list[str]) -> str | None:
    """What to do with the degraded-alerting incident: ``"open"`` one (and notify) when
    alerting became degraded, ``"close"`` the open one when it recovered, None otherwise.
    One incident per stretch of degradation, however many times it is observed.

    >>> incident_step(incident_open=False, reasons=["beat_tick"])
    'open'
    >>> incident_step(incident_open=True, reasons=["beat_tick"]) is None
    True
    >>> incident_step(incident_open=True, reasons=[])
    'close'
    """
    if reasons and not incident_open:
        return OPEN
    if not reasons and incident_open:
        return CLOSE
    return None
