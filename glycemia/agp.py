"""Ambulatory glucose profile: percentiles 5/25/50/75/95 by local time of day.

Readings are binned by local clock time (`bin_minutes`, default 60: the bin of 07:40 is
07:00-07:59); each bin's percentiles are R type-7 quantiles of the raw readings in it (no
interpolation), which is what iglu's hourly raw profile reports.

Smoothing (`smooth=True`): each percentile curve is replaced by a weighted moving average over
neighbouring bins, wrapping at midnight, with triangular weights spanning one hour either side:
half-width h = max(1, 60 // bin_minutes) bins, weight of the bin k away = h + 1 - |k|, so hourly
bins use 1-2-1 weights and 15-minute bins 1-2-3-4-5-4-3-2-1. Empty bins are skipped (weights
renormalised) and stay empty (None). A weighted average with the same weights preserves the
order p5 <= p25 <= p50 <= p75 <= p95.
"""

from __future__ import annotations

import numpy as np

from glycemia.series import NS_PER_DAY, NS_PER_MINUTE, local_ns

PERCENTILES = (5, 25, 50, 75, 95)
PERCENTILE_KEYS = ("p5", "p25", "p50", "p75", "p95")
_QUANTILES = np.array([p / 100 for p in PERCENTILES])
_KEY_STRIDE = 2048.0  # > any glucose in mg/dL; a power of two keeps bin * stride exact


def _clock_bins(local: np.ndarray, bin_minutes: int, days: np.ndarray | None = None) -> np.ndarray:
    """Clock-time bin of each local wall-clock ns: (local % day) // minute // bin_minutes,
    written with divisions by one number (numpy divides int64 by a scalar several times
    faster than it takes a remainder; the floor of a floor is the floor of the whole).
    ``days``: local // day when the caller has it."""
    if days is None:
        days = local // NS_PER_DAY
    time_of_day = local - days * NS_PER_DAY
    return time_of_day // (NS_PER_MINUTE * bin_minutes)


def binned_quantiles(
    bins: np.ndarray,
    values: np.ndarray,
    nbins: int,
    qs,
    counts: np.ndarray | None = None,
    whole: np.ndarray | None = None,
) -> np.ndarray:
    """Type-7 quantiles per bin, vectorized: array (len(qs), nbins), NaN for empty bins.
    ``counts``: np.bincount(bins, minlength=nbins) when the caller has it; ``whole``: the
    values as int64 when the caller knows they are whole numbers from 0 to 2047."""
    return _binned_quantiles(bins, values, nbins, qs, counts, whole)[0]


_BIN_STARTS: dict[int, np.ndarray] = {}


def _bin_starts(nbins: int) -> np.ndarray:
    """The 16-bit keys at which bins 1 .. nbins - 1 start (bin * stride)."""
    starts = _BIN_STARTS.get(nbins)
    if starts is None:
        starts = _BIN_STARTS[nbins] = np.arange(1, nbins, dtype="uint16") * int(_KEY_STRIDE)
    return starts


# Counting (`_counted`) when the (bin, value) histogram has at most this many cells, and at
# most this many per reading (a short series sorts faster than it fills a large histogram).
_COUNTING_MAX_CELLS = 1 << 15
_COUNTING_CELLS_PER_READING = 8
# With more bins than _COUNTING_MAX_CELLS / this (the population path's thousands), counting
# is not tried: not even 16 distinct values would fit, so the values' range is not read.
_COUNTING_MIN_SPAN = 16


