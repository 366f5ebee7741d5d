"""glycemia/mage.py as of main 8a517f1 (#23), frozen: the reference the differential tests in
test_mage_reference.py compare the restructured MAGE with, bit for bit, on random traces.

Copied unchanged below this docstring except for the module docstring; ``mage_many`` (not
changed, not compared) is left out. ``_rises`` was imported from glycemia.mage until it
changed (a one-pass loop, #23): it is copied here as it stood.
"""

from __future__ import annotations

import numpy as np

from glycemia.constants import (
    MAGE_GRID_MINUTES,
    MAGE_INTER_GAP_MINUTES,
    MAGE_LONG_MA,
    MAGE_MAX_GAP_MINUTES,
    MAGE_SHORT_MA,
)
from glycemia.series import NS_PER_DAY, NS_PER_MINUTE, local_day_numbers, local_ns, sample_sd

# iglu's mage_atomic returns NA when the segment's SD is NA or below 1 mg/dL.
MAGE_MIN_SD = 1.0

MAGE_ALGORITHM = (
    "iglu 4.3.0 moving-average MAGE (Fernandes et al. 2022): 5-min linear grid (no "
    "interpolation over gaps > 45 min), segments split at gaps > 180 min, short MA 5 / long "
    "MA 32 points, excursions >= 1 SD, mean of MAGE+ and MAGE-, segments weighted by duration"
)


