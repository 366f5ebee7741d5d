"""Reports are immutable snapshots: only the clinician's note may change."""

import pytest

from reports.models import ImmutableReportError
from reports.services import report_generate
from tests.reports.conftest import PERIOD_END

pytestmark = pytest.mark.django_db


def test_it_refuses_to_change_a_stored_report(patient, load_simulated):
    load_simulated(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    report.metrics["in_range_percent"] = 99.0
    with pytest.raises(ImmutableReportError):
        report.save()
    with pytest.raises(ImmutableReportError):
        report.save(update_fields=["metrics"])
    report.refresh_from_db()
    assert report.metrics["in_range_percent"] != 99.0


def test_it_saves_the_clinicians_note(patient, alice, load_simulated):
    load_simulated(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    report.note_set(text="  Review basal  ", by=alice)
    report.refresh_from_db()
    assert report.clinician_note == "Review basal" and report.note_by == alice


def test_it_keeps_what_it_showed_when_readings_change_later(patient, load_simulated):
    load_simulated(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    before = report.metrics["readings"]
    patient.readings.all().delete()
    report.refresh_from_db()
    assert report.metrics["readings"] == before
