"""glycemia/events.py as of main 8a517f1 (#23), frozen: the reference test_events_before.py
compares the list-based event search with. Copied unchanged below this docstring.
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
    """(gap after each reading, end of each reading's time, gap-free block of each reading):
    what every event search over one series needs, computed once (`event_timeline`)."""
    step = interval * NS_PER_MINUTE
    gap_after = np.ones(t.size, dtype=bool)  # True when reading i is followed by a gap (or nothing)
    gap_after[:-1] = np.diff(t) > 2 * step
    cover_end = np.where(gap_after, t + step, np.append(t[1:], 0))
    # Gap-free block of each reading, so a recovery never spans a gap.
    block = np.concatenate(([0], np.cumsum(gap_after[:-1])))
    return gap_after, cover_end, block


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
    n = t.size
    if n == 0 or not beyond.any():
        return []
    gap_after, cover_end, block = timeline if timeline is not None else _timeline(t, interval)
    # Runs of consecutive beyond readings not split by a gap.
    starts = np.flatnonzero(beyond & np.concatenate(([True], ~beyond[:-1] | gap_after[:-1])))
    ends = np.flatnonzero(beyond & np.concatenate((~beyond[1:] | gap_after[:-1], [True])))
    durations = cover_end[ends] - t[starts]
    min_ns = min_minutes * NS_PER_MINUTE
    end_ns = end_minutes * NS_PER_MINUTE
    events: list[tuple[int, int, int]] = []
    current: list[int] | None = None  # [first index, last beyond index]
    for s, e, d in zip(starts.tolist(), ends.tolist(), durations.tolist(), strict=True):
        if current is not None:
            last = current[1]
            recovered_at = last + 1  # first reading back across the threshold
            same_block = block[s] == block[last]
            if same_block and t[s] - t[recovered_at] < end_ns:
                current[1] = e  # recovery too short: still the same event
                continue
            events.append((current[0], last, _event_end(t, cover_end, gap_after, last)))
            current = None
        if d >= min_ns:
            current = [s, e]
    if current is not None:
        events.append((current[0], current[1], _event_end(t, cover_end, gap_after, current[1])))
    return events


def _event_end(t, cover_end, gap_after, last: int) -> int:
    return int(cover_end[last]) if gap_after[last] else int(t[last + 1])


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
    l2_starts = np.array([t[s] for s, _, _ in level2], dtype="int64")
    l2_long = np.array(
        [end - t[s] >= PROLONGED_HYPO_MINUTES * NS_PER_MINUTE for s, _, end in level2]
    )
    out = []
    for first, last, end in level1:
        inside = (l2_starts >= t[first]) & (l2_starts < end) if level2 else np.zeros(0, bool)
        out.append(
            {
                "start": iso_utc(t[first]),
                "end": iso_utc(end),
                "duration_minutes": round((end - int(t[first])) / NS_PER_MINUTE, 1),
                "nadir_mg_dl": float(v[first : last + 1].min()),
                "level": 2 if inside.any() else 1,
                "prolonged": bool(l2_long[inside].any()) if level2 else False,
            }
        )
    return out


def hyper_events(t: np.ndarray, v: np.ndarray, interval: int, timeline=None) -> list[dict]:
    """Extended hyperglycaemia events: > 250 mg/dL for >= 120 minutes."""
    found = _episodes(
        t, v > VERY_HIGH_ABOVE, interval, min_minutes=EXTENDED_HYPER_MINUTES, timeline=timeline
    )
    return [
        {
            "start": iso_utc(t[first]),
            "end": iso_utc(end),
            "duration_minutes": round((end - int(t[first])) / NS_PER_MINUTE, 1),
            "peak_mg_dl": float(v[first : last + 1].max()),
            "level": "extended",
            "prolonged": False,
        }
        for first, last, end in found
    ]
