"""The outbox: deferred work recorded with its data, sent on commit, closed by the worker,
sent again by the dispatcher when it was never sent (broker down) or lost; safe to run twice.

Unit tests run tasks eagerly (tests/settings.py). The broker that is really down, and the
worker that really closes rows, are in tests/faults/test_redis_down.py."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from outbox.models import OutboxTask
from outbox.services import outbox_dispatch, task_enqueue
from outbox.tasks import dispatch_outbox
from readings.models import Upload
from readings.services import upload_create
from readings.tasks import process_upload
from tests.readings.helpers import plain_csv

START = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def _upload(patient) -> Upload:
    return upload_create(patient=patient, by=None, file=plain_csv(START, 30), filename="a.csv")


def test_it_sends_on_commit_and_the_task_closes_its_row(
    patient, django_capture_on_commit_callbacks
):
    upload = _upload(patient)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = task_enqueue(process_upload, upload.pk)
    assert (row.sent_at, row.done_at, Upload.objects.get(pk=upload.pk).status) == (
        None,
        None,
        "pending",
    )  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    row.refresh_from_db()
    assert row.sent_at and row.done_at and row.sends == 1
    assert Upload.objects.get(pk=upload.pk).status == "done"


def test_it_enqueues_a_task_by_its_name_so_services_need_not_import_tasks(
    patient, django_capture_on_commit_callbacks
):
    upload = _upload(patient)
    with django_capture_on_commit_callbacks(execute=True):
        row = task_enqueue("readings.tasks.process_upload", upload.pk)
    row.refresh_from_db()
    assert row.task == "readings.tasks.process_upload" and row.done_at and row.sends == 1
    assert Upload.objects.get(pk=upload.pk).status == "done"
    with pytest.raises(KeyError):  # a misspelt name fails where it is written, not later
        task_enqueue("readings.tasks.no_such_task", upload.pk)
    assert not OutboxTask.objects.filter(task="readings.tasks.no_such_task").exists()


def test_it_dispatches_rows_never_sent_once_even_when_run_twice(patient):
    upload = _upload(patient)
    row = OutboxTask.objects.create(task=process_upload.name, args=[upload.pk])  # broker was down
    assert outbox_dispatch() == {"sent": 1, "skipped": 0, "broker_down": False}
    assert outbox_dispatch() == {"sent": 0, "skipped": 0, "broker_down": False}
    row.refresh_from_db()
    assert row.done_at and row.sends == 1
    assert Upload.objects.get(pk=upload.pk).accepted == 30


def test_it_sends_again_what_was_sent_long_ago_and_never_closed(patient, settings):
    settings.OUTBOX_RESEND_AFTER_SECONDS = 600
    upload = _upload(patient)
    long_ago = timezone.now() - dt.timedelta(seconds=601)
    lost = OutboxTask.objects.create(
        task=process_upload.name, args=[upload.pk], sent_at=long_ago, sends=1
    )
    recent = OutboxTask.objects.create(
        task=process_upload.name, args=[upload.pk], sent_at=timezone.now(), sends=1
    )
    assert outbox_dispatch()["sent"] == 1
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.done_at and lost.sends == 2
    assert recent.done_at is None  # may still be on its way: not sent twice
    assert Upload.objects.get(pk=upload.pk).status == "done"


def test_monitoring_tasks_are_sent_again_sooner_than_the_rest(patient, settings):
    """A message lost in flight (a worker killed between Redis's BRPOP and kombu's unacked
    record: tests/faults) is recovered by the outbox alone; for remote monitoring an hour is
    too long to wait, so its queue has its own delay."""
    settings.OUTBOX_RESEND_AFTER_SECONDS = 3600
    settings.OUTBOX_RESEND_AFTER_SECONDS_BY_QUEUE = {"monitoring": 120}
    upload = _upload(patient)
    now = timezone.now()

    def sent(task, args, seconds_ago):
        return OutboxTask.objects.create(
            task=task, args=args, sent_at=now - dt.timedelta(seconds=seconds_ago), sends=1
        )

    alert_lost = sent("monitoring.tasks.send_alert_notification", [987654], 121)
    triage_lost = sent("patients.tasks.refresh_triage_window", [], 121)  # routed by exact name
    alert_recent = sent("monitoring.tasks.send_alert_notification", [987655], 60)
    import_slow = sent(process_upload.name, [upload.pk], 121)  # an import may still be running
    import_lost = sent(process_upload.name, [upload.pk], 3601)
    assert outbox_dispatch(now=now)["sent"] == 3
    sends = {
        row.pk: row.sends
        for row in OutboxTask.objects.filter(
            pk__in=[r.pk for r in (alert_lost, triage_lost, alert_recent, import_slow, import_lost)]
        )
    }
    assert sends == {
        alert_lost.pk: 2,
        triage_lost.pk: 2,
        alert_recent.pk: 1,
        import_slow.pk: 1,
        import_lost.pk: 2,
    }


def test_it_gives_up_after_the_most_sends(patient, settings):
    settings.OUTBOX_MAX_SENDS = 3
    OutboxTask.objects.create(task=process_upload.name, args=[1], sends=3)
    assert outbox_dispatch()["sent"] == 0


def test_its_command_and_beat_task_dispatch(patient, capsys):
    upload = _upload(patient)
    OutboxTask.objects.create(task=process_upload.name, args=[upload.pk])
    call_command("dispatch_outbox")
    assert '"sent": 1' in capsys.readouterr().out
    assert dispatch_outbox() == {"sent": 0, "skipped": 0, "broker_down": False}  # run twice
    task = PeriodicTask.objects.get(name="outbox: dispatch")
    assert task.task == "outbox.tasks.dispatch_outbox" and task.enabled
    assert task.interval.every == 1 and task.interval.period == "minutes"


def test_a_task_with_nothing_left_to_do_closes_its_row(patient):
    row = OutboxTask.objects.create(task=process_upload.name, args=[987654])  # no such upload
    outbox_dispatch()
    row.refresh_from_db()
    assert row.done_at and row.last_error == ""


def test_it_deletes_rows_closed_long_ago_and_keeps_open_and_recent_ones(db, settings, caplog):
    from outbox.services import DONE_KEPT, outbox_prune

    settings.OUTBOX_MAX_SENDS = 3
    now = timezone.now()
    old = OutboxTask.objects.create(task="x", done_at=now - DONE_KEPT - dt.timedelta(days=1))
    recent = OutboxTask.objects.create(task="x", done_at=now - dt.timedelta(days=1))
    stuck = OutboxTask.objects.create(task="readings.tasks.process_upload", sends=3)
    assert outbox_prune(now=now) == 1
    assert set(OutboxTask.objects.values_list("pk", flat=True)) == {recent.pk, stuck.pk}
    assert not OutboxTask.objects.filter(pk=old.pk).exists()
    assert f"outbox {stuck.pk}: readings.tasks.process_upload sent 3 times" in caplog.text


def test_one_row_that_cannot_be_sent_does_not_stop_the_others(patient):
    upload = _upload(patient)
    OutboxTask.objects.create(task="no.such.task", args=[])
    row = OutboxTask.objects.create(task=process_upload.name, args=[upload.pk])
    outbox_dispatch()
    row.refresh_from_db()
    assert row.done_at and Upload.objects.get(pk=upload.pk).status == "done"
