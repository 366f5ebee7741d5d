"""Evaluation on arrival (issue #20 §2, §6): an xDrip-shaped uploader posts a falling trace
one entry at a time to /ns/{key}/; the predicted low opens before the urgent low, exactly one
urgent low opens, it closes after 15 minutes at 70 or above, and posting everything again
changes nothing. Back-filled history becomes past episodes; patients not enrolled cost an
indexed lookup and nothing else."""

import datetime as dt

import pytest
import time_machine

from monitoring.models import Alert, AlertNotification
from monitoring.services import alerts_evaluate
from outbox.models import OutboxTask
from tests.monitoring.conftest import enrol

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)
# A fall to 49 mg/dL and a recovery, 5 minutes apart (mg/dL).
TRACE = [130, 120, 110, 100, 90, 80, 70, 62, 56, 52, 50, 49, 55, 65, 72, 80, 85, 90, 95]


def at(i):
    return T0 + dt.timedelta(minutes=5 * i)


def post_all(uploader, values=TRACE):
    log = []
    for i, value in enumerate(values):
        with time_machine.travel(at(i) + dt.timedelta(seconds=20), tick=False):
            uploader.post(at(i), value)
        log.append({(a.kind, a.state) for a in Alert.objects.all()})
    return log


def snapshot():
    fields = ("kind", "state", "since", "opened_at", "last_at", "ended_at", "closed_at")
    return sorted(Alert.objects.values_list(*fields)), AlertNotification.objects.count()


def enrol_before(patient, alice):
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        enrol(patient, alice)


def test_it_raises_one_urgent_low_after_the_predicted_low_and_closes_it(uploader, patient, alice):
    enrol_before(patient, alice)
    log = post_all(uploader)
    urgent = Alert.objects.filter(kind="urgent_low")
    assert urgent.count() == 1
    alert = urgent.get()
    # Opened at the second reading below 54 (52 then 50), from the first (52).
    assert (alert.since, alert.opened_at) == (at(9), at(10))
    assert alert.extreme == 49
    # Closed 15 minutes into the recovery (72, 80, 85, 90): ended at 72, confirmed at 90.
    assert (alert.ended_at, alert.closed_at, alert.state) == (at(14), at(17), "closed")
    predicted = Alert.objects.get(kind="predicted_low")
    assert predicted.opened_at < alert.opened_at
    assert predicted.close_reason == "superseded"
    first_open = next(n for n, kinds in enumerate(log) if ("urgent_low", "open") in kinds)
    assert first_open == 10
    # The care team was told, once per alert.
    assert AlertNotification.objects.filter(alert=alert, recipient=alice).count() == 1
    assert AlertNotification.objects.filter(alert=predicted).count() == 1
    before = snapshot()
    with time_machine.travel(at(len(TRACE)) + dt.timedelta(seconds=20), tick=False):
        for i, value in enumerate(TRACE):
            uploader.post(at(i), value)  # re-delivered: all duplicates
        alerts_evaluate(patient_id=patient.pk)  # and an evaluation run again
    assert snapshot() == before


def test_it_opens_nothing_for_a_patient_not_enrolled(uploader, patient):
    post_all(uploader, TRACE[:12])
    assert not Alert.objects.exists()
    assert not OutboxTask.objects.filter(task="monitoring.tasks.evaluate_patient").exists()


def test_it_never_opens_a_second_alert_for_out_of_order_readings(uploader, patient, alice):
    enrol_before(patient, alice)
    order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 9, 11, 12]  # 52 and 50 swapped on arrival
    for i in order:
        moment = at(max(order[: order.index(i) + 1]))
        with time_machine.travel(moment + dt.timedelta(seconds=30), tick=False):
            uploader.post(at(i), TRACE[i])
    assert Alert.objects.filter(kind="urgent_low").count() == 1


