"""Differential tests (#23): AGP quantiles and smoothing against the frozen previous
implementation (`agp_before`, main 8a517f1) on seeded random traces: whole and fractional
mg/dL, values beyond the 16-bit key, empty clock bins, bins of 5 to 240 minutes, DST zones,
and the population path."""

import numpy as np
import pytest

from glycemia.agp import _agp_dict, agp_arrays, population_agp
from glycemia.metrics import whole_mg_dl

from . import agp_before


def _trace(rng):
    n = int(rng.integers(1, 4000))
    t = np.sort(rng.integers(0, 14 * 86400, n)) + np.datetime64("2024-03-25", "s").astype("int64")
    if rng.random() < 0.3:  # a few clock hours only: empty bins
        keep = (t // 3600) % 24 < int(rng.integers(1, 20))
        t = t[keep] if keep.any() else t[:1]
    t = np.unique(t) * 10**9
    v = np.round(rng.normal(150, 50, t.size)).clip(40, 400)
    kind = rng.random()
    if kind < 0.2:
        v = v + rng.random(t.size)  # fractional (mmol/L converted)
    elif kind < 0.3:
        v[int(rng.integers(0, t.size))] = 3000.0  # beyond the key
    return t, v


@pytest.mark.parametrize("tz", ["UTC", "Europe/Bucharest"])
def test_agp_equals_the_previous_implementation(tz):
    rng = np.random.default_rng(21)
    for _ in range(300):
        t, v = _trace(rng)
        bin_minutes = int(rng.choice([5, 15, 30, 60, 60, 120, 240]))
        smooth = bool(rng.random() < 0.8)
        new = agp_arrays(t, v, tz=tz, bin_minutes=bin_minutes, smooth=smooth)
        old = agp_before.agp_arrays(t, v, tz=tz, bin_minutes=bin_minutes, smooth=smooth)
        for a, b in zip(new, old, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
        kwargs = {"tz": tz, "bin_minutes": bin_minutes, "smooth": smooth}
        expected = agp_before._agp_dict(t, v, **kwargs)
        assert _agp_dict(t, v, **kwargs) == expected
        # cgm_metrics hands over the whole values it found for the risk table
        assert _agp_dict(t, v, whole=whole_mg_dl(v), **kwargs) == expected


def test_population_agp_equals_the_previous_implementation():
    rng = np.random.default_rng(22)
    traces = [_trace(rng) for _ in range(40)]
    pid = np.concatenate([np.full(t.size, k) for k, (t, _) in enumerate(traces)])
    t = np.concatenate([t for t, _ in traces])
    v = np.concatenate([v for _, v in traces])
    for bin_minutes in (15, 60):
        new = population_agp(pid, t, v, bin_minutes=bin_minutes)
        old = agp_before.population_agp(pid, t, v, bin_minutes=bin_minutes)
        assert np.array_equal(new[0], old[0])
        assert np.array_equal(new[1], old[1], equal_nan=True)
