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