def test_it_records_back_filled_history_as_past_episodes(uploader, patient, alice):
    """A file of last month arrives today: its low is a past episode, never an alert."""
    from readings.parsers import Reading as Parsed
    from readings.services import readings_ingest

    with time_machine.travel(T0 - dt.timedelta(minutes=1), tick=False):
        enrol(patient, alice)
    month_ago = T0 - dt.timedelta(days=30)
    items = [
        Parsed(n + 1, month_ago + dt.timedelta(minutes=5 * n), float(v), "cgm")
        for n, v in enumerate(TRACE)
    ]
    from django.db import transaction

    with time_machine.travel(T0, tick=False):
        with uploader.capture(execute=True), transaction.atomic():
            readings_ingest(patient=patient, items=items)
    past = Alert.objects.get()
    assert (past.kind, past.live, past.state) == ("urgent_low", False, "closed")
    assert past.since == month_ago + dt.timedelta(minutes=45)
    assert not AlertNotification.objects.exists()
    with time_machine.travel(T0 + dt.timedelta(minutes=1), tick=False):
        with uploader.capture(execute=True), transaction.atomic():
            readings_ingest(patient=patient, items=items)  # the same file again
        alerts_evaluate(patient_id=patient.pk, first=month_ago)
    assert Alert.objects.count() == 1


def test_it_opens_a_no_data_alert_after_hours_of_silence(uploader, patient, alice):
    from monitoring.tasks import check_silences

    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        enrol(patient, alice)
    with time_machine.travel(T0, tick=False):
        uploader.post(T0 - dt.timedelta(minutes=1), 120)
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        assert check_silences() == 1  # evaluated, still within the 4 hours
        assert not Alert.objects.exists()
    with time_machine.travel(T0 + dt.timedelta(hours=4, minutes=5), tick=False):
        check_silences()
        check_silences()  # run twice: one alert
    alert = Alert.objects.get()
    assert (alert.kind, alert.state) == ("no_data", "open")
    with time_machine.travel(T0 + dt.timedelta(hours=4, minutes=10), tick=False):
        uploader.post(T0 + dt.timedelta(hours=4, minutes=9), 110)
    alert.refresh_from_db()
    assert alert.state == "closed"


def test_it_evaluates_rest_batches_and_device_files_too(
    client, patient, alice, django_capture_on_commit_callbacks
):
    """The REST batch API and a device file end in the same ingest, hence the same alert."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        enrol(patient, alice)
    batch = {
        "readings": [
            {"timestamp": at(i).isoformat(), "value": v, "unit": "mg/dL", "kind": "cgm"}
            for i, v in enumerate(TRACE[:11])
        ]
    }
    with time_machine.travel(at(10) + dt.timedelta(seconds=30), tick=False):
        client.force_login(alice)  # signed in on the test's clock (idle sign-out)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/patients/{patient.pk}/readings/", batch, content_type="application/json"
            )
    assert response.status_code in (200, 201), response.content
    assert Alert.objects.filter(kind="urgent_low", live=True).count() == 1

    # The rest of the trace in a plain CSV (the patient's wall clock, London = UTC in January).
    rows = "".join(f"{at(i):%Y-%m-%d %H:%M},{v},mg/dL\n" for i, v in enumerate(TRACE) if i >= 11)
    upload = SimpleUploadedFile("rest.csv", f"timestamp,value,unit\n{rows}".encode(), "text/csv")
    with time_machine.travel(at(len(TRACE) - 1) + dt.timedelta(seconds=30), tick=False):
        client.logout()  # a new session: the first one has been idle too long by now
        client.force_login(alice)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/patients/{patient.pk}/uploads/", {"file": upload, "format": "csv"}
            )
    assert response.status_code in (200, 201, 202), response.content
    alert = Alert.objects.get(kind="urgent_low")
    assert alert.state == "closed" and alert.ended_at == at(14)


def test_it_evaluates_a_fhir_cgm_bundle_too(
    client, patient, alice, django_capture_on_commit_callbacks
):
    """FHIR ``$submit-cgm-bundle`` ends in the same ingest: one urgent low, and the same
    Bundle again changes nothing."""
    import json

    enrol_before(patient, alice)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "99504-3"}]},
                    "effectiveDateTime": at(i).isoformat(),
                    "valueQuantity": {"value": v, "unit": "mg/dL", "code": "mg/dL"},
                    "device": {"display": "Dexcom G7"},
                },
                "request": {"method": "POST", "url": "Observation"},
            }
            for i, v in enumerate(TRACE[:12])
        ],
    }
    url = f"/api/v1/patients/{patient.pk}/fhir/$submit-cgm-bundle"
    with time_machine.travel(at(11) + dt.timedelta(seconds=30), tick=False):
        client.force_login(alice)
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(
                    url, json.dumps(bundle), content_type="application/fhir+json"
                )
            assert response.status_code == 200, response.content
            (alert,) = Alert.objects.filter(kind="urgent_low")
            assert (alert.live, alert.state, alert.since) == (True, "open", at(9))
