"""Time: wall-clock dates in whichever order a file writes them, ISO and epoch instants,
plausible time, and local wall time to UTC across DST (``LocalClock``, and
``NewestFirstClock`` for exports listed newest first).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ._records import UnreadableFile

# Plausible time (DESIGN.md §3): an instant before 1970 or later than "now" plus this
# tolerance (a device clock a little fast) is a row error, never a reading.
CLOCK_DRIFT_TOLERANCE = timedelta(hours=1)
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)


# --- dates -------------------------------------------------------------------------------

_DATE_TIME = re.compile(
    r"^\s*(?P<a>\d{1,4})[-/.年](?P<b>\d{1,2})[-/.月](?P<c>\d{1,4})日?"
    r"(?:[ T]+(?P<ampm1>上午|下午)?\s*(?P<h>\d{1,2})[:.时](?P<mi>\d{2})"
    r"(?:[:.分](?P<s>\d{2})(?:[.,]\d+)?)?秒?\s*"
    r"(?P<ampm>[AaPp]\.?\s?[Mm]\.?|上午|下午)?)?\s*$"
)

YMD, DMY, MDY = "ymd", "dmy", "mdy"


@dataclass
class DateOrder:
    """Decide whether a file writes dates year-, day- or month-first, from many samples.

    Fed with the date strings of the first rows (a bounded look-ahead). Day-first wins if
    any first field exceeds 12, month-first if any second field exceeds 12; otherwise a
    12-hour clock (AM/PM) means the US month-first form and 24-hour means day-first.
    """

    order: str | None = None
    saw_ampm: bool = False
    saw_any: bool = False

    def feed(self, text: str) -> None:
        if self.order is not None and self.order != "guess":
            return
        m = _DATE_TIME.match(text)
        if not m:
            return
        self.saw_any = True
        a, b = m.group("a"), m.group("b")
        if len(a) == 4:
            self.order = YMD
        elif int(a) > 12:
            self.order = DMY
        elif int(b) > 12:
            self.order = MDY
        if m.group("ampm") or m.group("ampm1"):
            self.saw_ampm = True

    @property
    def decided(self) -> bool:
        """Whether the order is known for good: no later sample can change ``resolved()``."""
        return self.order in (YMD, DMY, MDY)

    def resolved(self) -> str:
        if self.order in (YMD, DMY, MDY):
            return self.order
        return MDY if self.saw_ampm else DMY


def parse_wall_time(text: str, order: str) -> datetime:
    """Parse a local wall-clock date-time (no zone) in the file's date order.

    >>> parse_wall_time("05-30-2021 04:59 PM", "mdy")
    datetime.datetime(2021, 5, 30, 16, 59)
    """
    s = text.strip()
    if len(s) == 19 and s[10] in "T " and s[4] == s[7] == "-" and s[13] == s[16] == ":":
        # "2021-05-30T16:59:00", Dexcom's form: year first whatever the order, no fraction.
        try:
            return _check_year(datetime.fromisoformat(s), text)
        except ImplausibleTime:
            raise
        except ValueError:
            pass  # the general path below says what is wrong
    m = _DATE_TIME.match(s)
    if not m:
        try:
            parsed = datetime.fromisoformat(s)
        except ValueError:
            raise ValueError(f"date {text!r} is not a date-time") from None
        return _check_year(parsed, text)
    a, b, c = int(m.group("a")), int(m.group("b")), int(m.group("c"))
    if len(m.group("a")) == 4:
        year, month, day = a, b, c
    elif order == MDY:
        month, day, year = a, b, c
    else:
        day, month, year = a, b, c
    if year < 100:
        year += 2000
    hour = int(m.group("h") or 0)
    minute = int(m.group("mi") or 0)
    second = int(m.group("s") or 0)
    ampm = (m.group("ampm") or m.group("ampm1") or "").lower().replace(".", "").replace(" ", "")
    if ampm in ("pm", "下午") and hour < 12:
        hour += 12
    elif ampm in ("am", "上午") and hour == 12:
        hour = 0
    try:
        return _check_year(datetime(year, month, day, hour, minute, second), text)
    except ImplausibleTime:
        raise
    except ValueError:
        raise ValueError(f"date {text!r} is not a valid date-time") from None


def parse_iso_instant(text: str, clock: LocalClock | None = None) -> datetime:
    """ISO 8601 with offset -> UTC; without offset it is local wall time (needs `clock`)."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"date {text!r} is not an ISO 8601 date-time") from None
    _check_year(parsed, text)
    if parsed.tzinfo is None:
        if clock is None:
            return parsed.replace(tzinfo=UTC)
        return clock.to_utc(parsed)
    return parsed.astimezone(UTC)


