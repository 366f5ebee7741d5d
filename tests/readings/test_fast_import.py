"""The import of a file read by the Dexcom fast path (``ReadingBatch`` runs, numpy COPY rows,
wear of new days counted from memory; issue #23) stores exactly what the general rules store:
the same readings, devices, rollups and upload report — for a new patient, a re-upload of the
same file and an overlapping one, on SQLite and PostgreSQL."""

import random

import pytest

from glycemia.rollups import ROLLUP_FIELDS
from readings.models import DailyRollup, Reading, Upload
from readings.parsers import dexcom
from readings.services import upload_create, upload_process
from tests.conftest import make_patient
from tests.readings.parsers.test_dexcom_fast_path import ZONES, clarity

pytestmark = pytest.mark.django_db


def imported(patient, data: bytes, fast: bool) -> Upload:
    dexcom.FAST_PATH = fast
    try:
        upload = upload_create(patient=patient, by=None, file=data, filename="clarity.csv")
        return upload_process(upload_id=upload.pk)
    finally:
        dexcom.FAST_PATH = True


def stored(patient, upload: Upload) -> tuple:
    readings = sorted(
        Reading.objects.filter(patient=patient).values_list(
            "timestamp", "value_mg_dl", "kind", "flag", "meal_tag", "device__identity"
        )
    )
    rollups = sorted(
        DailyRollup.objects.filter(patient=patient).values_list(
            "date", "kind", *ROLLUP_FIELDS, "interval_minutes", "slots"
        )
    )
    report = (
        upload.status,
        upload.error,
        upload.format,
        upload.accepted,
        upload.duplicates,
        upload.rejected,
        upload.rejected_total,
        upload.rejected_by_reason,
        upload.treatments_count,
        upload.warnings,
    )
    return readings, rollups, report


@pytest.mark.parametrize(
    ("zone_start", "odd"), [(ZONES[0], 0.0), (ZONES[1], 0.01), (ZONES[2], 0.1)]
)
def test_a_fast_import_stores_what_the_general_rules_store(zone_start, odd):
    zone, start = zone_start
    rng = random.Random(11)
    first = clarity(rng, zone, start, 9000, odd, crash=False).encode("utf-8-sig")
    overlapping = clarity(random.Random(12), zone, start, 12000, odd, crash=False).encode(
        "utf-8-sig"
    )
    outcomes = []
    for fast in (True, False):
        patient = make_patient(f"FAST-{fast}", timezone=zone)
        steps = []
        for data in (first, first, overlapping):  # new, re-upload, overlap
            upload = imported(patient, data, fast)
            steps.append(stored(patient, upload))
        outcomes.append(steps)
    fast, general = outcomes
    assert fast == general
    assert fast[0][2][3] > 8000  # the file was imported, not refused
