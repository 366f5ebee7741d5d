"""readings.windows.readings_arrays on PostgreSQL: the instants and values sent as one bytea
are the very ones the row fetch gave (differential, bit for bit), in one query; a NULL falls
back."""

import datetime as dt

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from readings import windows
from readings.models import Device, Reading

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="PostgreSQL's timestamptz_send and float8send (CI phase 2)",
    ),
]

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 14)


def _fetched(patient, kind: str):
    """readings_arrays as it was: the rows fetched, then turned into arrays."""
    lo, hi = windows._utc_bounds(patient, START, END)
    readings = Reading.objects.filter(
        patient_id=patient.pk, kind=kind, timestamp__gte=lo, timestamp__lt=hi
    )
    epoch = windows.RawSQL("""date_part('epoch', "readings_reading"."timestamp")""", [])
    query = readings.annotate(epoch=epoch).values_list("epoch", "value_mg_dl")
    sql, params = query.query.get_compiler(readings.db).as_sql()
    rows = windows._fetch_rows(connection, sql, params)
    if not rows:
        return np.empty(0, dtype="int64"), np.empty(0)
    numbers = np.array(rows, dtype="float64")
    return np.rint(numbers[:, 0] * 1e6).astype("int64") * 1000, numbers[:, 1].copy()


@pytest.mark.parametrize("zone", ["UTC", "Europe/Bucharest", "America/St_Johns"])
def test_it_reads_the_same_values_as_one_bytea_as_by_fetching_the_rows(patient, zone):
    patient.timezone = zone
    patient.save()
    device = Device.objects.create(patient=patient, identity="cgm", kind="cgm")
    rng = np.random.default_rng(23)
    first = dt.datetime(2026, 2, 28, 20, tzinfo=dt.UTC)  # from before the local window
    offsets = np.sort(rng.uniform(0, 16 * 86400, 4000))  # microseconds, not whole minutes
    values = np.concatenate([rng.uniform(39, 401, 3990), [40.0, 400.0, 1e-3, 0.1, 123.456789]])
    values = np.concatenate([values, rng.uniform(39, 401, 5)])
    Reading.objects.bulk_create(
        Reading(
            patient=patient,
            device=device,
            timestamp=first + dt.timedelta(seconds=float(s)),
            value_mg_dl=float(v),
            kind="cgm",
        )
        for s, v in zip(offsets, values, strict=True)
    )
    with CaptureQueriesContext(connection) as queries:
        times, got = windows.readings_arrays(patient, "cgm", START, END)
    assert len(queries) == 1 and "string_agg(timestamptz_send" in queries[0]["sql"]
    want_times, want = _fetched(patient, "cgm")
    assert 3000 < times.size < 4000  # the local window, not every row
    assert times.dtype == want_times.dtype and got.dtype == want.dtype
    np.testing.assert_array_equal(times, want_times)
    assert got.tobytes() == want.tobytes()  # bit for bit
    assert got.flags.writeable and got.flags.c_contiguous
    assert times.flags.writeable and times.flags.c_contiguous
    # The instants to the microsecond, as Python's datetimes count them.
    lo, hi = windows._utc_bounds(patient, START, END)
    rows = Reading.objects.filter(patient=patient, timestamp__gte=lo, timestamp__lt=hi)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    stamps = rows.values_list("timestamp", flat=True)
    micros = sorted((t - epoch) // dt.timedelta(microseconds=1) for t in stamps)
    assert sorted(times.tolist()) == [m * 1000 for m in micros]


def test_it_reads_an_empty_window_as_empty_arrays(patient):
    times, values = windows.readings_arrays(patient, "cgm", START, END)
    assert times.dtype == np.int64 and values.dtype == np.float64
    assert times.size == values.size == 0


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT now(), NULL::float8",
        "SELECT NULL::timestamptz, 1.5::float8 UNION ALL SELECT now(), 3.5::float8",
    ],
)
def test_it_leaves_a_null_to_the_row_fetch(sql):
    assert windows._binary_pairs(connection, sql, []) is None


def test_it_keeps_the_rows_order_and_both_columns():
    sql = (
        "SELECT * FROM (VALUES ('2026-03-01 08:05:00.000001+00'::timestamptz, 0.1::float8),"
        " ('1999-12-31 23:59:59.5+00', -2.5), ('1970-01-01 00:00:00+00', 1e300),"
        " ('2261-12-31 23:59:59.999999+00', 7.0)) v"
    )
    times, values = windows._binary_pairs(connection, sql, [])
    assert times.tolist() == [
        1_772_352_300_000_001_000,
        946_684_799_500_000_000,
        0,
        9_214_646_399_999_999_000,
    ]
    assert values.tolist() == [0.1, -2.5, 1e300, 7.0]
