"""The pipeline observed: the checks of ``GET /health/``, the heartbeats, and the incident
that tells people once when alerting is degraded (issue #20 §5; the rules are
``outbox.pipeline``, pure).

- ``observe`` reads the database, the broker, the heartbeats and the outbox into an
  ``Observation``; ``health_report`` turns it into ``/health/``'s JSON (counts and ages only:
  no patient data, no host names, no credentials).
- ``heartbeat_record`` stores a heartbeat: ``outbox.tasks.heartbeat`` (the worker's, beat
  sends it every minute), ``on_before_task_publish`` (beat's tick, in the beat process, as it
  sends that task), ``on_worker_ready`` and ``on_beat_init`` (as they start).
- ``pipeline_watch`` opens an ``Incident`` when alerting becomes degraded and notifies once,
  closes it when alerting recovers. It runs wherever the pipeline is seen: in the heartbeat
  task (a worker), in beat as it ticks (so a dead worker is noticed), and on every
  ``/health/`` probe (so dead workers *and* a dead beat are noticed by an outside prober).
- Who is told: every hook registered with ``register_notice_recipients`` — the project
  registers the admins (``diabetes_center.apps``); the monitoring app may register its
  on-call clinician. Each is told by e-mail, in their language.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from outbox import pipeline
from outbox.models import Heartbeat, Incident, OutboxTask

logger = logging.getLogger(__name__)

HEARTBEAT_TASK = "outbox.tasks.heartbeat"
BROKER_TIMEOUT_SECONDS = 2  # a probe must answer quickly, whatever the broker does
SERVERLESS_TRANSPORTS = ("filesystem", "memory")  # kombu transports with no broker server


# --- who is told -----------------------------------------------------------------------------

_recipient_hooks: list[Callable] = []


def register_notice_recipients(hook: Callable) -> None:
    """Add ``hook(now) -> iterable of users`` (each with ``email`` and ``language``) to
    those told that alerting is degraded. Registering the same hook twice adds it once.

    >>> register_notice_recipients(lambda now: User.objects.filter(role="admin"))  # doctest: +SKIP
    """
    if hook not in _recipient_hooks:
        _recipient_hooks.append(hook)


def notice_recipients(now: dt.datetime) -> list:
    """Every registered hook's people with an e-mail address, each once."""
    seen, people = set(), []
    for hook in _recipient_hooks:
        try:
            found = list(hook(now))
        except Exception:  # one broken hook must not silence the others
            logger.exception("pipeline: notice recipients hook %r failed", hook)
            continue
        for person in found:
            email = (getattr(person, "email", "") or "").strip().lower()
            if email and email not in seen:
                seen.add(email)
                people.append(person)
    return people


# --- heartbeats ------------------------------------------------------------------------------


def heartbeat_record(name: str, *, now: dt.datetime | None = None) -> None:
    """Store ``now`` as the last heartbeat of ``name`` (``pipeline.WORKER``, ``BEAT``)."""
    now = now or timezone.now()
    if Heartbeat.objects.filter(name=name).update(at=now):
        return
    try:
        with transaction.atomic():
            Heartbeat.objects.create(name=name, at=now)
    except IntegrityError:  # another process created it meanwhile
        Heartbeat.objects.filter(name=name).update(at=now)


def on_before_task_publish(sender=None, **kwargs) -> None:
    """celery ``before_task_publish``: beat is sending the heartbeat task — record beat's tick
    and look at the pipeline from here (a dead worker cannot). Never disturbs the sender."""
    if sender != HEARTBEAT_TASK:
        return
    try:
        if not connection.in_atomic_block:  # beat is a long-lived process: no stale socket
            close_old_connections()
        now = timezone.now()
        heartbeat_record(pipeline.BEAT, now=now)
        if _beat_started_at is None or now - _beat_started_at > pipeline.HEARTBEAT_LIMIT:
            pipeline_watch(check_broker=False)
    except Exception:  # noqa: BLE001  (the database may be away: /health/ says so)
        logger.warning("pipeline: beat tick not recorded", exc_info=True)


_beat_started_at: dt.datetime | None = None


def on_beat_init(**kwargs) -> None:
    """celery ``beat_init``: beat has started. For its first ``HEARTBEAT_LIMIT`` beat records
    its ticks but does not judge the worker: after a restart the worker's heartbeat is still
    the one from before, and the worker gets those minutes to show up (a ``/health/`` probe
    still judges at once)."""
    global _beat_started_at
    _beat_started_at = timezone.now()
    try:
        heartbeat_record(pipeline.BEAT, now=_beat_started_at)
    except Exception:  # noqa: BLE001
        logger.warning("pipeline: beat start not recorded", exc_info=True)


def on_worker_ready(**kwargs) -> None:
    """celery ``worker_ready``: a worker has started (before beat's next minute comes)."""
    try:
        heartbeat_record(pipeline.WORKER)
    except Exception:  # noqa: BLE001
        logger.warning("pipeline: worker start not recorded", exc_info=True)


