"""Reports are immutable snapshots: only the clinician's note may change."""

import pytest
from django.db import connection

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


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL's TOAST compression (CI phase 2)",
)
def test_it_stores_the_metrics_compressed_with_lz4_where_the_server_has_it(patient, load_simulated):
    """Migration 0005: pglz compressing ~25 kB of metrics was half of the report INSERT (#23).
    The report reads back the same either way."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        (lz4,) = cursor.fetchone()
        if not lz4:
            pytest.skip("this PostgreSQL was built without lz4")
        cursor.execute(
            "SELECT attcompression FROM pg_attribute"
            " WHERE attrelid = 'reports_report'::regclass AND attname = 'metrics'"
        )
        assert cursor.fetchone()[0] == "l"
    load_simulated(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    stored = type(report).objects.get(pk=report.pk)
    assert stored.metrics == report.metrics
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(metrics) FROM reports_report WHERE id = %s", [report.pk]
        )
        assert cursor.fetchone()[0] == "lz4"
