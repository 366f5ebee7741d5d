"""Hypo- and hyperglycaemia events (Battelino 2019 consensus, 2023 update), on raw readings.

Rules, with `interval` the device interval (1, 5 or 15 min):

- Each reading stands for the time until the next reading, or `interval` minutes when the
  next reading is more than 2 x interval away (a GAP) or there is none.
- A run is consecutive readings beyond the threshold (< 70, < 54 or > 250) with no gap
  between them; its length is from its first reading to the end of its last reading's time,
  so three 5-minute readings < 70 last 15 minutes, and fifteen 1-minute readings do too.
- An event STARTS with a run of >= 15 minutes (>= 120 for extended hyperglycaemia) at the
  time of its first reading.
- It ENDS at the first reading back across the threshold that begins >= 15 consecutive
  minutes back (the 2019 consensus end rule: >= 15 min >= 70 for hypoglycaemia, >= 15 min
  <= 250 for hyperglycaemia); shorter recoveries are part of the event. A gap also ends it,
  at the end of the last reading before the gap, and so does the end of the data.
- Hypoglycaemia events are found at level 1 (< 70). An event is level 2 when it contains a
  level-2 event (>= 15 minutes < 54 with the same rules, ending after 15 min >= 54), and is
  `prolonged` when such a level-2 event lasts >= 120 minutes.
- Hyperglycaemia events are extended hyperglycaemia: > 250 mg/dL for >= 120 minutes.
"""

from __future__ import annotations

import numpy as np

from glycemia.constants import (
    EVENT_END_MINUTES,
    EVENT_MIN_MINUTES,
    EXTENDED_HYPER_MINUTES,
    LOW_BELOW,
    PROLONGED_HYPO_MINUTES,
    VERY_HIGH_ABOVE,
    VERY_LOW_BELOW,
)
from glycemia.series import NS_PER_MINUTE, iso_utc


def _timeline(t: np.ndarray, interval: int):
    """(gap after each reading, positions of those gaps, interval ns): what every event search
    over one series needs, computed once (`event_timeline`). A reading's time ends at the
    next reading, or `interval` after it when a gap follows; its gap-free
    block is the number of gaps before it, so a recovery never spans a gap."""
    step = interval * NS_PER_MINUTE
    gap_after = np.ones(t.size, dtype=bool)  # True when reading i is followed by a gap (or nothing)
    np.greater(t[1:] - t[:-1], 2 * step, out=gap_after[:-1])
    return gap_after, gap_after.nonzero()[0], step


event_timeline = _timeline


def _episodes(
    t: np.ndarray,
    beyond: np.ndarray,
    interval: int,
    *,
    min_minutes: float,
    end_minutes: float = EVENT_END_MINUTES,
    timeline=None,
) -> list[tuple[int, int, int]]:
    """(first index, last beyond index, end ns) of each event over a boolean `beyond` mask."""
    if t.size == 0 or not beyond.any():
        return []
    timeline = timeline if timeline is not None else _timeline(t, interval)
    return _episodes_at(t, [beyond.nonzero()[0]], [min_minutes], timeline, end_minutes)[0]


def _episodes_at(
    t: np.ndarray,
    ats: list[np.ndarray],
    min_minutes: list[float],
    timeline,
    end_minutes: float = EVENT_END_MINUTES,
) -> list[list[tuple[int, int, int]]]:
    """`_episodes` of several masks over one series, given as their True positions (`ats`,
    sorted), each with its own minimum duration.

    What the walk over runs needs of each run (its start time and block, its end's block,
    time of the reading after it and cover end) is gathered by numpy first, for the runs of
    every mask at once, so the walk itself reads Python lists."""
    n = t.size
    gap_after, gaps, step = timeline
    # Runs of consecutive beyond readings not split by a gap, from the beyond readings'
    # positions (a few percent of the readings: small arrays), every mask's one after the
    # other: a run breaks where the next beyond reading is not the next reading, a gap
    # follows, or the next mask's readings begin (one pass for all masks).
    at = ats[0] if len(ats) == 1 else np.concatenate(ats)
    breaks = np.empty(at.size + 1, dtype=bool)
    breaks[0] = breaks[-1] = True
    np.not_equal(at[1:] - at[:-1], 1, out=breaks[1:-1])
    breaks[1:-1] |= gap_after[at[:-1]]
    bounds, edge = [0], 0
    for mask_at in ats:
        runs = int(np.count_nonzero(breaks[edge : edge + mask_at.size]))
        edge += mask_at.size
        breaks[edge] = True
        bounds.append(bounds[-1] + runs)
    starts = at[breaks[:-1]]
    ends = at[breaks[1:]]
    start_t = t[starts]
    after = t[np.minimum(ends + 1, n - 1)]  # the reading after a run (the first one back)
    # a run's time ends at the reading after it, or `step` after it when a gap follows
    end_cover = np.where(gap_after[ends], t[ends] + step, after)
    end_ns = end_minutes * NS_PER_MINUTE
    durations = (end_cover - start_t).tolist()
    starts_l, ends_l, start_t_l = starts.tolist(), ends.tolist(), start_t.tolist()
    start_block = gaps.searchsorted(starts).tolist()  # gaps before the reading
    end_block = gaps.searchsorted(ends).tolist()
    after_end = after.tolist()
    end_cover_l = end_cover.tolist()
    found = []
    for lo, hi, minutes in zip(bounds[:-1], bounds[1:], min_minutes, strict=True):
        min_ns = minutes * NS_PER_MINUTE
        events: list[tuple[int, int, int]] = []
        current: list[int] | None = None  # [first index, last beyond index, run of the last]
        for k in range(lo, hi):
            if current is not None:
                run = current[2]
                same_block = start_block[k] == end_block[run]
                if same_block and start_t_l[k] - after_end[run] < end_ns:
                    current[1], current[2] = ends_l[k], k  # recovery too short: same event
                    continue
                events.append((current[0], current[1], end_cover_l[run]))
                current = None
            if durations[k] >= min_ns:
                current = [starts_l[k], ends_l[k], k]
        if current is not None:
            events.append((current[0], current[1], end_cover_l[current[2]]))
        found.append(events)
    return found


