"""MAGE, mean amplitude of glycaemic excursions: R iglu's moving-average ("ma") algorithm.

Source: Fernandes NJ et al., "Open-source algorithm to calculate mean amplitude of glycemic
excursions using short and long moving averages", J Diabetes Sci Technol 16(2):576-577 (2022),
as implemented by iglu 4.3.0 (`mage(version = "ma")`). Steps:

1. Interpolate the readings linearly onto a 5-minute grid that starts at 00:05 local time of
   the first day and runs for ceil(span_days + 1) days; grid points inside a gap of more than
   45 minutes between readings stay missing, and so do points before the first / after the
   last reading (which are trimmed).
2. Split the grid into segments at runs of missing points longer than 180 minutes; each
   segment is analysed alone (segments with fewer than 32 points give no value).
3. In a segment, compute right-aligned moving averages of 5 (short) and 32 (long) points,
   ignoring missing points (the first 5 / 32 values take the first complete average).
4. Crossing points are where short - long changes sign (compared with the previous point, or
   with the last crossing when the previous point was missing or exactly zero); the first and
   last points are added. Between consecutive crossings the extreme glucose value (a nadir
   after a downward crossing, a peak after an upward one) is a turning point, searched from
   the previous turning point to the next crossing.
5. A segment whose sample SD is missing or below 1 mg/dL (a flat trace: any "excursion"
   would be one quantization step) gives no value, as iglu's compiled mage_atomic does.
   With the segment's sample SD as the threshold, MAGE+ averages the nadir-to-peak rises of
   at least one SD (each rise is closed once glucose falls back by more than one SD, or the
   trace ends) and MAGE- the peak-to-nadir falls of at least one SD, symmetrically.
6. MAGE = mean of MAGE+ and MAGE- ("avg"); across segments, values are averaged weighted by
   segment duration.

    >>> round(mage(t, v)["mage"], 4)  # doctest: +SKIP  (iglu 4.3.0 reference file: 69.1376)
"""

from __future__ import annotations

import math

import numpy as np

from glycemia.constants import (
    MAGE_GRID_MINUTES,
    MAGE_INTER_GAP_MINUTES,
    MAGE_LONG_MA,
    MAGE_MAX_GAP_MINUTES,
    MAGE_SHORT_MA,
)
from glycemia.series import NS_PER_DAY, NS_PER_MINUTE, local_ns, sample_sd

# iglu's mage_atomic returns NA when the segment's SD is NA or below 1 mg/dL.
MAGE_MIN_SD = 1.0

MAGE_ALGORITHM = (
    "iglu 4.3.0 moving-average MAGE (Fernandes et al. 2022): 5-min linear grid (no "
    "interpolation over gaps > 45 min), segments split at gaps > 180 min, short MA 5 / long "
    "MA 32 points, excursions >= 1 SD, mean of MAGE+ and MAGE-, segments weighted by duration"
)