def _binned_quantiles(bins, values, nbins, qs, counts=None, whole=None):
    """`binned_quantiles` and the counts per bin (``counts`` when given)."""
    in_range = whole is not None or (
        values.size and values.min() >= 0 and values.max() < _KEY_STRIDE
    )
    if whole is None and in_range:
        whole = values.astype("int64")
        if not (whole == values).all():
            whole = None
    counted = _counted(bins, whole, nbins) if whole is not None and counts is None else None
    if counted is None:
        sv, counts, offsets = _sorted(bins, values, nbins, counts, whole, in_range)
    else:
        cum, counts, offsets, lowest, span = counted
    # every quantile at once (rows), the same arithmetic per element as one at a time
    has = counts > 0
    every = bool(has.all())
    n = counts if every else counts[has]
    off = offsets if every else offsets[has]
    h = (n - 1) * np.asarray(qs, dtype="float64")[:, None]
    lo = np.floor(h).astype("int64")
    hi = np.minimum(lo + 1, n - 1)
    frac = h - lo
    if counted is None:
        a = sv[off + lo]
        b = sv[off + hi]
    else:  # the value of each rank: its cell (bin * span + value - lowest), as a float
        a = (cum.searchsorted(off + lo, side="right") % span + lowest).astype("float64")
        b = (cum.searchsorted(off + hi, side="right") % span + lowest).astype("float64")
    if every:
        return a + frac * (b - a), counts
    out = np.full((len(qs), nbins), np.nan)
    out[:, has] = a + frac * (b - a)
    return out, counts


def _counted(bins, whole, nbins):
    """(running count of the (bin, value) histogram, counts and offsets per bin, lowest value,
    value span) of whole values in a narrow range (one patient's hourly AGP: ~24 x 400 cells),
    or None when the histogram would be too large.

    Counting stands in for the sort: a bin's readings end where the running count stands at
    the bin's last cell, and the value of rank k in the sorted order is that of the first cell
    where the running count exceeds k; the same sorted values, read only at the ranks the
    quantiles need. A 16-bit sort of 4,000 keys costs 13-29 us depending on the machine's
    numpy; the histogram about half of that (#23)."""
    if not whole.size or nbins * _COUNTING_MIN_SPAN > _COUNTING_MAX_CELLS:
        return None
    lowest = int(whole.min())
    span = int(whole.max()) - lowest + 1
    cells = nbins * span
    if lowest < 0 or cells > min(_COUNTING_MAX_CELLS, _COUNTING_CELLS_PER_READING * whole.size):
        return None
    key = bins * span
    key += whole  # cell + lowest: the histogram's first `lowest` entries are 0
    cum = np.bincount(key, minlength=cells + lowest)[lowest:].cumsum()
    ends = cum[span - 1 :: span]  # readings up to the end of each bin
    counts = np.empty(nbins, dtype="int64")
    counts[0] = ends[0]
    np.subtract(ends[1:], ends[:-1], out=counts[1:])
    return cum, counts, ends - counts, lowest, span


def _sorted(bins, values, nbins, counts, whole, in_range):
    """(values sorted by bin then value, counts and offsets per bin)."""
    sv = offsets = None
    sixteen_bits = whole is not None and nbins * int(_KEY_STRIDE) <= 1 << 16
    if counts is None and not sixteen_bits:  # (16-bit keys: from the sorted keys below)
        counts = np.bincount(bins, minlength=nbins)
    if whole is not None:
        # Whole mg/dL (what sensors report): an integer key sorts the same values in the
        # same order (equal keys are equal values, so any sort gives the same array), and
        # when it fits 16 bits the sort is several times faster than a float sort (numpy's
        # SIMD quicksort or radix sort, whichever the build and the machine make faster);
        # the value is the key's low 11 bits.
        key = bins * int(_KEY_STRIDE) + whole
        if sixteen_bits:
            key = key.astype("uint16")
            key.sort()  # in place: astype made the copy
            sv = (key & (int(_KEY_STRIDE) - 1)).astype("float64")
            if counts is None:  # where each bin starts in the sorted keys: no bincount
                offsets = np.empty(nbins, dtype="int64")
                offsets[0] = 0
                offsets[1:] = key.searchsorted(_bin_starts(nbins))
                counts = np.empty(nbins, dtype="int64")
                np.subtract(offsets[1:], offsets[:-1], out=counts[:-1])
                counts[-1] = key.size - offsets[-1]
        else:
            key = np.sort(key)
            sv = (key - np.repeat(np.arange(nbins) * int(_KEY_STRIDE), counts)).astype("float64")
    elif in_range:
        # One float sort on bin * stride + value is several times faster than a lexsort.
        key = np.sort(bins * _KEY_STRIDE + values)
        sv = key - np.repeat(np.arange(nbins) * _KEY_STRIDE, counts)
    if sv is None:
        sv = values[np.lexsort((values, bins))]
    if offsets is None:
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return sv, counts, offsets


