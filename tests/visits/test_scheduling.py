"""The pure slot rules, without a database: hours, sessions, blocks, busy times, DST.

Expected instants are written out by hand from the UK's clock changes (29 March 2026 01:00
GMT → 02:00 BST; 25 October 2026 02:00 BST → 01:00 GMT), not computed by the code."""

import datetime as dt
import subprocess
import sys
import zoneinfo
from pathlib import Path

from visits.scheduling import Busy, Window, bookable_windows, free_slots, to_instant

ROOT = Path(__file__).resolve().parents[2]
LONDON = zoneinfo.ZoneInfo("Europe/London")
UTC = dt.UTC
T = dt.time
MIN30 = dt.timedelta(minutes=30)
HOUR = dt.timedelta(hours=1)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def hhmm(slots) -> list[str]:
    return [start.astimezone(LONDON).strftime("%H:%M") for start, _ in slots]


def test_it_imports_no_django():
    code = "import sys, visits.scheduling; assert not [m for m in sys.modules if 'django' in m]"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_it_keeps_sessions_inside_opening_hours_minus_blocks():
    windows = bookable_windows(
        dt.date(2026, 1, 5),
        LONDON,
        opening=[(T(8), T(12)), (T(13), T(17))],
        sessions=[(T(7), T(16), 1)],
        blocked=[(T(9), T(10))],
    )
    assert [(w.start, w.end, w.tag) for w in windows] == [
        (utc(2026, 1, 5, 8), utc(2026, 1, 5, 9), 1),
        (utc(2026, 1, 5, 10), utc(2026, 1, 5, 12), 1),
        (utc(2026, 1, 5, 13), utc(2026, 1, 5, 16), 1),
    ]


def test_it_has_no_windows_on_a_closed_day():
    assert (
        bookable_windows(
            dt.date(2026, 12, 25),
            LONDON,
            opening=[(T(8), T(17))],
            sessions=[(T(9), T(17), None)],
            closed=True,
        )
        == []
    )


def test_it_uses_summer_time_offsets():
    assert to_instant(dt.date(2026, 7, 6), T(9), LONDON) == utc(2026, 7, 6, 8)
    assert to_instant(dt.date(2026, 1, 5), T(9), LONDON) == utc(2026, 1, 5, 9)


def test_it_books_the_spring_forward_day_by_real_time():
    # 00:00–04:00 local on 29 March 2026 is 00:00 GMT to 03:00 UTC: three real hours.
    windows = bookable_windows(
        dt.date(2026, 3, 29), LONDON, opening=[(T(0), T(4))], sessions=[(T(0), T(4), None)]
    )
    assert [(w.start, w.end) for w in windows] == [(utc(2026, 3, 29, 0), utc(2026, 3, 29, 3))]
    slots = free_slots(windows, Busy(), duration=HOUR)
    assert [s for s, _ in slots] == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)]
    assert hhmm(slots) == ["00:00", "02:00", "03:00"]  # 01:00 local does not exist


def test_it_books_the_fall_back_day_by_real_time():
    # 00:00 BST (23:00 UTC the day before) to 04:00 GMT: five real hours, 01:00 twice.
    windows = bookable_windows(
        dt.date(2026, 10, 25), LONDON, opening=[(T(0), T(4))], sessions=[(T(0), T(4), None)]
    )
    assert [(w.start, w.end) for w in windows] == [(utc(2026, 10, 24, 23), utc(2026, 10, 25, 4))]
    slots = free_slots(windows, Busy(), duration=HOUR)
    assert len(slots) == 5
    assert hhmm(slots) == ["00:00", "01:00", "01:00", "02:00", "03:00"]


def test_it_keeps_a_working_day_the_same_wall_clock_across_the_change():
    # Friday before and Monday after the spring change: 09:00 local is 09:00 then 08:00 UTC.
    before = bookable_windows(
        dt.date(2026, 3, 27), LONDON, opening=[(T(9), T(10))], sessions=[(T(9), T(10), None)]
    )
    after = bookable_windows(
        dt.date(2026, 3, 30), LONDON, opening=[(T(9), T(10))], sessions=[(T(9), T(10), None)]
    )
    assert before[0].start == utc(2026, 3, 27, 9) and after[0].start == utc(2026, 3, 30, 8)


