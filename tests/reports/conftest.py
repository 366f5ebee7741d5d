"""Helpers to put readings in the database for report tests (through the real ingest path)."""

import datetime as dt

import numpy as np
import pytest
from django.db import transaction

from readings.parsers import Reading
from readings.services import readings_ingest
from readings.simulate import CgmProfile, cgm_trace, meter_trace

PERIOD_END = dt.date(2026, 3, 14)  # reports in tests end here (14 days from 2026-03-01)
PERIOD_START = dt.date(2026, 3, 1)


def load(patient, seconds, values, *, kind="cgm", tags=None) -> int:
    """Ingest readings given as UTC epoch seconds and mg/dL values."""
    items = [
        Reading(
            line=i + 1,
            timestamp=dt.datetime.fromtimestamp(int(s), dt.UTC),
            value_mg_dl=float(v),
            kind=kind,
            device="test-device",
            meal_tag=(tags[i] if tags else ""),
        )
        for i, (s, v) in enumerate(zip(seconds, values, strict=True))
    ]
    with transaction.atomic():
        return readings_ingest(patient=patient, items=items).accepted


def grid(start: dt.date, days: int, step_minutes: int = 5) -> np.ndarray:
    first = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())
    return first + 60 * step_minutes * np.arange(days * 1440 // step_minutes)


def known_day_values() -> np.ndarray:
    """One UTC day of 288 readings: 5 % very low (50), 10 % low (60), 60 % in range (120),
    15 % high (200), 10 % very high (300), arranged in blocks. TIR 60 %, CV and mean known."""
    counts = {50: 14, 60: 29, 120: 173, 200: 43, 300: 29}  # 288 readings
    return np.concatenate([np.full(n, v, dtype=float) for v, n in counts.items()])


@pytest.fixture
def load_simulated():
    def _load(patient, *, days=14, start=PERIOD_START, seed=1, profile=None):
        t, v, _ = cgm_trace(
            profile or CgmProfile(), start=start, days=days, tz=patient.timezone, seed=seed
        )
        return load(patient, t, v)

    return _load


@pytest.fixture
def load_meter():
    def _load(patient, *, days=14, start=PERIOD_START, seed=1):
        t, v, tags = meter_trace(start=start, days=days, tz=patient.timezone, mean=150, seed=seed)
        return load(patient, t, v, kind="smbg", tags=tags)

    return _load
