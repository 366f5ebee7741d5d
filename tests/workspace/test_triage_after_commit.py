"""The embedded default's triage refresh after new readings (``TRIAGE_REFRESH_AFTER_COMMIT``,
on by default on SQLite): the entry is recomputed once the readings have committed, outside
the writer's transaction, and ends up the same as a refresh inside it gives."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from readings.parsers import Reading
from readings.services import readings_ingest
from workspace.models import TriageEntry


def items(count, end):
    return [
        Reading(
            line=i + 1,
            timestamp=end - dt.timedelta(minutes=5 * i),
            value_mg_dl=float(100 + i % 7),
            kind="cgm",
            device="test cgm",
        )
        for i in range(count)
    ]


def test_the_entry_is_refreshed_after_the_readings_commit_not_inside(
    patient, settings, django_capture_on_commit_callbacks
):
    settings.TRIAGE_REFRESH_AFTER_COMMIT = True
    end = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            readings_ingest(patient=patient, items=items(30, end))
            inside = TriageEntry.objects.filter(pk=patient.pk).values_list("readings", flat=True)
            assert list(inside) in ([], [0])  # not refreshed inside the writer's transaction
    assert TriageEntry.objects.filter(pk=patient.pk, readings=30).count() == 0
    for callback in callbacks:
        callback()
    assert TriageEntry.objects.get(pk=patient.pk).readings == 30


def test_both_ways_give_the_same_entry(
    patient, other_patient, settings, django_capture_on_commit_callbacks
):
    end = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    entries = {}
    for after_commit, person in ((False, patient), (True, other_patient)):
        settings.TRIAGE_REFRESH_AFTER_COMMIT = after_commit
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                readings_ingest(patient=person, items=items(300, end))
        entries[after_commit] = TriageEntry.objects.filter(pk=person.pk).values().get()
    skip = {"patient_id", "computed_at", "changed_at"}
    inside = {k: v for k, v in entries[False].items() if k not in skip}
    after = {k: v for k, v in entries[True].items() if k not in skip}
    assert inside["readings"] == 300
    assert after == inside