def interpolated_grid(
    t: np.ndarray, v: np.ndarray, tz: str = "UTC", first_local: int | None = None
) -> np.ndarray:
    """iglu CGMS2DayByDay with dt0 = 5: glucose on the 5-minute grid (NaN where missing)."""
    step = MAGE_GRID_MINUTES * NS_PER_MINUTE
    span_days = (t[-1] - t[0]) / NS_PER_DAY
    ndays = int(np.ceil(span_days + 1))
    if first_local is None:
        first_local = local_ns(t[:1], tz)[0]
    # UTC instant of local midnight of the first day (the offset at the first reading).
    midnight = t[0] - (first_local - local_day_numbers(first_local) * NS_PER_DAY)
    grid = midnight + step * np.arange(1, ndays * 1440 // MAGE_GRID_MINUTES + 1, dtype="int64")
    g = np.interp(grid.astype("float64"), t.astype("float64"), v, left=np.nan, right=np.nan)
    gaps = np.flatnonzero(np.diff(t) > MAGE_INTER_GAP_MINUTES * NS_PER_MINUTE)
    if gaps.size:
        lo = np.searchsorted(grid, t[gaps], side="right")  # grid > t[gap]
        hi = np.searchsorted(grid, t[gaps + 1], side="left")  # grid < t[gap + 1]
        # the gaps are ordered and disjoint: blank each one's grid points [lo, hi)
        if gaps.size <= 64:
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                g[a:b] = np.nan
        else:
            depth = np.bincount(lo, minlength=grid.size + 1) - np.bincount(
                hi, minlength=grid.size + 1
            )
            g[np.cumsum(depth[:-1]) > 0] = np.nan
    return g


def _moving_averages(
    g: np.ndarray, widths: tuple[int, ...], ok: np.ndarray | None = None
) -> list[np.ndarray]:
    """Right-aligned means of each width ignoring NaN; the first ``width`` take the first full
    one. One pass of cumulative sums serves every width (the arithmetic per width is the same
    as computing it alone)."""
    ok = ~np.isnan(g) if ok is None else ok
    csum = np.empty(g.size + 1)
    csum[0] = 0.0
    np.cumsum(np.where(ok, g, 0.0), out=csum[1:])
    ccnt = np.empty(g.size + 1, dtype="int64")
    ccnt[0] = 0
    np.cumsum(ok, out=ccnt[1:])
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for width in widths:
            avg = np.empty(g.size)
            # NaN where the whole window is missing
            np.divide(
                csum[width:] - csum[:-width], ccnt[width:] - ccnt[:-width], out=avg[width - 1 :]
            )
            avg[: width - 1] = avg[width - 1]
            out.append(avg)
    return out


def _crossings(delta: np.ndarray, nan_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indexes, is-max flags) of iglu's crossing points, first and last point included.

    iglu walks the segment: a point is a crossing when short - long changes sign against the
    previous point (a "strict" crossing), or against the sign of the last crossing. Both need
    the point and its predecessor to be present. Vectorized: among the candidate points (valid,
    delta != 0), the last crossing before a candidate always has the sign of the previous
    candidate (either it was that crossing, or it was skipped for having the same sign), so a
    candidate is a crossing when it is strict or its sign differs from the previous one's. Only
    a segment whose first delta is 0 or missing differs: until the first strict crossing
    nothing else can cross.
    """
    n = delta.size
    bad = nan_g | np.isnan(delta)
    valid = np.zeros(n, dtype=bool)
    np.logical_not(bad[1:] | bad[:-1], out=valid[1:])
    valid &= delta != 0
    candidates = np.flatnonzero(valid)
    at = delta[candidates]
    sign = np.where(at > 0, 1, -1)
    strict = at * delta[candidates - 1] < 0
    first = delta[0]
    first_sign = 1 if first > 0 else (-1 if first < 0 else 0)  # NaN -> 0
    previous = np.empty_like(sign)
    if sign.size:
        previous[0] = first_sign
        previous[1:] = sign[:-1]
        if first_sign == 0:
            first_strict = int(np.argmax(strict)) if strict.any() else sign.size
            previous[:first_strict] = 0
    crossing = strict | ((previous != 0) & (sign != previous))
    ids = np.concatenate(([0], candidates[crossing], [n - 1]))
    is_max = np.concatenate(([first > 0], sign[crossing] > 0, [delta[-1] > 0]))
    return ids, is_max


def _turning_points(
    g: np.ndarray, nan_g: np.ndarray, cross_ids: np.ndarray, cross_max: np.ndarray
) -> list[int]:
    """Turning points: for each pair of consecutive crossings, the first extreme glucose (a
    peak after an upward crossing, a nadir after a downward one) from the previous turning
    point to the next crossing; missing points never win (+inf for nadirs, -inf for peaks).

    Each search starts where the previous one ended, so this stays a loop over crossings. A
    vectorized fixed-point version (all searches at once, again while a start moves; 2-4
    rounds) was measured slower at 14 days (~160 crossings over ~4,000 points, #23): each
    round costs as much as the whole loop.
    """
    for_min = np.where(nan_g, np.inf, g)
    for_max = np.where(nan_g, -np.inf, g)
    turning: list[int] = []
    prev = 0
    for stop, is_max in zip((cross_ids[1:] + 1).tolist(), cross_max[:-1].tolist(), strict=True):
        if is_max:
            prev += int(for_max[prev:stop].argmax())
        else:
            prev += int(for_min[prev:stop].argmin())
        turning.append(prev)
    return turning


def _segment(g: np.ndarray, nan_g: np.ndarray | None = None) -> tuple[float | None, float | None]:
    """(MAGE+, MAGE-) of one segment, None where undefined (iglu's mage_atomic)."""
    n = g.size
    if n < 7 or n < MAGE_LONG_MA:
        return None, None
    if nan_g is None:
        nan_g = np.isnan(g)
    present = g[~nan_g]
    if present.size == 0:
        return None, None
    # iglu's mage_atomic gives NA below one SD: no turning points needed then.
    sd = sample_sd(present) if present.size > 1 else float("nan")
    if not sd >= MAGE_MIN_SD:
        return None, None
    short, long = _moving_averages(g, (MAGE_SHORT_MA, MAGE_LONG_MA), ~nan_g)
    delta = short - long
    cross_ids, cross_max = _crossings(delta, nan_g)
    turning = _turning_points(g, nan_g, cross_ids, cross_max)
    extrema = g[turning].tolist()
    plus = _excursions(extrema, sd, rising=True)
    minus = _excursions(extrema, sd, rising=False)
    mage_plus = sum(plus) / len(plus) if plus else None
    mage_minus = abs(sum(minus) / len(minus)) if minus else None
    return mage_plus, mage_minus


def _excursions(a: list[float], sd: float, *, rising: bool) -> list[float]:
    """Heights of the excursions of at least one SD (iglu's MAGE+ / MAGE- elimination loop).

    The lowest (MAGE+) or highest (MAGE-) turning point since the last excursion is kept
    incrementally, as R's which.min/which.max over the same window would pick it. One loop
    per direction (this runs over every turning point twice per patient).
    """
    return _rises(a, sd) if rising else _falls(a, sd)


def _rises(a: list[float], sd: float) -> list[float]:
    """MAGE+: from the lowest point since the last rise, a rise of >= sd opens an excursion;
    its peak is closed once glucose falls more than sd below it (or the trace ends), and the
    search restarts from the point that closed it."""
    n = len(a)
    heights: list[float] = []
    j = 0
    low = a[0]
    while j < n:
        x = a[j]
        if x < low:
            low = x
        if not x - low >= sd:
            j += 1
            continue
        peak = x
        for k in range(j, n):
            y = a[k]
            if y > peak:
                peak = y
            if y - peak < -sd or k == n - 1:
                break
        heights.append(peak - low)
        j = k
        low = a[k]
    return heights


def _falls(a: list[float], sd: float) -> list[float]:
    """MAGE-: from the highest point since the last fall, a fall of >= sd opens an excursion;
    its nadir is closed once glucose rises more than sd above it (or the trace ends), and the
    search restarts from the nadir (iglu's asymmetry)."""
    n = len(a)
    heights: list[float] = []
    j = 0
    high = a[0]
    while j < n:
        x = a[j]
        if x > high:
            high = x
        if not x - high <= -sd:
            j += 1
            continue
        nadir, at = x, j
        for k in range(j, n):
            y = a[k]
            if y < nadir:
                nadir, at = y, k
            if y - nadir > sd or k == n - 1:
                break
        heights.append(nadir - high)
        j = k
        high = max(a[at : k + 1])
    return heights


def mage(
    times_ns: np.ndarray, values: np.ndarray, tz: str = "UTC", first_local: int | None = None
) -> dict:
    """{"mage", "mage_plus", "mage_minus"} in mg/dL (None when undefined) of a clean series."""
    none = {"mage": None, "mage_plus": None, "mage_minus": None}
    if times_ns.size < 2:
        return none
    g = interpolated_grid(times_ns, values, tz, first_local)
    missing = np.isnan(g)
    ok = np.flatnonzero(~missing)
    if ok.size == 0:
        return none
    g = g[ok[0] : ok[-1] + 1]
    missing = missing[ok[0] : ok[-1] + 1]
    if g.size < 7 or g.size < MAGE_LONG_MA:
        return none
    # Segments: split at runs of missing grid points longer than max_gap.
    edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.view("int8"), [0]))))
    run_starts, run_ends = edges[0::2], edges[1::2]  # [start, end) of missing runs
    long_runs = (run_ends - run_starts) * MAGE_GRID_MINUTES > MAGE_MAX_GAP_MINUTES
    cuts = [0]
    for s, e in zip(run_starts[long_runs], run_ends[long_runs], strict=True):
        cuts.extend((int(s), int(e)))
    cuts.append(g.size)
    weighted = {"plus": [0.0, 0.0], "minus": [0.0, 0.0], "avg": [0.0, 0.0]}
    for s, e in zip(cuts[0::2], cuts[1::2], strict=True):
        if e <= s:
            continue
        p, m = _segment(g[s:e], missing[s:e])
        duration = float(e - 1 - s)  # segment length in grid steps (end - start)
        for key, val in (("plus", p), ("minus", m)):
            if val is not None:
                weighted[key][0] += val * duration
                weighted[key][1] += duration
                weighted["avg"][0] += val * duration
                weighted["avg"][1] += duration

    def _mean(key):
        total, weight = weighted[key]
        return total / weight if weight > 0 else None

    return {"mage": _mean("avg"), "mage_plus": _mean("plus"), "mage_minus": _mean("minus")}