def test_it_skips_busy_times_and_keeps_the_grid():
    start = utc(2026, 1, 5, 9)
    window = Window(start, start + 3 * HOUR)
    busy = Busy([(start + dt.timedelta(minutes=40), start + dt.timedelta(minutes=70))])
    slots = free_slots([window], busy, duration=MIN30, step=dt.timedelta(minutes=15))
    assert hhmm(slots)[:4] == ["09:00", "10:15", "10:30", "10:45"]
    assert "09:30" not in hhmm(slots)  # 09:30–10:00 would overlap 09:40
    assert hhmm(slots)[-1] == "11:30"  # the last that ends by 12:00


def test_it_treats_touching_visits_as_free():
    start = utc(2026, 1, 5, 9)
    busy = Busy([(start, start + MIN30)])
    slots = free_slots([Window(start, start + HOUR)], busy, duration=MIN30)
    assert [s for s, _ in slots] == [start + MIN30]


def test_it_applies_room_busy_times_to_that_room_only():
    start = utc(2026, 1, 5, 9)
    windows = [Window(start, start + HOUR, "room 1"), Window(start, start + HOUR, "room 2")]
    room_busy = {"room 1": Busy([(start, start + HOUR)])}
    slots = free_slots(windows, Busy(), duration=HOUR, busy_by_tag=room_busy)
    assert slots == [(start, "room 2")]


def test_it_offers_nothing_before_not_before():
    start = utc(2026, 1, 5, 9)
    slots = free_slots(
        [Window(start, start + 2 * HOUR)],
        Busy(),
        duration=MIN30,
        not_before=start + dt.timedelta(minutes=40),
    )
    assert [s for s, _ in slots] == [start + HOUR, start + 90 * dt.timedelta(minutes=1)]


def test_it_finds_the_same_slots_vectorized_as_the_reference():
    """Random windows and busy times: the numpy search equals ``free_slots``."""
    import random

    import numpy as np

    from visits.scheduling import free_mask, grid_starts, merge_arrays

    rng = random.Random(7)
    base = utc(2026, 1, 5, 8)
    for _ in range(200):
        windows = []
        t = rng.randrange(0, 120)
        for _ in range(rng.randrange(1, 4)):
            length = rng.randrange(10, 300)
            windows.append(
                Window(base + dt.timedelta(minutes=t), base + dt.timedelta(minutes=t + length))
            )
            t += length + rng.randrange(0, 90)
        busy = []
        for _ in range(rng.randrange(0, 8)):
            a = rng.randrange(0, t + 30)
            busy.append(
                (
                    base + dt.timedelta(minutes=a),
                    base + dt.timedelta(minutes=a + rng.randrange(5, 90)),
                )
            )
        duration = dt.timedelta(minutes=rng.choice((15, 20, 30, 45)))
        not_before = base + dt.timedelta(minutes=rng.randrange(0, 200))
        expected = [
            s
            for s, _ in free_slots(
                windows,
                Busy(busy),
                duration=duration,
                step=dt.timedelta(minutes=15),
                not_before=not_before,
            )
        ]
        ts = lambda x: x.timestamp()  # noqa: E731
        starts, _ = grid_starts(
            np.array([ts(w.start) for w in windows]),
            np.array([ts(w.end) for w in windows]),
            duration=duration.total_seconds(),
            step=900.0,
            not_before=ts(not_before),
        )
        merged = merge_arrays(
            np.array([ts(a) for a, _ in busy]), np.array([ts(b) for _, b in busy])
        )
        ok = free_mask(starts, duration.total_seconds(), *merged)
        got = sorted(dt.datetime.fromtimestamp(s, UTC) for s in starts[ok])
        assert got == sorted(expected)