class ImplausibleTime(ValueError, OverflowError):
    """A time no device can have recorded (out of datetime's range, before 1970, ...).

    Also an OverflowError, which is what callers of `epoch_ms_to_utc` caught before.
    """


# Epoch milliseconds beyond this (year 5138) are not a time but a wrong number.
_MAX_EPOCH_MS = 1e14


def epoch_ms_to_utc(value: float) -> datetime:
    """Epoch milliseconds -> UTC; ImplausibleTime for NaN, ±inf, booleans or 1e20.

    >>> epoch_ms_to_utc(0).isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImplausibleTime(f"epoch time {value!r} is not a number")
    if not -_MAX_EPOCH_MS < value < _MAX_EPOCH_MS:  # also false for NaN
        raise ImplausibleTime(f"epoch time {value!r} ms is not a plausible date")
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)


def implausible_time(instant: datetime, now: datetime) -> str:
    """Why `instant` cannot be a device reading ("" when it can): before 1970 or future.

    >>> implausible_time(datetime(1969, 12, 31, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
    'time 1969-12-31T00:00Z is before 1970'
    """
    if instant < EARLIEST_INSTANT:
        return f"time {_short(instant)} is before 1970"
    if instant > now + CLOCK_DRIFT_TOLERANCE:
        return (
            f"time {_short(instant)} is in the future (now {_short(now)}): check the device"
            " clock and the time zone"
        )
    return ""


def _short(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="minutes").replace("+00:00", "Z")


def _check_year(moment: datetime, text: str) -> datetime:
    """Refuse years no export holds before converting (year 1 or 9999 overflow a zone)."""
    if moment.year < EARLIEST_INSTANT.year - 1:
        raise ImplausibleTime(f"date {text!r} is before 1970")
    if moment.year > 9000:
        raise ImplausibleTime(f"date {text!r} is in the future")
    return moment


# --- local wall time -> UTC ------------------------------------------------------------------

_WALL_EPOCH = datetime(1970, 1, 1)  # naive: wall-clock hours are counted from it
_STEADY_MEMO_SIZE = 1024  # hours remembered per clock (a block's, and the next one's first)
# Wall-clock hours (since 1970) from 1900 to 9000: far from datetime's limits, so reading one
# cannot overflow whatever the zone's offset.
_STEADY_HOURS = (-70 * 8766, 7030 * 8766)
_UNKNOWN = object()


class LocalClock:
    """Turn device wall-clock times into UTC instants in one IANA zone, handling DST.

    * Gap (spring forward, the wall time never existed): the device clock had not been
      changed, so the offset *before* the transition applies (PEP 495 ``fold=0``). In a
      chronological file a wall time inside the gap proves the device clock did not jump:
      the old offset is kept for the following rows too ("frozen"), until the wall times
      jump forward by the DST shift or more (the owner set the clock) or the zone's offset
      comes back to the frozen one. Without this, 03:00 on the unchanged clock would be read
      as 03:00 new time and collide with 02:00 read a moment before.
    * Repeat (fall back, the wall time happened twice): the first pass is the earlier
      instant (``fold=0``), the second pass the later one (``fold=1``). Without a
      monotonic device counter the pass is inferred from row order: in a chronological
      file a wall time that goes *backwards* inside the repeated hour starts the second
      pass, and a wall time listed again (files sorted by wall time interleave the two
      passes: 01:06, 01:06, 01:21, 01:21 ...) is the second pass of that minute. In a
      reverse-chronological file (CareLink) the mirror rules hold. The direction is
      learned from the rows themselves (or told: ``assume_newest_first``).

    A frozen clock is only seen from the gap rows, which a newest-first file lists after
    the rows it applies to: such files go through `NewestFirstClock`.
    """

    def __init__(self, timezone: str):
        try:
            self.zone = ZoneInfo(timezone)
        except Exception:
            raise UnreadableFile(f"unknown time zone {timezone!r}") from None
        self._previous: datetime | None = None
        self._direction = 0  # > 0 chronological, < 0 reverse chronological
        self._repeat_fold: dict[date, int] = {}
        self._repeat_last: dict[date, datetime] = {}
        self._repeat_seen: dict[date, set[datetime]] = {}  # walls of the first-listed pass
        self._gap_offset: timedelta | None = None  # set by candidates() for a gap wall time
        self._frozen: timedelta | None = None  # the offset a clock that did not jump keeps
        # The wall-clock hour last seen, when one offset holds for all of it: [from, until)
        # and its start in UTC. Rows come in time order, so most rows are in the same hour
        # as the previous one and skip the zone lookups (several µs a row otherwise).
        self._steady_from = self._steady_until = datetime.min
        self._steady_utc = datetime.min.replace(tzinfo=UTC)
        # summer_shift's last steady hour, [from, until), and its answer.
        self._shift_from = self._shift_until = datetime.min
        self._shift: timedelta | None = None
        self._steady_memo: dict[int, int | None] = {}  # steady_offsets_us: hour -> offset µs

    def reset(self) -> None:
        """Forget row order (a new section of the file starts)."""
        self._previous = None
        self._direction = 0
        self._repeat_fold.clear()
        self._repeat_last.clear()
        self._repeat_seen.clear()
        self._frozen = None

    def candidates(self, wall: datetime) -> tuple[datetime, ...]:
        """UTC instants the wall time can mean: one, or two inside a repeated hour."""
        self._gap_offset = None
        if wall.tzinfo is None:
            if self._steady_from <= wall < self._steady_until:
                return (self._steady_utc + (wall - self._steady_from),)
            if self._learn_steady_hour(wall):
                return (self._steady_utc + (wall - self._steady_from),)
        first = wall.replace(tzinfo=self.zone, fold=0)
        second = wall.replace(tzinfo=self.zone, fold=1)
        if first.utcoffset() == second.utcoffset():
            return (first.astimezone(UTC),)
        utc_first = first.astimezone(UTC)
        if utc_first.astimezone(self.zone).replace(tzinfo=None) != wall:
            self._gap_offset = first.utcoffset()
            return (utc_first,)  # a gap: fold=0 is the pre-transition offset
        return (utc_first, second.astimezone(UTC))

    def _learn_steady_hour(self, wall: datetime) -> bool:
        """Remember ``wall``'s hour if its first and last instants, read with either fold,
        all have one offset (no DST change inside it); zones change at most once an hour."""
        start = datetime(wall.year, wall.month, wall.day, wall.hour)
        offset = self._steady_offset(start)
        if offset is None:
            return False
        try:
            until = start + timedelta(hours=1)
            utc = (start - offset).replace(tzinfo=UTC)
        except OverflowError:  # the first or last hour a datetime can hold
            return False
        self._steady_from, self._steady_until, self._steady_utc = start, until, utc
        return True

    def _steady_offset(self, start: datetime) -> timedelta | None:
        """The one offset of the wall-clock hour from ``start`` (its first and last instants,
        read with either fold), or None when it has two (a DST change) or overflows."""
        try:
            last = start + timedelta(hours=1) - timedelta(microseconds=1)
            offsets = {
                moment.replace(tzinfo=self.zone, fold=fold).utcoffset()
                for moment in (start, last)
                for fold in (0, 1)
            }
            if len(offsets) != 1:
                return None
            offset = offsets.pop()
            start - offset  # noqa: B018  (the hour's start in UTC must be a datetime too)
            start + timedelta(hours=1)  # noqa: B018
        except OverflowError:
            return None
        return offset

    def steady_offsets_us(self, hours) -> tuple:
        """For wall-clock hours (int64 numpy array, hours since 1970-01-01T00 of naive wall
        time, each hour once): (whether the hour is steady, its offset in µs). A wall time in a
        steady hour reads as ``wall - offset``, exactly what ``candidates``/``to_utc`` give it
        (with no frozen clock): the vectorised form of ``_learn_steady_hour``, memoized."""
        import numpy as np

        memo = self._steady_memo
        if len(memo) > _STEADY_MEMO_SIZE:
            memo.clear()
        steady = np.zeros(len(hours), dtype=bool)
        offsets = np.zeros(len(hours), dtype=np.int64)
        micro = timedelta(microseconds=1)
        hour_length = timedelta(hours=1)
        last_micro = hour_length - micro
        utcoffset = self.zone.utcoffset  # of a naive wall time, by its fold: as if aware
        for i, hour in enumerate(hours.tolist()):
            offset = memo.get(hour, _UNKNOWN)
            if offset is _UNKNOWN:
                offset = None
                if _STEADY_HOURS[0] <= hour < _STEADY_HOURS[1]:  # no overflow near them
                    start = _WALL_EPOCH + hour * hour_length
                    last = start + last_micro
                    found = utcoffset(start)
                    if (
                        found
                        == utcoffset(start.replace(fold=1))
                        == utcoffset(last)
                        == utcoffset(last.replace(fold=1))
                    ):
                        offset = found // micro
                else:
                    try:
                        found = self._steady_offset(_WALL_EPOCH + hour * hour_length)
                    except OverflowError:
                        found = None
                    offset = None if found is None else found // micro
                memo[hour] = offset
            if offset is not None:
                steady[i] = True
                offsets[i] = offset
        return steady, offsets

    def to_utc(self, wall: datetime, options: tuple[datetime, ...] | None = None) -> datetime:
        """Convert using row order to resolve DST (see the class docstring).

        ``options`` is ``candidates(wall)`` when the caller has it already.
        """
        if options is None:
            options = self.candidates(wall)
        if (
            (self._gap_offset is not None or self._frozen is not None)
            and wall.tzinfo is None
            and self._direction >= 0
        ):
            frozen = self._frozen_instant(wall, options)
            if frozen is not None:
                self._observe(wall)
                return frozen
        if len(options) == 1:
            self._observe(wall)
            return options[0]
        return options[self._repeat_pass(wall)]

    def _frozen_instant(self, wall: datetime, options: tuple[datetime, ...]) -> datetime | None:
        """The instant on a device clock that did not jump forward, else None."""
        if self._gap_offset is not None:
            self._frozen = self._gap_offset
            return options[0]  # read with the pre-transition offset
        if self._frozen is None:
            return None
        actual = wall - options[-1].replace(tzinfo=None)  # the zone's offset at this wall time
        previous = self._previous
        shift = actual - self._frozen
        if actual == self._frozen or (
            previous is not None and shift > timedelta(0) and wall - previous >= shift
        ):
            self._frozen = None  # the zone is back at the device's offset, or the clock was set
            return None
        return (wall - self._frozen).replace(tzinfo=UTC)

    def _repeat_pass(self, wall: datetime) -> int:
        """0 (first pass) or 1 (second pass) for a wall time inside a repeated hour."""
        key = wall.date()
        chronological = self._direction >= 0
        first_listed = 0 if chronological else 1
        if key not in self._repeat_fold:
            self._repeat_fold[key] = first_listed
            self._repeat_seen[key] = set()
        else:
            last = self._repeat_last[key]
            if chronological and wall < last:
                self._repeat_fold[key] = 1
            elif not chronological and wall > last:
                self._repeat_fold[key] = 0
        self._repeat_last[key] = wall
        fold = self._repeat_fold[key]
        if fold == first_listed:
            seen = self._repeat_seen[key]
            if wall in seen:  # listed again: the passes are interleaved
                return 1 - first_listed
            seen.add(wall)
        return fold

    def assume_newest_first(self) -> None:
        """The rows are known to be newest first (from the file's own order): use the
        reverse-chronological rules from the first row on."""
        self._direction = -20

    def summer_shift(self, wall: datetime) -> timedelta | None:
        """How far ahead of the zone's standard time ``wall`` is, when a pump clock left on
        standard time may have written it: a wall time inside a skipped hour (the shift
        its gap skips) or in summer time. None for standard time and repeated hours.

        Standard time is the lower of the offsets at the year's January and July.
        """
        if self._shift_from <= wall < self._shift_until:  # rows come in time order
            return self._shift
        shift = self._summer_shift(wall)
        hour = datetime(wall.year, wall.month, wall.day, wall.hour)
        try:
            until = hour + timedelta(hours=1)
        except OverflowError:
            return shift
        first = hour.replace(tzinfo=self.zone)
        last = (until - timedelta(microseconds=1)).replace(tzinfo=self.zone)
        steady = {
            moment.replace(fold=fold).utcoffset() for moment in (first, last) for fold in (0, 1)
        }
        if len(steady) == 1:  # one offset for the whole hour: the answer holds for all of it
            self._shift_from, self._shift_until, self._shift = hour, until, shift
        return shift

    def _summer_shift(self, wall: datetime) -> timedelta | None:
        first = wall.replace(tzinfo=self.zone, fold=0)
        second = wall.replace(tzinfo=self.zone, fold=1)
        if first.utcoffset() != second.utcoffset():
            if first.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) == wall:
                return None  # a repeated hour (fall back)
            return abs(second.utcoffset() - first.utcoffset())  # a gap
        shift = first.utcoffset() - self._standard_offset(wall.year)
        return shift if shift > timedelta(0) else None

    @functools.lru_cache(maxsize=64)  # noqa: B019  (a few years per clock, clocks are few)
    def _standard_offset(self, year: int) -> timedelta:
        return min(datetime(year, month, 1, 12, tzinfo=self.zone).utcoffset() for month in (1, 7))

    def _observe(self, wall: datetime) -> None:
        if self._previous is not None and wall != self._previous:
            step = 1 if wall > self._previous else -1
            self._direction = max(-20, min(20, self._direction + step))
        self._previous = wall


# Rows held back at most while a newest-first file is read (see `NewestFirstClock`): about
# 70 days of 5-minute readings without one gap of an hour or more. Beyond, the held rows are
# read as they are (no frozen clock), as a file that never shows the gap would be.
NEWEST_FIRST_HELD_ROWS = 20_000


class NewestFirstClock:
    """Read the wall times of a newest-first section exactly as its oldest-first copy.

    `LocalClock` infers a pump clock left on winter time from the rows in the skipped hour,
    which a chronological file shows *before* the rows the frozen offset applies to. A
    newest-first file (CareLink) shows those rows first, read as summer time, and the proof
    only later: 03:00 on the unchanged clock landed on 02:00's instant (issue #17: 61 of 73
    readings kept newest first, 73 oldest first).

    So rows a frozen clock may have written — wall times inside a skipped hour or in summer
    time — are held back, in file order, until a row that ends any freeze comes: a
    standard-time row, a step back in wall time of at least the DST shift (read oldest first,
    the clock was set forward, or a gap of an hour: `LocalClock` ends a freeze there), or the
    end of the section. The held rows are then read oldest first by a `LocalClock` of their
    own and handed back in file order. Their instants are those of the oldest-first copy:
    nothing before that row can change how they are read. At most `NEWEST_FIRST_HELD_ROWS`
    are held. Other rows go through `clock` at once (its newest-first rules for repeated
    hours).

    ``push(payload, wall)`` returns the ``(payload, instant)`` pairs now ready, in file order
    (a ``wall`` of None passes its payload through with None); ``flush()`` the rest.
    """

    def __init__(self, clock: LocalClock):
        self.clock = clock
        clock.assume_newest_first()
        self._held: list[tuple[object, datetime | None]] = []
        self._last_wall: datetime | None = None  # the newest-first previous wall time held

    def push(self, payload, wall: datetime | None) -> list:
        if wall is None:
            if self._held:
                self._held.append((payload, None))
                return []
            return [(payload, None)]
        shift = self.clock.summer_shift(wall)
        if shift is None:  # a standard-time or repeated-hour row: no freeze reaches past it
            ready = self.flush()
            ready.append((payload, self.clock.to_utc(wall)))
            return ready
        ready = []
        if self._last_wall is not None and self._last_wall - wall >= shift:
            ready = self.flush()  # read oldest first, a jump of the DST shift or more
        self._held.append((payload, wall))
        self._last_wall = wall
        if len(self._held) >= NEWEST_FIRST_HELD_ROWS:
            ready.extend(self.flush())
        return ready

    def flush(self) -> list:
        held, self._held, self._last_wall = self._held, [], None
        if not held:
            return []
        oldest_first = LocalClock(self.clock.zone.key)
        instants = [
            None if wall is None else oldest_first.to_utc(wall) for _, wall in reversed(held)
        ]
        instants.reverse()
        return [(payload, instant) for (payload, _), instant in zip(held, instants, strict=True)]


# --- many wall times at once (the fast paths) ------------------------------------------------

_ISO_WALL_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
_ISO_WALL_FILLER = "1970-01-01T00:00:00"


def iso_wall_micros(stamps: list[str]):
    """For each text, whether it is exactly ``YYYY-MM-DDThh:mm:ss`` (or a space for the
    ``T``) naming a real date-time in a year ``parse_wall_time`` accepts (1969..9000), and
    its µs since 1970-01-01T00:00 as naive wall time: numpy arrays (bool, int64).

    Such a text is what ``parse_wall_time`` reads with ``datetime.fromisoformat``, to the same
    wall time; any other text is not ``ok`` (its row takes the general path).
    """
    import numpy as np

    n = len(stamps)
    ok = np.fromiter(map(len, stamps), dtype=np.int64, count=n) == 19
    if not ok.all():
        stamps = [s if len(s) == 19 else _ISO_WALL_FILLER for s in stamps]
    raw = np.frombuffer("".join(stamps).encode("ascii", "replace"), dtype=np.uint8)
    wall_ok, micros = iso_wall_matrix(raw.reshape(n, 19))
    ok &= wall_ok
    return ok, np.where(ok, micros, 0)


def iso_wall_matrix(chars):
    """``iso_wall_micros`` of texts given as a (n, 19) uint8 array of their ASCII bytes (a
    byte of a non-ASCII character is never a digit or separator there)."""
    import numpy as np

    ok = (chars[:, 4] == 45) & (chars[:, 7] == 45) & (chars[:, 13] == 58) & (chars[:, 16] == 58)
    ok &= (chars[:, 10] == 84) | (chars[:, 10] == 32)  # "T" or " "
    digits = chars[:, _ISO_WALL_DIGITS].astype(np.int64) - 48
    ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    pairs = digits[:, 0::2] * 10 + digits[:, 1::2]
    year = pairs[:, 0] * 100 + pairs[:, 1]
    month, day, hour, minute, second = (pairs[:, i] for i in range(2, 7))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    last_day = month_days[np.clip(month, 0, 12)] + (leap & (month == 2))
    ok &= (year >= EARLIEST_INSTANT.year - 1) & (year <= 9000)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= last_day)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    # Days since 1970-01-01 of a proleptic Gregorian date (civil calendar arithmetic).
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    year_of_era = y - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146097 + day_of_era - 719468
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + second
    return ok, np.where(ok, seconds, 0) * 1_000_000