def hypo_events(t: np.ndarray, v: np.ndarray, interval: int, timeline=None) -> list[dict]:
    """Level 1/2 hypoglycaemia events (see module docstring) as JSON-ready dicts.
    ``timeline``: `event_timeline(t, interval)` when the caller has it already."""
    below = v < LOW_BELOW
    if t.size == 0 or not below.any():
        return []
    if timeline is None:
        timeline = _timeline(t, interval)
    level1 = _episodes(t, below, interval, min_minutes=EVENT_MIN_MINUTES, timeline=timeline)
    if not level1:
        return []
    level2 = _episodes(
        t, v < VERY_LOW_BELOW, interval, min_minutes=EVENT_MIN_MINUTES, timeline=timeline
    )
    return _hypo_dicts(t, v, level1, level2)


def _extremes(v: np.ndarray, found, ufunc) -> list[float]:
    """`ufunc` (np.minimum or np.maximum) of the values of each event, first to last beyond
    reading, in one reduceat (events of one kind are in order and do not overlap)."""
    if not found:
        return []
    bounds = [i for first, last, _ in found for i in (first, last + 1)]
    if bounds[-1] == v.size:
        bounds.pop()  # the last event runs to the end of the values
    return ufunc.reduceat(v, bounds)[0::2].tolist()


def _hypo_dicts(t, v, level1, level2) -> list[dict]:
    # (start, prolonged) of each level-2 event
    l2_starts = t[[first for first, _, _ in level2]].tolist() if level2 else []
    l2 = [
        (start, end - start >= PROLONGED_HYPO_MINUTES * NS_PER_MINUTE)
        for start, (_, _, end) in zip(l2_starts, level2, strict=True)
    ]
    begins = t[[first for first, _, _ in level1]].tolist()
    out = []
    for (_, _, end), begin, nadir in zip(
        level1, begins, _extremes(v, level1, np.minimum), strict=True
    ):
        inside = [prolonged for start, prolonged in l2 if begin <= start < end]
        out.append(
            {
                "start": iso_utc(begin),
                "end": iso_utc(end),
                "duration_minutes": round((end - begin) / NS_PER_MINUTE, 1),
                "nadir_mg_dl": nadir,
                "level": 2 if inside else 1,
                "prolonged": any(inside),
            }
        )
    return out


def hyper_events(t: np.ndarray, v: np.ndarray, interval: int, timeline=None) -> list[dict]:
    """Extended hyperglycaemia events: > 250 mg/dL for >= 120 minutes."""
    found = _episodes(
        t, v > VERY_HIGH_ABOVE, interval, min_minutes=EXTENDED_HYPER_MINUTES, timeline=timeline
    )
    return _hyper_dicts(t, v, found)


def _hyper_dicts(t, v, found) -> list[dict]:
    if not found:
        return []
    begins = t[[first for first, _, _ in found]].tolist()
    return [
        {
            "start": iso_utc(begin),
            "end": iso_utc(end),
            "duration_minutes": round((end - begin) / NS_PER_MINUTE, 1),
            "peak_mg_dl": peak,
            "level": "extended",
            "prolonged": False,
        }
        for (_, _, end), begin, peak in zip(
            found, begins, _extremes(v, found, np.maximum), strict=True
        )
    ]


def glycemic_events(
    t: np.ndarray, v: np.ndarray, interval: int, lowest: float, highest: float
) -> tuple[list[dict], list[dict]]:
    """(`hypo_events`, `hyper_events`) of a series whose lowest and highest values the caller
    knows: the runs below 70 and 54 and above 250 are found in one pass over the positions
    of the readings beyond each threshold (only those some value reaches; those below 54
    among those below 70), and the timeline once."""
    kinds = []  # (positions, minimum minutes, what it is)
    if lowest < LOW_BELOW:
        below = (v < LOW_BELOW).nonzero()[0]
        kinds.append((below, EVENT_MIN_MINUTES, "level1"))
        if lowest < VERY_LOW_BELOW:
            kinds.append((below[v[below] < VERY_LOW_BELOW], EVENT_MIN_MINUTES, "level2"))
    if highest > VERY_HIGH_ABOVE:
        kinds.append(((v > VERY_HIGH_ABOVE).nonzero()[0], EXTENDED_HYPER_MINUTES, "hyper"))
    if t.size == 0 or not kinds:
        return [], []
    found = _episodes_at(
        t, [at for at, _, _ in kinds], [m for _, m, _ in kinds], _timeline(t, interval)
    )
    by_kind = {kind: events for (_, _, kind), events in zip(kinds, found, strict=True)}
    level1 = by_kind.get("level1", [])
    hypo = _hypo_dicts(t, v, level1, by_kind.get("level2", [])) if level1 else []
    return hypo, _hyper_dicts(t, v, by_kind.get("hyper", []))
