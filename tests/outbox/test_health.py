"""The pipeline watched (outbox/health.py): heartbeats, the degraded-alerting incident opened
and closed once per stretch, its notice sent once to the admins (and to whoever a hook adds),
in their language. The clock is the test's (time_machine); tasks run eagerly."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from outbox import health, pipeline
from outbox.models import Heartbeat, Incident, OutboxTask
from outbox.tasks import heartbeat
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # the night London leaves summer time


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def admins(db):
    return [
        make_user("ada", "admin", None, email="ada@example.org"),
        make_user("root", "patient", None, email="root@example.org", is_superuser=True),
    ]


@pytest.fixture(autouse=True)
def beat_started_long_ago(monkeypatch):
    monkeypatch.setattr(health, "_beat_started_at", None)


def started(minutes: float) -> None:
    """A worker started at ``minutes`` (beat runs since long before)."""
    with time_machine.travel(at(minutes), tick=False):
        health.on_worker_ready()


def beats(minutes: float) -> None:
    """Beat sent the heartbeat task and a worker ran it, at ``minutes``."""
    with time_machine.travel(at(minutes), tick=False):
        health.on_before_task_publish(sender=health.HEARTBEAT_TASK)
        heartbeat.delay()


def test_it_records_both_heartbeats_and_stays_quiet_while_all_is_well(admins):
    started(0)
    for minute in range(0, 5):
        beats(minute)
    assert dict(Heartbeat.objects.values_list("name", "at")) == {"worker": at(4), "beat": at(4)}
    assert not Incident.objects.exists()
    assert mail.outbox == []


def test_it_opens_one_incident_and_notifies_once_when_the_worker_falls_silent(admins):
    started(0)
    beats(0)
    for minute in range(1, 12):  # beat goes on ticking; no worker runs the task any more
        with time_machine.travel(at(minute), tick=False):
            health.on_before_task_publish(sender=health.HEARTBEAT_TASK)
    incident = Incident.objects.get()
    assert (incident.opened_at, incident.reasons, incident.is_open) == (
        at(6),  # the first tick more than 5 minutes after the worker's last heartbeat
        ["worker_heartbeat"],
        True,
    )
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.org", "root@example.org"]
    assert mail.outbox[0].subject == "Diabetes Center: alerting is degraded"
    assert "No Celery worker has shown a heartbeat for 6 minutes." in mail.outbox[0].body
    assert "/health/" in mail.outbox[0].body


def test_it_closes_the_incident_when_the_worker_is_back_and_opens_a_new_one_next_time(admins):
    started(0)
    beats(0)
    with time_machine.travel(at(7), tick=False):
        health.on_before_task_publish(sender=health.HEARTBEAT_TASK)
    beats(8)  # the worker is back
    first = Incident.objects.get()
    assert (first.is_open, first.closed_at) == (False, at(8))
    assert len(mail.outbox) == 2
    beats(9)
    assert Incident.objects.count() == 1
    with time_machine.travel(at(20), tick=False):  # silent again: a second incident, a notice
        health.on_before_task_publish(sender=health.HEARTBEAT_TASK)
    assert Incident.objects.filter(is_open=True).count() == 1
    assert Incident.objects.count() == 2
    assert len(mail.outbox) == 4


def test_it_opens_an_incident_for_an_evaluation_lag_past_two_minutes(admins):
    started(0)
    beats(0)
    with time_machine.travel(at(0), tick=False):
        OutboxTask.objects.create(task=pipeline.EVALUATION_TASK, args=[1])
    beats(2)  # exactly two minutes: not yet
    assert not Incident.objects.exists()
    beats(3)
    assert Incident.objects.get().reasons == ["evaluation_lag"]
    assert "New readings have waited 3 minutes to be checked for alerts." in mail.outbox[0].body


def test_it_notifies_once_however_often_and_wherever_it_is_observed(admins):
    with time_machine.travel(at(0), tick=False):
        for _ in range(3):
            health.pipeline_watch()  # nothing ever beat: degraded
            heartbeat.delay()  # ...and a worker beats but beat never ticked
    assert Incident.objects.count() == 1
    assert len(mail.outbox) == 2  # one per admin, once
    assert "Celery beat has never ticked." in mail.outbox[0].body


def test_it_writes_the_notice_in_each_recipients_language(admins):
    make_user("li", "admin", None, email="li@example.org", language="zh-hans")
    with time_machine.travel(at(0), tick=False):
        health.pipeline_watch()
    by_address = {m.to[0]: m for m in mail.outbox}
    assert by_address["ada@example.org"].subject == "Diabetes Center: alerting is degraded"
    assert by_address["li@example.org"].subject != by_address["ada@example.org"].subject
    assert "告警" in by_address["li@example.org"].subject
    body = by_address["li@example.org"].body
    assert "从未收到任何 Celery 工作进程的心跳。" in body and "heartbeat" not in body


def test_it_tells_whoever_a_registered_hook_adds_once(admins, monkeypatch):
    on_call = make_user("oncall", "endocrinologist", None, email="ADA@example.org ")
    other = make_user("nora", "endocrinologist", None, email="nora@example.org")
    monkeypatch.setattr(health, "_recipient_hooks", list(health._recipient_hooks))
    health.register_notice_recipients(lambda now: [on_call, other])
    with time_machine.travel(at(0), tick=False):
        health.pipeline_watch()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ada@example.org",
        "nora@example.org",
        "root@example.org",
    ]


def test_it_leaves_out_inactive_admins_and_people_without_an_address(admins):
    make_user("gone", "admin", None, email="gone@example.org", is_active=False)
    make_user("nomail", "admin", None)
    with time_machine.travel(at(0), tick=False):
        health.pipeline_watch()
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.org", "root@example.org"]


def test_it_tries_the_notice_again_when_sending_failed(admins, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(health, "send_mail", broken)
    with time_machine.travel(at(0), tick=False), pytest.raises(ConnectionRefusedError):
        health.pipeline_watch()
    assert Incident.objects.get().notified_at is None
    monkeypatch.undo()
    with time_machine.travel(at(1), tick=False):
        health.pipeline_watch()
    assert Incident.objects.get().notified_at == at(1)
    assert len(mail.outbox) == 2


def test_it_never_disturbs_beat_when_the_tick_cannot_be_recorded(monkeypatch):
    def away(*args, **kwargs):
        from django.db import OperationalError

        raise OperationalError("database away")

    monkeypatch.setattr(health, "heartbeat_record", away)
    health.on_before_task_publish(sender=health.HEARTBEAT_TASK)  # logs, does not raise
    health.on_before_task_publish(sender="readings.tasks.process_upload")  # not its business
    assert not Heartbeat.objects.exists()


def test_it_gives_a_restarted_worker_five_minutes_before_beat_judges_it(admins):
    started(0)
    beats(0)
    with time_machine.travel(at(60), tick=False):  # everything was down; beat starts again
        health.on_beat_init()
    for minute in (61, 62, 65):  # the worker is slow to come back: beat does not judge yet
        with time_machine.travel(at(minute), tick=False):
            health.on_before_task_publish(sender=health.HEARTBEAT_TASK)
    assert not Incident.objects.exists()
    with time_machine.travel(at(66), tick=False):  # past the grace: the worker is missing
        health.on_before_task_publish(sender=health.HEARTBEAT_TASK)
    assert Incident.objects.get().reasons == ["worker_heartbeat"]


def test_it_records_a_worker_and_beat_as_they_start():
    with time_machine.travel(at(0), tick=False):
        health.on_worker_ready()
        health.on_beat_init()
    assert dict(Heartbeat.objects.values_list("name", "at")) == {"worker": at(0), "beat": at(0)}


def test_it_runs_the_heartbeat_task_twice_without_harm(admins):
    started(0)
    beats(0)
    with time_machine.travel(at(0), tick=False):
        heartbeat.delay()
        heartbeat.delay()
    assert Heartbeat.objects.count() == 2
    assert not Incident.objects.exists()


def test_it_has_the_heartbeat_on_the_beat_schedule():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="outbox: heartbeat")
    assert (task.task, task.interval.every, task.interval.period, task.enabled) == (
        health.HEARTBEAT_TASK,
        1,
        "minutes",
        True,
    )
