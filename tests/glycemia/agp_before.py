"""glycemia/agp.py as of main 8a517f1 (#23), frozen: the reference test_agp_before.py compares
the faster quantiles and smoothing with. Copied unchanged below this docstring, but for
``agp`` itself (unchanged, and not compared: ``_agp_dict`` is).
"""

from __future__ import annotations

import numpy as np

from glycemia.series import NS_PER_DAY, NS_PER_MINUTE, local_ns

PERCENTILES = (5, 25, 50, 75, 95)
PERCENTILE_KEYS = ("p5", "p25", "p50", "p75", "p95")
_KEY_STRIDE = 2048.0  # > any glucose in mg/dL; a power of two keeps bin * stride exact


def binned_quantiles(bins: np.ndarray, values: np.ndarray, nbins: int, qs) -> np.ndarray:
    """Type-7 quantiles per bin, vectorized: array (len(qs), nbins), NaN for empty bins."""
    counts = np.bincount(bins, minlength=nbins)
    if values.size and values.min() >= 0 and values.max() < _KEY_STRIDE:
        whole = values.astype("int64")
        if np.array_equal(whole, values):
            # Whole mg/dL (what sensors report): an integer key sorts the same values in the
            # same order, and when it fits 16 bits numpy's radix sort takes it (8x faster
            # than the float sort at 24 hourly bins).
            key = bins * int(_KEY_STRIDE) + whole
            if nbins * int(_KEY_STRIDE) <= 1 << 16:
                key = np.sort(key.astype("uint16"), kind="stable").astype("int64")
            else:
                key = np.sort(key)
            offsets_key = np.repeat(np.arange(nbins, dtype="int64") * int(_KEY_STRIDE), counts)
            sv = (key - offsets_key).astype("float64")
        else:
            # One float sort on bin * stride + value is several times faster than a lexsort.
            key = np.sort(bins * _KEY_STRIDE + values)
            sv = key - np.repeat(np.arange(nbins) * _KEY_STRIDE, counts)
    else:
        sv = values[np.lexsort((values, bins))]
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.full((len(qs), nbins), np.nan)
    has = counts > 0
    n = counts[has]
    off = offsets[has]
    # every quantile at once (rows), the same arithmetic per element as one at a time
    h = (n - 1) * np.asarray(qs, dtype="float64")[:, None]
    lo = np.floor(h).astype("int64")
    hi = np.minimum(lo + 1, n - 1)
    frac = h - lo
    a = sv[off + lo]
    b = sv[off + hi]
    out[:, has] = a + frac * (b - a)
    return out


def smooth_circular(curves: np.ndarray, bin_minutes: int) -> np.ndarray:
    """Triangular moving average across neighbouring bins, wrapping at midnight (NaN-aware)."""
    half = max(1, 60 // bin_minutes)
    nbins = curves.shape[-1]
    if half >= nbins:  # very coarse bins: nothing sensible to smooth over
        return curves
    ok = ~np.isnan(curves)
    filled = np.where(ok, curves, 0.0)
    # Wrap at midnight by padding `half` bins on each side, then sum shifted slices.
    padded = np.concatenate((filled[..., -half:], filled, filled[..., :half]), axis=-1)
    present = ok.astype("float64")
    padded_ok = np.concatenate((present[..., -half:], present, present[..., :half]), axis=-1)
    total = np.zeros_like(filled)
    weight = np.zeros_like(filled)
    for k in range(-half, half + 1):
        w = half + 1 - abs(k)
        total += w * padded[..., half - k : half - k + nbins]
        weight += w * padded_ok[..., half - k : half - k + nbins]
    with np.errstate(invalid="ignore"):
        smoothed = total / weight
    return np.where(ok, smoothed, np.nan)


def agp_arrays(
    t: np.ndarray, v: np.ndarray, *, tz: str, bin_minutes: int, smooth: bool, local=None
):
    """(bin start minutes, percentiles array (5, nbins), counts) of a clean series."""
    if 1440 % bin_minutes:
        raise ValueError("bin_minutes must divide 1440")
    nbins = 1440 // bin_minutes
    minutes = np.arange(nbins) * bin_minutes
    if t.size == 0:
        return minutes, np.full((5, nbins), np.nan), np.zeros(nbins, dtype="int64")
    local = local_ns(t, tz) if local is None else local
    minute_of_day = (local % NS_PER_DAY) // NS_PER_MINUTE
    bins = (minute_of_day // bin_minutes).astype("int64")
    curves = binned_quantiles(bins, v, nbins, [p / 100 for p in PERCENTILES])
    if smooth:
        curves = smooth_circular(curves, bin_minutes)
    return minutes, curves, np.bincount(bins, minlength=nbins)


def _agp_dict(t, v, *, tz: str, bin_minutes: int, smooth: bool, local=None) -> dict:
    minutes, curves, _ = agp_arrays(
        t, v, tz=tz, bin_minutes=bin_minutes, smooth=smooth, local=local
    )
    out = {"bin_minutes": int(bin_minutes), "minutes": minutes.tolist()}
    rounded = np.round(curves, 2)
    rows = rounded.tolist()
    if np.isnan(rounded).any():  # empty bins -> None (JSON null)
        rows = [[None if x != x else x for x in row] for row in rows]
    for key, row in zip(PERCENTILE_KEYS, rows, strict=True):
        out[key] = row
    return out


def population_agp(
    patient_ids, times, values, *, tz: str = "UTC", bin_minutes: int = 60, smooth: bool = True
):
    """AGP curves of many patients at once: (patient ids, array (patients, 5, bins)).

    One type-7 quantile pass over (patient, clock bin) groups and one smoothing pass over all
    curves; per patient the numbers equal `agp(...)` on that patient's readings.
    """
    from glycemia.series import as_ns

    if 1440 % bin_minutes:
        raise ValueError("bin_minutes must divide 1440")
    pid = np.asarray(patient_ids)
    t = as_ns(times)
    v = np.asarray(values, dtype="float64")
    ok = ~np.isnan(v)
    pid, t, v = pid[ok], t[ok], v[ok]
    order = np.lexsort((t, pid))
    pid, t, v = pid[order], t[order], v[order]
    keep = np.ones(t.size, dtype=bool)  # equal instants of one patient: keep the last
    keep[:-1] = ~((pid[1:] == pid[:-1]) & (t[1:] == t[:-1]))
    pid, t, v = pid[keep], t[keep], v[keep]
    ids, codes = np.unique(pid, return_inverse=True)
    nbins = 1440 // bin_minutes
    minute_of_day = (local_ns(t, tz) % NS_PER_DAY) // NS_PER_MINUTE
    bins = codes.astype("int64") * nbins + minute_of_day // bin_minutes
    curves = binned_quantiles(bins, v, ids.size * nbins, [p / 100 for p in PERCENTILES])
    curves = curves.reshape(len(PERCENTILES), ids.size, nbins)
    if smooth:
        curves = smooth_circular(curves, bin_minutes)
    return ids, curves.transpose(1, 0, 2)
