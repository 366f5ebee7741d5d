"""Shared fixtures and helpers (a module, not a conftest, so the suite runs without Django)."""

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reference_metrics"
STEM = "cgmquantify__test_file"
SUBJECT = "cgmquantify_test_file"


@lru_cache(maxsize=1)
def reference():
    """(times datetime64[ns] read as UTC, values mg/dL, expected metrics dict, json doc)."""
    df = pd.read_csv(FIXTURES / f"{STEM}.readings.csv")
    doc = json.loads((FIXTURES / f"{STEM}.iglu_expected_metrics.json").read_text())
    times = pd.to_datetime(df["time"]).to_numpy().astype("datetime64[ns]")
    return times, df["gl"].to_numpy(dtype="float64"), doc["subjects"][SUBJECT], doc


def reference_csv(kind: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"{STEM}.iglu_{kind}.csv")


def assert_within(ours, expected, tolerance, name=""):
    limit = tolerance["abs"] + tolerance["rel"] * abs(expected)
    assert ours is not None, name
    assert abs(ours - expected) <= limit, f"{name}: ours {ours!r} vs iglu {expected!r}"


def every_5_minutes(start_local: str, end_local: str, tz: str) -> np.ndarray:
    """UTC instants every 5 min between two local wall-clock times (inclusive)."""
    lo = pd.Timestamp(start_local, tz=tz).tz_convert("UTC")
    hi = pd.Timestamp(end_local, tz=tz).tz_convert("UTC")
    return pd.date_range(lo, hi, freq="5min").tz_localize(None).to_numpy()


def dexcom_then_libre(first_day: str = "2024-01-01", tz: str = "UTC"):
    """Issue #17 §5: 7 local days of a 5-minute sensor, then 7 of a 15-minute one.

    Each Dexcom day misses its first 20 readings (268 of 288), each Libre day its first 7
    (89 of 96). Returns (UTC times, values, expected active %), the expected value counted by
    hand: (7 x 268 + 7 x 89) / (7 x 288 + 7 x 96) = 2499 / 2688 = 92.97 %.
    """
    day0 = pd.Timestamp(first_day)
    times = []
    for day in range(14):
        minutes, per_day, missing = (5, 288, 20) if day < 7 else (15, 96, 7)
        local = (
            day0
            + pd.Timedelta(days=day)
            + pd.to_timedelta(np.arange(missing, per_day) * minutes, unit="min")
        )
        times.append(local.tz_localize(tz).tz_convert("UTC").tz_localize(None).to_numpy())
    t = np.concatenate(times).astype("datetime64[ns]")
    values = 80.0 + (np.arange(t.size) * 7) % 150
    return t, values, 100 * (7 * 268 + 7 * 89) / (7 * 288 + 7 * 96)
