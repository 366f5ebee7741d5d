"""Evaluation on arrival (issue #20 §2): a bounded window of readings through the pure rules,
their answer stored as alert rows, idempotently.

- ``evaluation_enqueue`` runs inside the ingest's transaction (``monitoring.signals``): for an
  enrolled patient it records ``monitoring.tasks.evaluate_patient`` in the outbox, sent once
  the readings are committed.
- ``alerts_evaluate`` (the task's body) first evaluates without a lock and stops there when
  nothing would be written (most posts); otherwise it locks the patient's enrolment row (one
  evaluation per patient at a time, on every worker), reads the readings of the last
  ``rules.evaluation_window_seconds`` and the episodes that touch them, runs ``rules.evaluate``
  and applies its actions. Its cost depends on the window, never on the patient's history.
  A killed worker's transaction rolls back and the task is delivered again (acks late, the
  outbox); running it twice answers nothing new (the rules are idempotent, and the database
  refuses a second open alert per kind or a second episode per start).
- Back-filled history (a batch whose readings start before the window) goes through
  ``rules.past_episodes`` over the batch's span: recorded as past episodes, never alerted.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from monitoring import rules
from monitoring.models import Alert, Enrolment, Mute
from monitoring.services.enrolment import thresholds_of
from outbox.pipeline import EVALUATION_TASK
from readings.models import Reading

# The name /health/ watches for the evaluation lag (outbox.pipeline), one constant for both.
EVALUATE_TASK = EVALUATION_TASK
# A batch spanning more than this is evaluated for past episodes in pieces of this length,
# each with the window as margin (a year's file costs a year's readings once, in steps).
PAST_PIECE = dt.timedelta(days=7)


def evaluation_enqueue(*, patient_id: int, span=None) -> bool:
    """Record an evaluation of ``patient_id``'s new readings (``span``: (first, last) instants
    of the batch) if the patient is enrolled: one indexed lookup per post otherwise."""
    from outbox.services import task_enqueue

    if not Enrolment.objects.filter(patient_id=patient_id, active=True).exists():
        return False
    first, last = (None, None) if span is None else span
    task_enqueue(
        EVALUATE_TASK,
        patient_id,
        first.isoformat() if first else None,
        last.isoformat() if last else None,
    )
    return True


def _epoch(moment: dt.datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _instant(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _readings(patient_id: int, start: dt.datetime, end: dt.datetime):
    """(times, values, low markers) of the CGM readings in [start, end], epoch seconds."""
    rows = Reading.objects.filter(
        patient_id=patient_id, kind=Reading.Kind.CGM, timestamp__gte=start, timestamp__lte=end
    ).values_list("timestamp", "value_mg_dl", "flag")
    times, values, low = [], [], []
    for moment, value, flag in rows:
        times.append(moment.timestamp())
        values.append(value)
        low.append(flag == Reading.Flag.LOW)
    return times, values, low


def _known(patient_id: int, start: dt.datetime, end: dt.datetime | None = None) -> list:
    """Every open episode, and every one whose span touches [start, end]."""
    touching = Q(closed_at__gte=start) | Q(last_at__gte=start) | Q(closed_at=None)
    rows = Alert.objects.filter(patient_id=patient_id).filter(touching)
    if end is not None:
        rows = rows.filter(Q(since__lte=end) | Q(since=None, opened_at__lte=end))
    return list(rows)


def _fields(episode: rules.Episode) -> dict:
    return {
        "since": _instant(episode.since),
        "opened_at": _instant(episode.opened_at),
        "last_at": _instant(episode.last_at),
        "last_value": episode.last_value,
        "extreme": episode.extreme,
        "ended_at": _instant(episode.ended_at),
        "closed_at": _instant(episode.closed_at),
        "close_reason": episode.reason,
    }


def _muted_kinds(patient_id: int, now: dt.datetime) -> set[str]:
    kinds: set[str] = set()
    for mute in Mute.objects.filter(patient_id=patient_id, until__gt=now):
        kinds.update(mute.kinds)
    return kinds


def _evaluation(enrolment: Enrolment, now: dt.datetime, start: dt.datetime, th):
    """The rules' answer for the live window [start, now], and the known episodes by id."""
    patient_id = enrolment.patient_id
    times, values, low = _readings(patient_id, start, now + dt.timedelta(hours=1))
    known = {a.pk: a for a in _known(patient_id, start)}
    evaluation = rules.evaluate(
        times,
        values,
        low,
        now=now.timestamp(),
        episodes=[a.as_episode() for a in known.values()],
        thresholds=th,
        enrolled_at=_epoch(enrolment.enrolled_at),
    )
    return evaluation, known