def smooth_circular(curves: np.ndarray, bin_minutes: int) -> np.ndarray:
    """Triangular moving average across neighbouring bins, wrapping at midnight (NaN-aware)."""
    half = max(1, 60 // bin_minutes)
    nbins = curves.shape[-1]
    if half >= nbins:  # very coarse bins: nothing sensible to smooth over
        return curves
    ok = ~np.isnan(curves)
    if ok.all():
        # No empty bin: every weight sum is (half + 1)^2, added up exactly as below.
        padded = np.concatenate((curves[..., -half:], curves, curves[..., :half]), axis=-1)
        # the first term (weight 1) added to 0.0, as a sum from zeros starts (-0.0 becomes
        # 0.0); no multiplication by a weight of 1 (x * 1 is x): fewer array operations
        total = padded[..., 2 * half : 2 * half + nbins] + 0.0
        for k in range(-half + 1, half + 1):
            weight = half + 1 - abs(k)
            term = padded[..., half - k : half - k + nbins]
            total += term if weight == 1 else weight * term
        return total / float((half + 1) ** 2)
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
    t: np.ndarray,
    v: np.ndarray,
    *,
    tz: str,
    bin_minutes: int,
    smooth: bool,
    local=None,
    whole=None,
    days=None,
):
    """(bin start minutes, percentiles array (5, nbins), counts) of a clean series.
    ``local``: its local wall-clock ns when the caller has them; ``whole``: the values as
    int64 when the caller knows they are whole mg/dL below 2048; ``days``: local // day."""
    if 1440 % bin_minutes:
        raise ValueError("bin_minutes must divide 1440")
    nbins = 1440 // bin_minutes
    minutes = np.arange(nbins) * bin_minutes
    if t.size == 0:
        return minutes, np.full((5, nbins), np.nan), np.zeros(nbins, dtype="int64")
    local = local_ns(t, tz) if local is None else local
    bins = _clock_bins(local, bin_minutes, days)
    curves, counts = _binned_quantiles(bins, v, nbins, _QUANTILES, None, whole)
    if smooth:
        curves = smooth_circular(curves, bin_minutes)
    return minutes, curves, counts


def agp(times, values, *, tz: str = "UTC", bin_minutes: int = 60, smooth: bool = True) -> dict:
    """AGP percentile curves by local time of day.

    >>> agp(times, values, tz="Europe/Bucharest")["p50"][7]  # doctest: +SKIP
    104.0
    """
    from glycemia.series import clean_series

    t, v = clean_series(times, values)
    return _agp_dict(t, v, tz=tz, bin_minutes=bin_minutes, smooth=smooth)


def _agp_dict(
    t, v, *, tz: str, bin_minutes: int, smooth: bool, local=None, whole=None, days=None
) -> dict:
    minutes, curves, _ = agp_arrays(
        t,
        v,
        tz=tz,
        bin_minutes=bin_minutes,
        smooth=smooth,
        local=local,
        whole=whole,
        days=days,
    )
    out = {"bin_minutes": int(bin_minutes), "minutes": minutes.tolist()}
    rounded = curves.round(2)
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
    bins = codes.astype("int64") * nbins + _clock_bins(local_ns(t, tz), bin_minutes)
    curves = binned_quantiles(bins, v, ids.size * nbins, [p / 100 for p in PERCENTILES])
    curves = curves.reshape(len(PERCENTILES), ids.size, nbins)
    if smooth:
        curves = smooth_circular(curves, bin_minutes)
    return ids, curves.transpose(1, 0, 2)
