"""The time grid's arithmetic, pure (issue #19 §4): which hours a day grid shows, where each
visit block sits and how tall it is, side-by-side lanes for overlapping blocks, and the free
time between them. No Django: the view passes minutes since local midnight and gets numbers.

Conventions
- Positions are **minutes since local midnight** of the grid's day (wall clock in the center's
  zone); a block's height is the visit's real duration, so on a clock-change day a block keeps
  its length.
- The grid spans the day's working windows and visits, widened to whole ``step`` minutes
  (default 08:00–18:00 when there is nothing).
- Overlapping blocks in one column (possible across rooms, or a checked-in visit running late)
  share its width: each gets a lane, greedily, earliest first, so a block never covers another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_SPAN = (8 * 60, 18 * 60)
STEP = 30  # minutes between the grid's time labels
PX_PER_MINUTE = 1.6  # 48 px per half hour: a 15-minute visit is 24 px tall, enough for a line


@dataclass(frozen=True)
class Block:
    key: object
    start: int  # minutes since local midnight
    end: int
    lane: int = 0
    lanes: int = 1


def bounds(
    spans: Sequence[tuple[int, int]], *, step: int = STEP, default=DEFAULT_SPAN
) -> tuple[int, int]:
    """The grid's first and last minute: every span inside, widened to whole steps, within
    the day.

    >>> bounds([(9 * 60 + 10, 12 * 60 + 5)])
    (540, 750)
    >>> bounds([])
    (480, 1080)
    """
    if not spans:
        return default
    first = min(s for s, _e in spans)
    last = max(e for _s, e in spans)
    first = max(0, first - first % step)
    last = min(24 * 60 + 60, last + (-last) % step)  # a DST day may run to 25:00
    return first, max(last, first + step)


def labels(first: int, last: int, *, step: int = STEP) -> list[int]:
    """The minutes that get a time label, from ``first`` to before ``last``.

    >>> labels(540, 660)
    [540, 570, 600, 630]
    """
    return list(range(first, last, step))


def place(items: Sequence[tuple[object, int, int]]) -> list[Block]:
    """Blocks with lanes for ``(key, start, end)`` items (see the conventions).

    >>> blocks = place([("a", 540, 600), ("b", 570, 630), ("c", 630, 660)])
    >>> [(b.key, b.lane, b.lanes) for b in blocks]
    [('a', 0, 2), ('b', 1, 2), ('c', 0, 1)]
    """
    ordered = sorted(items, key=lambda item: (item[1], item[2]))
    groups: list[list[tuple[object, int, int, int]]] = []
    group_end = None
    lane_ends: list[int] = []
    for key, start, end in ordered:
        if group_end is None or start >= group_end:  # a new cluster of overlapping blocks
            groups.append([])
            lane_ends = []
            group_end = end
        lane = next((i for i, e in enumerate(lane_ends) if e <= start), None)
        if lane is None:
            lane = len(lane_ends)
            lane_ends.append(end)
        else:
            lane_ends[lane] = end
        group_end = max(group_end, end)
        groups[-1].append((key, start, end, lane))
    out = []
    for group in groups:
        lanes = max(lane for *_rest, lane in group) + 1
        out += [Block(key, start, end, lane, lanes) for key, start, end, lane in group]
    return out


def free_spans(
    windows: Sequence[tuple[int, int]], busy: Sequence[tuple[int, int]], *, minimum: int = 5
) -> list[tuple[int, int]]:
    """Working time not taken by a visit, at least ``minimum`` minutes long.

    >>> free_spans([(540, 720)], [(600, 630)])
    [(540, 600), (630, 720)]
    >>> free_spans([(540, 600)], [(530, 610)])
    []
    """
    out = []
    for w_start, w_end in sorted(windows):
        cursor = w_start
        for b_start, b_end in sorted(busy):
            if b_end <= cursor or b_start >= w_end:
                continue
            if b_start - cursor >= minimum:
                out.append((cursor, b_start))
            cursor = max(cursor, b_end)
        if w_end - cursor >= minimum:
            out.append((cursor, w_end))
    return out


def merge(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans joined (a room's hours held by two clinicians at once).

    >>> merge([(540, 600), (570, 660), (700, 720), (660, 680)])
    [(540, 680), (700, 720)]
    """
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def to_px(minutes: float, first: int, *, scale: float = PX_PER_MINUTE) -> float:
    """A minute's offset from the grid's top, in CSS pixels.

    >>> to_px(600, 540)
    96.0
    """
    return round((minutes - first) * scale, 1)


def minute_at(offset_px: float, first: int, *, step: int = 15, scale: float = PX_PER_MINUTE) -> int:
    """The grid minute a drop ``offset_px`` from the top lands on, snapped to ``step``
    (what the drag script computes in the browser, stated here so it is tested).

    >>> minute_at(100, 540)
    600
    >>> minute_at(-30, 540)
    540
    """
    raw = first + max(0.0, offset_px) / scale
    return int(round(raw / step) * step)