def _nothing_to_do(patient_id: int, first: dt.datetime | None, now: dt.datetime) -> bool:
    """The same evaluation without a transaction or a lock: True when it would write nothing
    (no action, no past episode), the common case — a reading inside the target range.

    Why: on the embedded default (SQLite) every transaction takes the one write lock, so an
    evaluation that only reads would queue behind the web server's posts and make them queue
    behind it (bench monitoring --embedded). Reading outside the lock is safe because the
    answer is only used to skip: readings only grow and each post's evaluation runs after its
    readings commit, so the last evaluation of a patient sees every reading; whenever the
    answer is "write something", the evaluation runs again under the lock and decides there.
    """
    enrolment = (
        Enrolment.objects.select_related("patient").filter(patient_id=patient_id, active=True)
    ).first()
    if enrolment is None:
        return True
    th = thresholds_of(enrolment.patient, enrolment)
    start = now - dt.timedelta(seconds=rules.evaluation_window_seconds(th))
    if first is not None and first < start:
        return False  # a back-filled batch: past episodes to look for, under the lock
    evaluation, _known_by_id = _evaluation(enrolment, now, start, th)
    return not evaluation.actions and not evaluation.past


def alerts_evaluate(
    *, patient_id: int, first: dt.datetime | None = None, now: dt.datetime | None = None
) -> dict:
    """Evaluate the patient's recent readings (and, with ``first`` older than the window, the
    back-filled batch since ``first``) and store the answer. Returns counts by action."""
    from monitoring.services.delivery import alert_deliver

    now = now or timezone.now()
    counts = {"open": 0, "update": 0, "close": 0, "past": 0}
    if _nothing_to_do(patient_id, first, now):
        return counts
    with transaction.atomic():
        enrolment = (
            Enrolment.objects.select_for_update()
            .select_related("patient")
            .filter(patient_id=patient_id, active=True)
            .first()
        )
        if enrolment is None:
            return counts
        th = thresholds_of(enrolment.patient, enrolment)
        window = dt.timedelta(seconds=rules.evaluation_window_seconds(th))
        start = now - window
        if first is not None and first < start:
            counts["past"] += _past(patient_id, first, start, th)
        evaluation, known = _evaluation(enrolment, now, start, th)
        _test_delay()
        muted = _muted_kinds(patient_id, now)
        for action in evaluation.actions:
            episode = action.episode
            if action.action == "open":
                alert = _open(patient_id, episode, known, muted=episode.kind in muted)
                if alert is not None:
                    counts["open"] += 1
                    if not alert.muted:
                        alert_deliver(alert=alert, now=now)
                continue
            alert = known[episode.id]
            fields = _fields(episode)
            if action.action == "close":
                fields["state"] = Alert.State.CLOSED
            Alert.objects.filter(pk=alert.pk).update(**fields)
            counts[action.action] += 1
        counts["past"] += _store_past(patient_id, evaluation.past, known)
    return counts


def _test_delay() -> None:
    """Test-only: MONITORING_TEST_DELAY_SECONDS holds the evaluation's transaction open so a
    fault test can kill the worker mid-evaluation (tests/faults/test_monitoring_kills.py)."""
    delay = float(os.environ.get("MONITORING_TEST_DELAY_SECONDS", "0"))
    if delay:
        time.sleep(delay)


def _open(patient_id: int, episode: rules.Episode, known: dict, *, muted: bool) -> Alert | None:
    """A new live alert, or a past record turned live (the same episode); None if the
    database already holds it (a concurrent or repeated evaluation)."""
    fields = {**_fields(episode), "live": True, "state": Alert.State.OPEN, "muted": muted}
    if episode.id is not None:
        Alert.objects.filter(pk=episode.id).update(**fields)
        return Alert.objects.get(pk=episode.id)
    try:
        with transaction.atomic():
            return Alert.objects.create(patient_id=patient_id, kind=episode.kind, **fields)
    except IntegrityError:
        return None


def _store_past(patient_id: int, episodes, known: dict) -> int:
    stored = 0
    for episode in episodes:
        fields = {**_fields(episode), "live": False, "state": Alert.State.CLOSED}
        if episode.id is not None:
            Alert.objects.filter(pk=episode.id).update(**fields)
            stored += 1
            continue
        try:
            with transaction.atomic():
                Alert.objects.create(patient_id=patient_id, kind=episode.kind, **fields)
            stored += 1
        except IntegrityError:
            pass  # already recorded (the same episode start)
    return stored


def _past(patient_id: int, first: dt.datetime, until: dt.datetime, th) -> int:
    """Past episodes of a back-filled batch from ``first`` to the live window's start, in
    pieces of ``PAST_PIECE`` with the window as margin on each side."""
    margin = dt.timedelta(seconds=rules.evaluation_window_seconds(th))
    stored = 0
    piece_start = first
    while piece_start < until:
        piece_end = min(piece_start + PAST_PIECE, until)
        lo, hi = piece_start - margin, min(piece_end + margin, until)
        times, values, low = _readings(patient_id, lo, hi)
        known = {a.pk: a for a in _known(patient_id, lo, hi)}
        found = rules.past_episodes(
            times,
            values,
            low,
            episodes=[a.as_episode() for a in known.values()],
            thresholds=th,
        )
        stored += _store_past(patient_id, found, known)
        piece_start = piece_end
    return stored