# --- what is seen ----------------------------------------------------------------------------


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except DatabaseError:
        return False


def broker_url() -> str:
    return current_app.conf.broker_url or ""


def queue_folders() -> set[str]:
    """The filesystem transport's folders (``CELERY_BROKER_TRANSPORT_OPTIONS``)."""
    options = current_app.conf.broker_transport_options or {}
    return {options.get("data_folder_in", ""), options.get("data_folder_out", "")}


def broker_state() -> dict:
    """Whether the Celery broker takes a connection. The embedded default (kombu's
    filesystem transport) has no server: a folder of message files, checked for being
    there and writable, which only workers on this machine can read."""
    url = broker_url()
    transport = url.split("://", 1)[0] or "amqp"
    state = {"transport": transport, "server": transport not in SERVERLESS_TRANSPORTS}
    try:
        if transport == "filesystem":
            folders = queue_folders()
            ok = all(f and os.path.isdir(f) and os.access(f, os.W_OK) for f in folders)
            state["ok"] = ok
            if not ok:
                state["error"] = "queue folder missing or not writable"
            return state
        # The URL's own transport: ``broker_transport`` names the embedded one's class.
        with current_app.connection_for_write(
            url, transport=transport, connect_timeout=BROKER_TIMEOUT_SECONDS
        ) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
            )
        state["ok"] = True
    except Exception as exc:  # noqa: BLE001  (kombu, redis and socket errors all mean "no")
        state["ok"] = False
        state["error"] = type(exc).__name__
    return state


def observe(*, now: dt.datetime | None = None, check_broker: bool = True) -> tuple:
    """(``pipeline.Observation``, the broker's state) as seen now."""
    now = now or timezone.now()
    broker = broker_state() if check_broker else {"ok": True, "skipped": True}
    if not database_ok():
        return pipeline.Observation(now=now, database_ok=False, broker_ok=broker["ok"]), broker
    live = Q(sends__lt=settings.OUTBOX_MAX_SENDS)
    evaluation = Q(task=pipeline.EVALUATION_TASK)
    figures = OutboxTask.objects.filter(done_at=None).aggregate(
        backlog=Count("pk", filter=live),
        oldest=Min("created_at", filter=live),
        evaluations=Count("pk", filter=evaluation),
        evaluation_oldest=Min("created_at", filter=evaluation),
    )
    beats = dict(Heartbeat.objects.values_list("name", "at"))
    return (
        pipeline.Observation(
            now=now,
            database_ok=True,
            broker_ok=broker["ok"],
            worker_beat_at=beats.get(pipeline.WORKER),
            beat_tick_at=beats.get(pipeline.BEAT),
            backlog_count=figures["backlog"],
            backlog_oldest_at=figures["oldest"],
            evaluation_pending=figures["evaluations"],
            evaluation_oldest_at=figures["evaluation_oldest"],
        ),
        broker,
    )


def backlog_limit() -> dt.timedelta:
    return dt.timedelta(seconds=settings.HEALTH_BACKLOG_MAX_AGE_SECONDS)


def given_up_count() -> int:
    """Outbox rows sent ``OUTBOX_MAX_SENDS`` times and never done: they need a person."""
    return OutboxTask.objects.filter(done_at=None, sends__gte=settings.OUTBOX_MAX_SENDS).count()


def _seconds(delta: dt.timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 1)


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def health_report(obs: pipeline.Observation, broker: dict) -> dict:
    """``/health/``'s answer: ``status`` "ok" or "failing", and each check with ``ok``."""
    failing = pipeline.unhealthy_checks(obs, backlog_limit=backlog_limit())
    checks: dict = {"database": {"ok": obs.database_ok}, "broker": broker}
    checks["broker"].setdefault("ok", obs.broker_ok)
    incident = None
    if obs.database_ok:
        for key, at in (("worker_heartbeat", obs.worker_beat_at), ("beat_tick", obs.beat_tick_at)):
            checks[key] = {
                "ok": key not in failing,
                "last": _iso(at),
                "age_seconds": _seconds(pipeline.age(obs.now, at)),
                "limit_seconds": _seconds(pipeline.HEARTBEAT_LIMIT),
            }
        checks["outbox"] = {
            "ok": "outbox" not in failing,
            "backlog": obs.backlog_count,
            "oldest_age_seconds": _seconds(pipeline.age(obs.now, obs.backlog_oldest_at)),
            "limit_seconds": _seconds(backlog_limit()),
            "given_up": given_up_count(),
        }
        checks["alert_evaluation"] = {
            "ok": "alert_evaluation" not in failing,
            "pending": obs.evaluation_pending,
            "lag_seconds": _seconds(pipeline.evaluation_lag(obs)),
            "limit_seconds": _seconds(pipeline.LAG_LIMIT),
        }
        incident = Incident.objects.filter(is_open=True).first()
    return {
        "status": "failing" if failing else "ok",
        "checked_at": _iso(obs.now),
        "failing": failing,
        "alerting_degraded": bool(incident),
        "incident_since": _iso(incident.opened_at) if incident else None,
        "checks": checks,
    }


