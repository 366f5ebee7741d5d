"""Differential test (issue #11): whatever sequence of ingests reaches a patient, the rollup
path (what triage and population views use: ``DailyRollup`` → ``metrics_from_rollups``) gives
the same figures as the raw path (the metrics API: readings → ``cgm_metrics``) on every key.

Hypothesis draws sequences of operations: batches of any size from 1 up (one reading at a
time, as uploaders post), re-uploads of earlier batches, overlapping batches, a second device
sending some of the same instants (stored once), readings from another device on other days,
a switch to a 15-minute sensor (issue #17: Libre after Dexcom, on days of its own and on days
shared with the 5-minute one) and time-zone changes between ingests (each rebuilds the
rollups, as a real save does). Each device sends runs of at least two hours (split into
batches of any size).

The readings run from 29 March 2024 for about ten days, across the European spring-forward
(31 March: a 23-hour day in London and Bucharest) and Chile's fall-back (7 April: a 25-hour
day in Santiago), among zones without daylight saving: the rollup path must count each local
day's real length, as the raw path does.
"""

import datetime as dt
import itertools

import numpy as np
import pytest
from django.db import transaction
from django.test import TestCase
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from glycemia.metrics import ROUNDING
from readings.models import Reading
from readings.parsers import Reading as Record
from readings.services import readings_ingest
from readings.windows import rollup_metrics
from tests.conftest import make_patient
from workspace.metrics_api import patient_metrics

START = dt.datetime(2024, 3, 29, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=5)
ZONES = (
    "Europe/London",
    "UTC",
    "Europe/Bucharest",
    "America/Santiago",
    "Asia/Shanghai",
    "Asia/Kolkata",
)
KEYS = (
    "readings",
    "days",
    "active_percent",
    "mean_mg_dl",
    "sd_mg_dl",
    "cv_percent",
    "gmi_percent",
    "very_low_percent",
    "low_percent",
    "in_range_percent",
    "high_percent",
    "very_high_percent",
    "tight_range_percent",
    "gri",
    "gri_zone",
    "lbgi",
    "hbgi",
)
_patients = itertools.count(1)


def value_at(slot: int) -> float:
    """A deterministic trace crossing every band (40-330 mg/dL)."""
    return float(40 + (slot * 37) % 291)


# A device's run of readings is at least two hours long: over a handful of scattered readings
# "the device's interval" means nothing (the raw path's median spacing is then the gaps').
MIN_RUN = 24
# One operation: ("batch", device, first slot, length, batch size) | ("again", n) | ("zone", z)
slots = st.integers(min_value=0, max_value=3 * 288)
batch = st.tuples(
    st.just("batch"),
    st.sampled_from(["A", "A-copy", "B", "L"]),
    slots,
    st.integers(min_value=MIN_RUN, max_value=400),
    st.integers(min_value=1, max_value=150),
)
again = st.tuples(st.just("again"), st.integers(min_value=0, max_value=20))
zone = st.tuples(st.just("zone"), st.sampled_from(ZONES))
operations = st.lists(st.one_of(batch, batch, batch, again, zone), min_size=1, max_size=8)


def records(device: str, first: int, length: int) -> list:
    # Device B reads on days of its own, well after A (3 days later), on the same 5-minute
    # grid; "A-copy" is device A's readings reaching us a second way (another device name);
    # L is a 15-minute sensor (every third 5-minute slot) from A's fourth day on, so its days
    # follow A's and some days have both.
    offset = {"B": 6 * 288, "L": 3 * 288}.get(device, 0)
    every = 3 if device == "L" else 1
    names = {"A": "Dexcom G7 SN1", "A-copy": "xDrip+ G7", "B": "G7 SN2", "L": "Libre 2 SN3"}
    return [
        Record(
            n + 1,
            START + STEP * (offset + every * slot),
            value_at(offset + every * slot),
            "cgm",
            names[device],
        )
        for n, slot in enumerate(range(first, first + length))
    ]


def ingest(patient, items: list, size: int) -> None:
    for start in range(0, len(items), size):
        with transaction.atomic():
            readings_ingest(patient=patient, items=items[start : start + size])


@pytest.mark.django_db
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=operations)
@example(plan=[("batch", "A", 0, 864, 100), ("batch", "L", 0, 400, 37)])  # a clean switch
@example(plan=[("batch", "A", 600, 500, 1), ("batch", "L", 0, 300, 300), ("zone", "UTC")])
def test_it_gives_the_same_figures_on_the_rollup_and_the_raw_path(plan):
    patient = make_patient(f"DIFF{next(_patients)}", timezone=ZONES[0])
    sent: list[tuple[list, int]] = []
    for operation in plan:
        if operation[0] == "batch":
            _, device, first, length, size = operation
            items = records(device, first, length)
            sent.append((items, size))
            ingest(patient, items, size)
        elif operation[0] == "again" and sent:
            items, size = sent[operation[1] % len(sent)]
            ingest(patient, items, max(1, size // 2))  # a re-upload, cut differently
        elif operation[0] == "zone":
            with TestCase.captureOnCommitCallbacks(execute=True):
                patient.timezone = operation[1]
                patient.save()
    stamps = Reading.objects.filter(patient=patient, kind="cgm").values_list("timestamp", flat=True)
    if not stamps:
        return
    zone = patient.tzinfo
    first = min(stamps).astimezone(zone).date()
    last = max(stamps).astimezone(zone).date()
    raw = patient_metrics(patient, start=first, end=last)
    rolled = rollup_metrics([patient.pk], start=first, end=last)[patient.pk]
    for key in KEYS:
        expected, got = raw[key], rolled[key]
        if isinstance(expected, float) and isinstance(got, float):
            unit = 10.0 ** -ROUNDING.get(key, 0)
            assert got == pytest.approx(expected, abs=unit * 1.01), (key, plan)
        else:
            assert got == expected, (key, plan)
    assert np.isfinite(rolled["mean_mg_dl"])