def _grid_steps(t: np.ndarray, tz: str, first_local: int | None) -> tuple[int, int, int, int]:
    """(local midnight of the first day as UTC ns, grid step ns, first and last grid number
    holding a value): the grid is midnight + step * k for k = 1 .. ndays * 288 (iglu's
    CGMS2DayByDay with dt0 = 5), and np.interp gives a value only to grid points between the
    first and last reading as float64 (its `left`/`right`), so those two numbers are found
    with the same float comparisons rather than by interpolating the whole grid."""
    step = MAGE_GRID_MINUTES * NS_PER_MINUTE
    # Python integers and floats (numpy scalar arithmetic costs ~0.2 us per operation): the
    # span is divided as numpy divides int64 by int (both as float64), then rounded up
    first, end = int(t[0]), int(t[-1])
    ndays = math.ceil(float(end - first) / NS_PER_DAY + 1)
    if first_local is None:
        first_local = local_ns(t[:1], tz)[0]
    first_local = int(first_local)
    # UTC instant of local midnight of the first day (the offset at the first reading).
    midnight = first - (first_local - first_local // NS_PER_DAY * NS_PER_DAY)
    last_k = ndays * 1440 // MAGE_GRID_MINUTES
    first_f, end_f = float(first), float(end)
    k0 = max(1, -((midnight - first) // step))  # first k with grid >= t[0] in integers
    while k0 > 1 and float(midnight + step * (k0 - 1)) >= first_f:
        k0 -= 1
    while k0 <= last_k and float(midnight + step * k0) < first_f:
        k0 += 1
    k1 = min(last_k, (end - midnight) // step)  # last k with grid <= t[-1]
    while k1 < last_k and float(midnight + step * (k1 + 1)) <= end_f:
        k1 += 1
    while k1 >= k0 and float(midnight + step * k1) > end_f:
        k1 -= 1
    return midnight, step, k0, k1


def interpolated_grid(
    t: np.ndarray, v: np.ndarray, tz: str = "UTC", first_local: int | None = None
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """iglu CGMS2DayByDay with dt0 = 5, trimmed to its first and last value: (glucose on the
    5-minute grid, NaN where missing; the missing runs [start, end), in order).

    A grid point is missing when it lies strictly inside a gap of more than 45 minutes
    between readings. Only the points from the first to the last reading are interpolated,
    and the gaps' grid points are found by integer arithmetic on the grid numbers instead of
    searching the grid (the same points: grid > t[gap] and grid < t[gap + 1]).
    """
    midnight, step, k0, k1 = _grid_steps(t, tz, first_local)
    if k1 < k0:
        return np.zeros(0), []
    d = t[1:] - t[:-1]
    on_grid = _on_grid(t, v, d, midnight, step, k0, k1)
    if on_grid is not None:
        return on_grid
    runs: list[tuple[int, int]] = []
    gaps = (d > MAGE_INTER_GAP_MINUTES * NS_PER_MINUTE).nonzero()[0]
    if gaps.size:
        n = k1 - k0 + 1
        for before, after in zip(t[gaps].tolist(), t[gaps + 1].tolist(), strict=True):
            # grid numbers k with grid > t[gap] start at floor((t[gap] - midnight) / step) + 1;
            # those with grid < t[gap + 1] end before ceil((t[gap + 1] - midnight) / step)
            a = min(max((before - midnight) // step + 1 - k0, 0), n)
            b = min(max(-((midnight - after) // step) - k0, 0), n)
            if b <= a:
                continue
            if runs and runs[-1][1] == a:  # two gaps around one reading off the grid
                runs[-1] = (runs[-1][0], b)
            else:
                runs.append((a, b))
        # missing points at either end are trimmed, as iglu drops leading/trailing NA
        start, end = 0, n
        if runs and runs[0][0] == 0:
            start = runs.pop(0)[1]
        if runs and runs[-1][1] == n:
            end = runs.pop()[0]
        if end <= start:
            return np.zeros(0), []
        k0, k1 = k0 + start, k0 + end - 1
        runs = [(a - start, b - start) for a, b in runs]
    grid = midnight + step * np.arange(k0, k1 + 1, dtype="int64")
    g = np.interp(grid.astype("float64"), t.astype("float64"), v, left=np.nan, right=np.nan)
    for a, b in runs:
        g[a:b] = np.nan
    return g, runs


# Beyond this many spacings other than one grid step, the general path is as fast.
_ON_GRID_MAX_IRREGULAR = 64


def _on_grid(t, v, d, midnight: int, step: int, k0: int, k1: int):
    """`interpolated_grid` when every reading lies on the grid (the usual 5-minute sensor
    read at whole 5-minute marks), the first and last at grid numbers k0 and k1; None
    otherwise, or when more than a few spacings differ from one step.

    np.interp gives a grid point that is a reading that reading's value exactly (numpy
    returns fp[j] where x == xp[j]), so runs of readings one step apart are copied; the grid
    points inside a gap of more than 45 minutes are the gap's missing run, as the general
    path finds them (the points strictly between the two readings); only the points inside
    shorter gaps are interpolated, by np.interp itself with the readings around them.
    """
    if int(t[0]) != midnight + step * k0 or int(t[-1]) != midnight + step * k1:
        return None
    odd = (d != step).nonzero()[0]
    if odd.size > _ON_GRID_MAX_IRREGULAR:
        return None
    spans = d[odd].tolist()
    if any(span % step for span in spans):  # a reading off the grid
        return None
    g = np.empty(k1 - k0 + 1)
    runs: list[tuple[int, int]] = []
    inside: list[np.ndarray] = []  # grid numbers (from 0) of points inside short gaps
    around: list[int] = []  # the readings on either side of those gaps, in order
    limit = MAGE_INTER_GAP_MINUTES * NS_PER_MINUTE
    at = first = 0  # grid number and reading index of the current block's first reading
    for i, span in zip(odd.tolist(), spans, strict=True):
        end = at + i + 1 - first  # readings first .. i sit at grid numbers at .. end - 1
        g[at:end] = v[first : i + 1]
        after = end - 1 + span // step  # grid number of reading i + 1
        if span > limit:
            g[end:after] = np.nan
            runs.append((end, after))
        else:
            inside.append(np.arange(end, after))
            if not around or around[-1] != i:
                around.append(i)
            around.append(i + 1)
        at, first = after, i + 1
    g[at:] = v[first:]
    if inside:
        k = np.concatenate(inside)
        x = (midnight + step * (k + k0)).astype("float64")
        # np.interp reads only the two readings around each point (the same slope and
        # offset as with every reading given): convert just those to float
        g[k] = np.interp(x, t[around].astype("float64"), v[around], left=np.nan, right=np.nan)
    return g, runs


def _missing_runs(nan_g: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], nan_g.view("int8"), [0]))))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


# Up to this many missing runs, counting present points run by run beats a cumulative sum.
_FEW_RUNS = 16

_RANGE = np.arange(0.0)


def _float_range(n: int) -> np.ndarray:
    """np.arange(n) as float64, a read-only view of one array kept for every call (a grid
    of 14 days is ~4,000 points: building it each time costs as much as using it)."""
    global _RANGE
    if _RANGE.size < n:
        _RANGE = np.arange(float(max(n, 2 * _RANGE.size)))
        _RANGE.flags.writeable = False
    return _RANGE[:n]


def _moving_averages(
    g: np.ndarray, widths: tuple[int, ...], runs: list[tuple[int, int]] | None = None
) -> list[np.ndarray]:
    """Right-aligned means of each width ignoring NaN; the first ``width`` take the first full
    one. One pass of cumulative sums serves every width (the arithmetic per width is the same
    as computing it alone). ``runs``: the missing (NaN) runs [start, end), none when empty
    (every window then holds ``width`` points: the same division by the same count).

    Window sums by doubling (sums of 2, 4, 8, 16, 32 points from the ones half as wide, 5 as
    4 + 1) were measured in #23: four times faster than this cumulative sum (numpy's is a
    scalar loop, ~15 us for 14 days), but MAGE changed in 6 of 1,300 test series (jitter,
    gaps, plateaus, mmol/L floats; up to 2.1 mg/dL), and in all 6 the exact means (math.fsum
    per window, as R's mean in iglu) gave this function's MAGE, not the doubled sums'."""
    n = g.size
    csum = np.empty(n + 1)
    csum[0] = 0.0
    ccnt = None
    if runs:
        filled = g.copy()
        for a, b in runs:
            filled[a:b] = 0.0
        filled.cumsum(out=csum[1:])
        if len(runs) <= _FEW_RUNS:
            # present points before each index: all of them less the missing ones, run by
            # run (a few slices cost less than a cumulative sum over every point); as floats,
            # the whole numbers a division by an int64 count converts them to (numpy divides
            # float by float twice as fast)
            # (after a run ends, the missing ones so far; inside it, as at its start)
            missing, before, lengths, end = 0, [0.0], [], 0
            for a, b in runs:
                lengths.append(b + 1 - end)
                end = b + 1
                missing += b - a
                before.append(float(missing))
            lengths.append(n + 1 - end)
            # (the method on an array: np.repeat on a list goes through a slow wrapper)
            ccnt = _float_range(n + 1) - np.array(before).repeat(lengths)
            for (a, b), missing_before in zip(runs, before, strict=False):
                ccnt[a + 1 : b + 1] = a - missing_before  # the count at the run's start
        else:
            ccnt = np.empty(n + 1)
            ccnt[0] = 0.0
            np.cumsum(~np.isnan(g), out=ccnt[1:])
    else:
        g.cumsum(out=csum[1:])
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for width in widths:
            avg = np.empty(n)
            # NaN where the whole window is missing
            count = width if ccnt is None else ccnt[width:] - ccnt[:-width]
            np.divide(csum[width:] - csum[:-width], count, out=avg[width - 1 :])
            avg[: width - 1] = avg[width - 1]
            out.append(avg)
    return out


def _crossings(
    delta: np.ndarray, nan_g: np.ndarray, runs: list[tuple[int, int]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(indexes, is-max flags) of iglu's crossing points, first and last point included.

    iglu walks the segment: a point is a crossing when short - long changes sign against the
    previous point (a "strict" crossing), or against the sign of the last crossing. Both need
    the point and its predecessor to be present. Vectorized: among the candidate points (valid,
    delta != 0), the last crossing before a candidate always has the sign of the previous
    candidate (either it was that crossing, or it was skipped for having the same sign), so a
    candidate is a crossing when it is strict or its sign differs from the previous one's. Only
    a segment whose first delta is 0 or missing differs: until the first strict crossing
    nothing else can cross.

    The usual case takes a shorter road (`_crossings_present_start`): the first point present
    and its delta not 0.
    """
    if not nan_g[0] and delta[0] != 0:
        if runs is None:
            runs = _missing_runs(nan_g)
        return _crossings_present_start(delta, runs)
    n = delta.size
    bad = nan_g | np.isnan(delta)
    valid = np.zeros(n, dtype=bool)
    np.logical_not(bad[1:] | bad[:-1], out=valid[1:])
    valid &= delta != 0
    candidates = valid.nonzero()[0]
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


def _crossings_present_start(delta: np.ndarray, runs: list[tuple[int, int]]):
    """`_crossings` when the first point is present and its delta is not 0.

    Then a delta is NaN only at a missing point (a moving average is NaN only when its whole
    window is missing, the point itself included; the first windows hold the first point),
    and the points that are not candidates form few blocks: a missing run a .. b - 1 blocks
    a .. b (b's predecessor is missing), a delta of exactly 0 blocks its point. Between two
    candidates in a row "strict" and "differs from the previous candidate" are one test, a
    change of `delta > 0` (the first point stands for `first_sign`), done for all points at
    once; the first candidate after each block is decided alone: strict against the point
    before it when that delta is not 0, or differing from the candidate before the block.
    """
    n = delta.size
    pos = delta > 0
    # crossing[i]: point i against point i - 1 (and the first point, always a crossing point)
    crossing = np.empty(n, dtype=bool)
    np.not_equal(pos[1:], pos[:-1], out=crossing[1:])
    crossing[0] = True
    change = crossing[1:]  # change[i - 1]: point i against point i - 1
    zeros = (delta == 0).nonzero()[0].tolist()
    blocks: list[list[int]] = []  # [first, last] non-candidate points, merged, in order
    i = j = 0
    while i < len(runs) or j < len(zeros):
        if j == len(zeros) or (i < len(runs) and runs[i][0] <= zeros[j]):
            x, y = runs[i][0], runs[i][1]
            i += 1
        else:
            x = y = zeros[j]
            j += 1
        if blocks and x <= blocks[-1][1] + 1:
            blocks[-1][1] = max(blocks[-1][1], y)
        else:
            blocks.append([x, y])
    if blocks:
        for x, y in blocks:  # x >= 1; the point x - 1 is a candidate (or the first point)
            change[x - 1 : y + 1] = False  # points x .. y + 1
        # what deciding each block's next point reads, fetched at once as Python values
        # (numpy scalar reads and comparisons cost ~0.3 us each)
        ys = [y for _, y in blocks]
        k = len(blocks)
        signs = pos[[min(y + 1, n - 1) for y in ys] + ys + [x - 1 for x, _ in blocks]].tolist()
        nonzero = (delta[ys] != 0).tolist()
        for i, y in enumerate(ys):
            if y + 1 < n:
                at = signs[i]
                if (nonzero[i] and at != signs[k + i]) or at != signs[2 * k + i]:
                    change[y] = True  # point y + 1, cleared with its block, crosses
    # the first and last points are added as crossing points; a last point that crosses is
    # listed twice, as iglu lists it (read before it is set; a one-point segment's only
    # point is first and last: twice too; one array, no concatenation)
    last_crosses = bool(crossing[n - 1])
    crossing[n - 1] = True
    ids = crossing.nonzero()[0]
    if last_crosses:
        ids = np.append(ids, n - 1)
    return ids, pos[ids]


def _turning_points(
    g: np.ndarray,
    nan_g: np.ndarray | None,
    cross_ids: np.ndarray,
    cross_max: np.ndarray,
    runs: list[tuple[int, int]] | None = None,
) -> np.ndarray:
    """Turning points (positions in g, in order): for each pair of consecutive crossings,
    the first extreme glucose (a peak after an upward crossing, a nadir after a downward one)
    from the previous turning point to the next crossing; missing points never win (+inf for
    nadirs, -inf for peaks).

    Each search starts where the previous one ended, so this stays a loop over crossings. A
    vectorized fixed-point version (all searches at once, again while a start moves; 2-4
    rounds) was measured slower at 14 days (~160 crossings over ~4,000 points, #23): each
    round costs as much as the whole loop. So was an exact vectorized one (natural extremes
    per crossing window by reduceat, then the ~13 % of windows whose extreme lies before
    their crossing, and the chains they start, searched one by one: ~40 searches per bench
    patient): 108 vs 81 us per patient (same process, load 2). Built again with one signed
    array (a peak and a nadir both a maximum), one reduceat per pass and the prefix check
    vectorized: ~37 us of array work plus ~38 searches, 72-78 vs 70-75 us (bit-identical).
    A third build (session 11: NaN kept in the signed array for fmax/fmin.reduceat, natural
    positions by one comparison with the repeated maxima, chains resumed from the wins)
    cut instructions by ~20 % (callgrind) but time by only 2-9 % of this stage, per-call
    minimum under load: ~25 array passes over 4,000 points cost about as much as 120 small
    searches. What did pay was the loop body itself (below).
    """
    if nan_g is None or not (runs or nan_g.any()):
        for_min = for_max = g
    else:
        if runs is None:
            runs = _missing_runs(nan_g)
        for_min = g.copy()
        for_max = g.copy()
        for a, b in runs:
            for_min[a:b] = np.inf
            for_max[a:b] = -np.inf
    # positions stay numpy integers (int() on each costs more than slicing with them and
    # one conversion of the list at the end): ~15 % of the loop (#23)
    turning: list = []
    found = turning.append
    prev = 0
    for stop, is_max in zip((cross_ids[1:] + 1).tolist(), cross_max[:-1].tolist(), strict=True):
        prev += for_max[prev:stop].argmax() if is_max else for_min[prev:stop].argmin()
        found(prev)
    return np.fromiter(turning, np.intp, len(turning))


def _segment(
    g: np.ndarray, nan_g: np.ndarray | None = None, runs: list[tuple[int, int]] | None = None
) -> tuple[float | None, float | None]:
    """(MAGE+, MAGE-) of one segment, None where undefined (iglu's mage_atomic).

    ``runs``: the segment's missing runs [start, end) when the caller knows them (`mage`
    does), an empty list for a segment with none; otherwise they are found from ``nan_g``.
    """
    n = g.size
    if n < 7 or n < MAGE_LONG_MA:
        return None, None
    if runs is None:
        if nan_g is None:
            nan_g = np.isnan(g)
        runs = _missing_runs(nan_g)
    if runs:
        if nan_g is None:
            nan_g = np.isnan(g)
        # the points between the missing runs, in order (a mask: ~3 us less than
        # concatenating the slices between the runs, #23)
        present = g[~nan_g]
    else:
        nan_g = np.zeros(n, dtype=bool) if nan_g is None else nan_g
        present = g
    if present.size == 0:
        return None, None
    # iglu's mage_atomic gives NA below one SD: no turning points needed then.
    sd = sample_sd(present) if present.size > 1 else float("nan")
    if not sd >= MAGE_MIN_SD:
        return None, None
    delta, long = _moving_averages(g, (MAGE_SHORT_MA, MAGE_LONG_MA), runs)
    delta -= long  # short - long, in the short average's array
    cross_ids, cross_max = _crossings(delta, nan_g, runs)
    turning = _turning_points(g, nan_g if runs else None, cross_ids, cross_max, runs)
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
    search restarts from the point that closed it.

    One pass over the points (a state machine: seeking or inside an excursion), the same
    comparisons in the same order as the nested loops of iglu's elimination, which revisit
    the closing point: here it is examined again in the same step (for sd > 0, the only SD
    a segment gives, it never reopens one). Half the time of the nested loops (#23).
    """
    heights: list[float] = []
    low = a[0]
    inside = False
    peak = 0.0
    below = -sd  # negated once (the same float every time)
    for x in a:
        if inside:
            if x > peak:
                peak = x
            if not x - peak < below:
                continue
            heights.append(peak - low)
            inside = False
            low = x  # the closing point starts the next search
        if x < low:
            low = x
        if x - low >= sd:
            inside = True
            peak = x
    if inside:  # closed by the end of the trace
        heights.append(peak - low)
    return heights


def _falls(a: list[float], sd: float) -> list[float]:
    """MAGE-: from the highest point since the last fall, a fall of >= sd opens an excursion;
    its nadir is closed once glucose rises more than sd above it (or the trace ends), and the
    search restarts from the closing point with the highest point since the nadir.

    One pass, as `_rises`. The nested loops revisit the last point after an excursion the
    end closed, from the highest point since its nadir: a last point exactly sd below that
    one opens (and the end closes) one more fall, kept here.
    """
    heights: list[float] = []
    high = a[0]
    inside = False
    nadir = top = 0.0  # top: the highest point from the nadir on
    below = -sd  # negated once (the same float every time)
    for x in a:
        if inside:
            if x < nadir:
                nadir = top = x
            elif x > top:
                top = x
            if not x - nadir > sd:
                continue
            heights.append(nadir - high)
            inside = False
            high = top
        if x > high:
            high = x
        if x - high <= below:
            inside = True
            nadir = top = x
    if inside:  # closed by the end of the trace
        heights.append(nadir - high)
        if a[-1] - top <= below:
            heights.append(a[-1] - top)
    return heights


def mage(
    times_ns: np.ndarray, values: np.ndarray, tz: str = "UTC", first_local: int | None = None
) -> dict:
    """{"mage", "mage_plus", "mage_minus"} in mg/dL (None when undefined) of a clean series."""
    none = {"mage": None, "mage_plus": None, "mage_minus": None}
    if times_ns.size < 2:
        return none
    g, runs = interpolated_grid(times_ns, values, tz, first_local)
    nan_g = np.isnan(g)
    if np.count_nonzero(nan_g) != sum(b - a for a, b in runs):
        # NaN from the interpolation itself (an infinite value): trim and find the runs
        # from the grid, as iglu does
        ok = np.flatnonzero(~nan_g)
        if ok.size == 0:
            return none
        g, nan_g = g[ok[0] : ok[-1] + 1], nan_g[ok[0] : ok[-1] + 1]
        runs = _missing_runs(nan_g)
    if g.size < 7 or g.size < MAGE_LONG_MA:
        return none
    # Segments: split at runs of missing grid points longer than max_gap.
    cuts = [0]
    inner: list[list[tuple[int, int]]] = [[]]  # each segment's own (shorter) missing runs
    for a, b in runs:
        if (b - a) * MAGE_GRID_MINUTES > MAGE_MAX_GAP_MINUTES:
            cuts.extend((a, b))
            inner.append([])
        else:
            inner[-1].append((a - cuts[-1], b - cuts[-1]))
    cuts.append(g.size)
    weighted = {"plus": [0.0, 0.0], "minus": [0.0, 0.0], "avg": [0.0, 0.0]}
    for s, e, seg_runs in zip(cuts[0::2], cuts[1::2], inner, strict=True):
        if e <= s:
            continue
        p, m = _segment(g[s:e], nan_g[s:e], seg_runs)
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


def mage_many(patient_ids, times, values, *, tz: str = "UTC") -> dict:
    """{patient id: MAGE} for many patients' readings in parallel arrays (one sort, no pandas).

    Each patient's clean series goes through `mage` (same numbers as `cgm_metrics`); grouping
    is done once here so population callers need no per-patient filtering.
    """
    from glycemia.series import as_ns

    pid = np.asarray(patient_ids)
    t = as_ns(times)
    v = np.asarray(values, dtype="float64")
    ok = ~np.isnan(v)
    if not ok.all():
        pid, t, v = pid[ok], t[ok], v[ok]
    # Population callers read rows ordered by (patient, time): sort only when they are not.
    same = pid[1:] == pid[:-1]
    ordered = bool(np.all((pid[1:] > pid[:-1]) | (same & (t[1:] >= t[:-1]))))
    if not ordered:
        order = np.lexsort((t, pid))
        pid, t, v = pid[order], t[order], v[order]
        same = pid[1:] == pid[:-1]
    repeated = same & (t[1:] == t[:-1])  # equal instants of one patient: keep the last
    if repeated.any():
        keep = np.ones(t.size, dtype=bool)
        keep[:-1] = ~repeated
        pid, t, v = pid[keep], t[keep], v[keep]
        same = pid[1:] == pid[:-1]
    bounds = np.flatnonzero(~same) + 1
    starts = np.concatenate(([0], bounds)).tolist()
    ends = np.concatenate((bounds, [pid.size])).tolist()
    return {
        pid[s].item(): mage(t[s:e], v[s:e], tz)["mage"]
        for s, e in zip(starts, ends, strict=True)
        if e > s
    }