# --- the incident ----------------------------------------------------------------------------


def alerting_degraded() -> bool:
    """Is a degraded-alerting incident open (the banner's question)?"""
    return Incident.objects.filter(is_open=True).exists()


def pipeline_watch(
    *, observation: pipeline.Observation | None = None, check_broker: bool = True
) -> Incident | None:
    """Open, keep or close the degraded-alerting incident for what is seen now, and send
    its notice if not sent yet. Returns the open incident (None: alerting is fine, or the
    database is away and nothing can be recorded). Safe to run twice and concurrently."""
    obs = observation or observe(check_broker=check_broker)[0]
    if not obs.database_ok:
        return None
    reasons = pipeline.degraded_reasons(obs)
    current = Incident.objects.filter(is_open=True).first()
    step = pipeline.incident_step(incident_open=current is not None, reasons=reasons)
    if step == pipeline.CLOSE:
        Incident.objects.filter(pk=current.pk, is_open=True).update(
            is_open=False, closed_at=obs.now
        )
        logger.warning("pipeline: alerting recovered (incident %s closed)", current.pk)
        return None
    if step == pipeline.OPEN:
        try:
            with transaction.atomic():
                current = Incident.objects.create(opened_at=obs.now, reasons=reasons)
            logger.error("pipeline: alerting is degraded (%s)", ", ".join(reasons))
        except IntegrityError:  # another observer opened it a moment ago
            current = Incident.objects.filter(is_open=True).first()
    if current is not None and current.notified_at is None:
        incident_notify(incident=current, observation=obs)
    return current


def incident_notify(*, incident: Incident, observation: pipeline.Observation) -> int:
    """Send the incident's notice once: ``notified_at`` is claimed by a conditional update
    first (two observers: one sends), and given back if sending fails (the next watch tries
    again). Returns the number of people told."""
    claimed = Incident.objects.filter(pk=incident.pk, notified_at=None).update(
        notified_at=observation.now
    )
    if not claimed:
        return 0
    try:
        people = notice_recipients(observation.now)
        for person in people:
            with translation.override(getattr(person, "language", "") or settings.LANGUAGE_CODE):
                subject, body = notice_text(incident.reasons, observation)
            send_mail(subject, body, None, [person.email])
    except Exception:
        Incident.objects.filter(pk=incident.pk).update(notified_at=None)
        raise
    if not people:
        logger.error("pipeline: alerting is degraded and nobody could be told (no recipients)")
    return len(people)


def _minutes(delta: dt.timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds() // 60)


def notice_text(reasons: list[str], obs: pipeline.Observation) -> tuple[str, str]:
    """The notice's subject and body in the active language (no patient data)."""
    lines = []
    if pipeline.EVALUATION_LAG in reasons:
        minutes = _minutes(pipeline.evaluation_lag(obs)) or 0
        lines.append(
            ngettext(
                "New readings have waited %(minutes)d minute to be checked for alerts.",
                "New readings have waited %(minutes)d minutes to be checked for alerts.",
                minutes,
            )
            % {"minutes": minutes}
        )
    for reason, at, never, since in (
        (
            pipeline.WORKER_SILENT,
            obs.worker_beat_at,
            _("No Celery worker has ever shown a heartbeat."),
            ngettext(
                "No Celery worker has shown a heartbeat for %(minutes)d minute.",
                "No Celery worker has shown a heartbeat for %(minutes)d minutes.",
                _minutes(pipeline.age(obs.now, obs.worker_beat_at)) or 0,
            ),
        ),
        (
            pipeline.BEAT_SILENT,
            obs.beat_tick_at,
            _("Celery beat has never ticked."),
            ngettext(
                "Celery beat has not ticked for %(minutes)d minute.",
                "Celery beat has not ticked for %(minutes)d minutes.",
                _minutes(pipeline.age(obs.now, obs.beat_tick_at)) or 0,
            ),
        ),
    ):
        if reason in reasons:
            minutes = _minutes(pipeline.age(obs.now, at))
            lines.append(never if minutes is None else since % {"minutes": minutes})
    lines.append(
        _(
            "Until this is fixed, alerts about patients' readings may be late or missing: "
            "check on patients at risk by other means. The state of each part: %(url)s"
        )
        % {"url": f"{settings.SITE_URL}/health/"}
    )
    lines.append(
        _(
            "This is the only notice for this incident; the banner on clinicians' pages "
            "stays while it lasts."
        )
    )
    return _("Diabetes Center: alerting is degraded"), "\n\n".join(lines)
