"""Helpers shared by every format: decoding, CSV rows, numbers, dates, units and local time.

Nothing here knows about a particular device. Everything streams: text is decoded
incrementally from a binary stream and rows are produced one at a time.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import json
import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ._records import Reading, RowError, Treatment, UnreadableFile

# --- units -------------------------------------------------------------------------------

# 1 mmol/L of glucose = 18.01559 mg/dL (molar mass 180.156 g/mol); the same factor as
# Nightscout (`constants.MMOL_TO_MGDL`) and Tidepool (`MGDL_PER_MMOLL`). DESIGN.md §3.
MG_DL_PER_MMOL_L = 18.01559

MG_DL = "mg/dL"
MMOL_L = "mmol/L"

# Physically impossible glucose values are row errors (DESIGN.md §3).
MAX_MG_DL = 1000.0
MAX_MMOL_L = 55.0

# Out-of-range markers ("Low"/"High") are stored flagged at the device's reporting limit.
# Dexcom G6/G7 and Medtronic sensors report 40..400 mg/dL; the generic default is the same.
DEFAULT_LOW_MG_DL = 40.0
DEFAULT_HIGH_MG_DL = 400.0

# A declared unit is checked against the first values of the file: mmol/L glucose is
# never "mostly above 35" and mg/dL glucose is never "mostly below 25".
UNIT_CHECK_SAMPLE = 50
UNIT_CHECK_MINIMUM = 5  # fewer values than this (a tiny file) are not enough to judge
MMOL_L_SUSPICIOUS_ABOVE = 35.0
MG_DL_SUSPICIOUS_BELOW = 25.0

# Plausible time (DESIGN.md §3): an instant before 1970 or later than "now" plus this
# tolerance (a device clock a little fast) is a row error, never a reading.
CLOCK_DRIFT_TOLERANCE = timedelta(hours=1)
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)

# No CGM reports a number below 40 mg/dL: Dexcom G6/G7, Medtronic Guardian/Enlite and
# FreeStyle Libre 1-3 all show "Low"/"LO" below it (their manuals' reporting ranges start at
# 40). So a sensor number below 40 is not a glucose reading and never enters metrics
# (DESIGN §3): it is a row error on every path ("below any CGM's reporting range"). Only the
# device's own out-of-range marker is stored, as a reading at this limit flagged "low".
# Meter (finger-stick) values have their own, lower ranges (20 mg/dL and below): not checked.
CGM_LOWEST_MG_DL = 40.0
SENSOR_KINDS = frozenset({"cgm", "scan"})
BELOW_CGM_RANGE = "below any CGM's reporting range"

# Dexcom special glucose values (the codes Nightscout's errorcodes plugin displays): an
# `sgv` of 0..12 is a sensor status, never glucose; the row error names the status. See
# README.md "Sensor status codes".
SENSOR_STATUS_BELOW_MG_DL = 13.0
SENSOR_STATUS_CODES = {
    0: "no value",
    1: "sensor not active",
    2: "minimal deviation",
    3: "no antenna",
    5: "sensor not calibrated",
    6: "counts deviation",
    9: "absolute deviation",
    10: "power deviation",
    12: "bad RF",
}

# Alias tables (header words per role, marker words) are data: aliases/<name>.json next to
# this module, so a new language is new words in a file, not new code. Words are folded
# on loading the same way as header cells are when matched.
ALIASES_DIR = Path(__file__).with_name("aliases")


def load_aliases(name: str) -> dict:
    """The alias file ``aliases/<name>.json`` (keys starting with "_" are comments)."""
    with open(ALIASES_DIR / f"{name}.json", encoding="utf-8") as file:
        doc = json.load(file)
    return {key: value for key, value in doc.items() if not key.startswith("_")}


def fold_alias(alias: str) -> str:
    """Fold each "+" fragment of an alias as header cells are folded, keeping "=".

    >>> fold_alias("=Gerät"), fold_alias("Kohlenhydrate+Gramm")
    ('=gerat', 'kohlenhydrate+gramm')
    """
    exact = alias.startswith("=")
    folded = "+".join(fold_text(part) for part in alias.lstrip("=").split("+"))
    return "=" + folded if exact else folded


def alias_table(columns: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A role table for `match_columns` from a {role: [aliases]} mapping (order kept)."""
    return tuple(
        (role, tuple(dict.fromkeys(fold_alias(a) for a in aliases)))
        for role, aliases in columns.items()
    )


def mmol_to_mg_dl(mmol: float) -> float:
    """Convert mmol/L to a whole mg/dL so consensus mmol/L bands map exactly.

    >>> mmol_to_mg_dl(10.0), mmol_to_mg_dl(3.9), mmol_to_mg_dl(2.9)
    (180.0, 70.0, 52.0)
    """
    return float(round(mmol * MG_DL_PER_MMOL_L))


def unit_from_text(text: str) -> str | None:
    """Find a glucose unit in a header or field ("Glucose Value (mmol/L)" -> "mmol/L")."""
    folded = fold_text(text).replace(" ", "")
    if "mmol" in folded or "毫摩尔" in folded:
        return MMOL_L
    if "mg/dl" in folded or "mg/100ml" in folded or "毫克" in folded:
        return MG_DL
    return None


def marker_flag(text: str) -> str:
    """Return "low"/"high" when `text` is an out-of-range marker, else ""."""
    word = fold_text(text).strip()
    if word in LOW_WORDS:
        return "low"
    if word in HIGH_WORDS:
        return "high"
    return ""


# --- text --------------------------------------------------------------------------------


def fold_text(text: str) -> str:
    """Lower-case, strip accents and squeeze spaces, for header and keyword matching.

    >>> fold_text("  Type d'Événement ")
    "type d'evenement"
    """
    if text.isascii():  # nothing to decompose or strip (the usual case, once per row)
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().replace("\ufeff", "").split())


_MARKERS = load_aliases("markers")
# Words that mean "below/above the measuring range", in the languages exports come in.
# Compared after `fold_text` (lower case, accents removed), so "Élevé" is "eleve".
LOW_WORDS = frozenset(fold_text(w) for w in _MARKERS["low"])
HIGH_WORDS = frozenset(fold_text(w) for w in _MARKERS["high"])


def sniff_encoding(head: bytes) -> str:
    """Pick a codec from the first bytes: BOMs, UTF-16 without BOM, UTF-8, else cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > half * 0.4 and even_nuls < half * 0.1:
            return "utf-16-le"
        if even_nuls > half * 0.4 and odd_nuls < half * 0.1:
            return "utf-16-be"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start >= len(sample) - 3:
            return "utf-8"
        return "cp1252"


def decode_head(head: bytes) -> str:
    """Decode the first bytes of a file for format detection; raise if it is not text."""
    if not head.strip():
        raise UnreadableFile("the file is empty")
    encoding = sniff_encoding(head)
    text = head.decode(encoding, errors="replace")
    text = text.lstrip("\ufeff")
    controls = sum(1 for c in text[:4096] if ord(c) < 32 and c not in "\r\n\t")
    if "\x00" in text or controls > len(text[:4096]) * 0.01 + 2:
        raise UnreadableFile("the file is not text (binary content): not a device export")
    if text.count("\ufffd") > len(text) * 0.05:
        raise UnreadableFile("the file is not readable text in any known encoding")
    return text


class PrefixedStream(io.RawIOBase):
    """A binary stream that first replays `head` (already read for detection), then the rest."""

    def __init__(self, head: bytes, rest: io.BufferedIOBase | io.RawIOBase):
        self._head = memoryview(head)
        self._pos = 0
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._pos < len(self._head):
            n = min(len(buffer), len(self._head) - self._pos)
            buffer[:n] = self._head[self._pos : self._pos + n]
            self._pos += n
            return n
        data = self._rest.read(len(buffer))
        if not data:
            return 0
        buffer[: len(data)] = data
        return len(data)


def text_stream(binary: io.RawIOBase, encoding: str) -> io.TextIOWrapper:
    """Incrementally decoded text; `newline=""` keeps CRLF for the csv module to handle."""
    return io.TextIOWrapper(
        io.BufferedReader(binary, buffer_size=65536),
        encoding=encoding,
        errors="replace",
        newline="",
    )


def sniff_delimiter(line: str) -> str:
    """The most frequent of ; , and tab outside quotes in a header line."""
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def csv_rows(text: io.TextIOBase, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (1-based line number, cells) for every non-blank row, one at a time."""
    reader = csv.reader(text, delimiter=delimiter)
    strip = str.strip
    start = 1
    for cells in reader:
        line = start
        start = reader.line_num + 1
        cells = list(map(strip, cells))
        if not any(cells):
            continue
        if cells[0].startswith("\ufeff"):
            cells[0] = cells[0].lstrip("\ufeff")
        yield line, cells


# --- header recognition by alias tables ----------------------------------------------------


def match_columns(
    header: list[str], roles: Iterable[tuple[str, tuple[str, ...]]]
) -> dict[str, int]:
    """Map roles to column indexes using alias tables.

    `roles` is an ordered table ``(role, aliases)``; for each header cell the first role
    with a matching alias wins, so list specific roles before general ones. An alias
    matches when all its "+"-separated fragments occur in the folded header cell; an
    alias starting with "=" must equal the whole cell.

    >>> match_columns(["Gerät", "Gerätezeitstempel"], [("timestamp", ("zeitstempel",)),
    ...     ("device", ("=gerat",))])
    {'device': 0, 'timestamp': 1}
    """
    roles = tuple(roles)
    try:
        role_for = _role_finder(roles)
    except TypeError:  # an unhashable table (lists inside): read it afresh
        role_for = _role_finder.__wrapped__(roles)
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        role = role_for(fold_text(cell))
        if role is not None:
            found.setdefault(role, index)
    return found


_ROLE_MEMO_SIZE = 1024  # folded header cells remembered per alias table


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


@functools.lru_cache(maxsize=16)
def _role_finder(roles: tuple) -> Callable[[str], str | None]:
    """The role of a folded header cell under one alias table (None: no role), memoized.

    Format detection tries every table on every line of a file's head, so the same cells
    ("", "EGV", a device name) are looked up thousands of times.
    """
    table = [
        (
            role,
            {alias[1:] for alias in aliases if alias.startswith("=")},
            [alias.split("+") for alias in aliases if not alias.startswith("=")],
        )
        for role, aliases in roles
    ]
    memo: dict[str, str | None] = {}

    def role_for(folded: str) -> str | None:
        try:
            return memo[folded]
        except KeyError:
            pass
        found = None
        for role, exact, fragments in table:
            if folded in exact or any(all(f in folded for f in parts) for parts in fragments):
                found = role
                break
        # Remember header words and letter-free cells (numbers, dates, ""), never other text:
        # a file's head can hold a patient's name, which must not outlive the upload.
        if len(memo) < _ROLE_MEMO_SIZE and (found is not None or not _has_letters(folded)):
            memo[folded] = found
        return found

    return role_for


@functools.lru_cache(maxsize=4)
def _folded_head(text: str) -> str:
    return fold_text(text)


def mentions_any(text: str, roles: Iterable[tuple[str, tuple[str, ...]]], wanted) -> bool:
    """Whether the folded `text` contains an alias of one of the `wanted` roles anywhere.

    A cheap first test for format detection: a file whose head never mentions, say, a
    record-type column cannot have that header, so no line needs to be split and matched.
    """
    folded = _folded_head(text)
    for role, aliases in roles:
        if role in wanted:
            for alias in aliases:
                if all(part in folded for part in alias.lstrip("=").split("+")):
                    return True
    return False


def cell(cells: list[str], columns: dict[str, int], role: str) -> str:
    index = columns.get(role)
    if index is None or index >= len(cells):
        return ""
    return cells[index]


# --- numbers -----------------------------------------------------------------------------


def parse_number(text: str) -> float:
    """Parse "5,4", "1.234,5", "1,234.5" or "120"; raise ValueError with a clear reason.

    >>> parse_number("7,1"), parse_number("2746,00000"), parse_number("1.234,5")
    (7.1, 2746.0, 1234.5)
    """
    try:  # the usual "120" or "5.4": float() reads it exactly as the rules below would
        value = float(text)
    except ValueError:
        pass
    else:
        if value - value == 0:  # not nan or ±inf
            return value
    s = text.strip().replace("\u00a0", "").replace(" ", "")
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        s = s.replace(",", ".")
    try:
        value = float(s)
    except ValueError:
        raise ValueError(f"value {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"value {text!r} is not a number")
    return value


def parse_duration_minutes(text: str) -> float | None:
    """ "00:45:00" or "0:20" -> minutes; a bare number is minutes."""
    s = text.strip()
    if not s:
        return None
    if ":" in s:
        parts = [int(p) for p in s.split(":")]
        while len(parts) < 3:
            parts.append(0)
        hours, minutes, seconds = parts[:3]
        return hours * 60 + minutes + seconds / 60
    return parse_number(s)


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
        try:
            until = start + timedelta(hours=1)
            last = until - timedelta(microseconds=1)
            offsets = {
                moment.replace(tzinfo=self.zone, fold=fold).utcoffset()
                for moment in (start, last)
                for fold in (0, 1)
            }
            if len(offsets) != 1:
                return False
            utc = (start - offsets.pop()).replace(tzinfo=UTC)
        except OverflowError:  # the first or last hour a datetime can hold
            return False
        self._steady_from, self._steady_until, self._steady_utc = start, until, utc
        return True

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


# --- the shared row pipeline -----------------------------------------------------------------


@dataclass
class Context:
    """Per-parse settings and counters shared by a format module and the pipeline."""

    timezone: str
    now: datetime
    warnings: list[str] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.clock = LocalClock(self.timezone)
        self.unit_samples: dict[str, list[float]] = {MG_DL: [], MMOL_L: []}

    def count_ignored(self, what: str) -> None:
        self.ignored[what] = self.ignored.get(what, 0) + 1

    def observe_unit(self, value: float, unit: str) -> None:
        samples = self.unit_samples[unit]
        if len(samples) < UNIT_CHECK_SAMPLE:
            samples.append(value)

    def unit_check_done(self) -> bool:
        return any(len(s) >= UNIT_CHECK_SAMPLE for s in self.unit_samples.values())

    def check_units(self) -> None:
        """Raise UnreadableFile when most sampled values contradict their declared unit."""
        mmol = self.unit_samples[MMOL_L]
        if (
            len(mmol) >= UNIT_CHECK_MINIMUM
            and sum(v > MMOL_L_SUSPICIOUS_ABOVE for v in mmol) > len(mmol) / 2
        ):
            raise UnreadableFile(
                f"the file declares mmol/L but {sum(v > MMOL_L_SUSPICIOUS_ABOVE for v in mmol)}"
                f" of its first {len(mmol)} glucose values are above 35: probable unit"
                " mix-up (mg/dL values labelled mmol/L)"
            )
        mg = self.unit_samples[MG_DL]
        if (
            len(mg) >= UNIT_CHECK_MINIMUM
            and sum(v < MG_DL_SUSPICIOUS_BELOW for v in mg) > len(mg) / 2
        ):
            raise UnreadableFile(
                f"the file declares mg/dL but {sum(v < MG_DL_SUSPICIOUS_BELOW for v in mg)}"
                f" of its first {len(mg)} glucose values are below 25: probable unit"
                " mix-up (mmol/L values labelled mg/dL)"
            )


def glucose(
    ctx: Context,
    line: int,
    timestamp: datetime,
    raw: str | float,
    unit: str,
    kind: str,
    device: str = "",
    *,
    low_limit: float = DEFAULT_LOW_MG_DL,
    high_limit: float = DEFAULT_HIGH_MG_DL,
    meal_tag: str = "",
    reporting_range: tuple[float, float] | None = None,
    status_codes: bool = False,
    device_key: str = "",
) -> Reading | RowError:
    """Build a Reading from a raw value in `unit`, or a RowError saying what is wrong.

    Low/High markers become flagged readings at `low_limit`/`high_limit`. A sensor number
    (kind "cgm"/"scan") below 40 mg/dL is a RowError (`sensor_value_problem`). With
    `reporting_range` (the sensor's range in mg/dL), a number outside it is kept but
    flagged "low"/"high". With `status_codes` (Dexcom/Nightscout sensor glucose), a mg/dL
    number of 0..12 is a sensor status code: a RowError naming it, never glucose.
    """
    if isinstance(raw, str):
        try:  # most values are plain numbers, and no Low/High word reads as one
            number = float(raw)
        except ValueError:
            number = None
        if number is None or number - number != 0:  # a marker, a decimal comma, nan, ...
            flag = marker_flag(raw)
            if flag:
                value = low_limit if flag == "low" else high_limit
                return Reading(line, timestamp, value, kind, device, flag, meal_tag, device_key)
            try:
                number = parse_number(raw)
            except ValueError as exc:
                return RowError(line, f"glucose {exc}")
    elif isinstance(raw, bool) or not isinstance(raw, int | float):
        return RowError(line, f"glucose value {raw!r} is not a number")
    else:
        try:
            number = float(raw)
        except OverflowError:  # an integer no float holds (10**400 in JSON)
            return RowError(line, "glucose value is not a number (beyond any float)")
        if number - number != 0:
            return RowError(line, f"glucose value {raw!r} is not a finite number")
    if status_codes and unit == MG_DL and 0 <= number < SENSOR_STATUS_BELOW_MG_DL:
        meaning = SENSOR_STATUS_CODES.get(int(number)) if number == int(number) else None
        return RowError(
            line,
            f"sensor status code {number:g}"
            + (f" ({meaning})" if meaning else "")
            + ", not glucose",
        )
    ctx.observe_unit(number, unit)
    if number <= 0:
        return RowError(line, f"glucose {number:g} {unit} is impossible (<= 0)")
    if unit == MMOL_L:
        if number > MAX_MMOL_L:
            return RowError(line, f"glucose {number:g} mmol/L is impossible (> {MAX_MMOL_L:g})")
        value = mmol_to_mg_dl(number)
    else:
        value = number
    if value > MAX_MG_DL:
        return RowError(line, f"glucose {number:g} mg/dL is impossible (> {MAX_MG_DL:g})")
    problem = sensor_value_problem(value, kind)
    if problem:
        return RowError(line, problem)
    flag = ""
    if reporting_range is not None:
        if value < reporting_range[0]:
            flag = "low"
        elif value > reporting_range[1]:
            flag = "high"
    return Reading(line, timestamp, value, kind, device, flag, meal_tag, device_key)


def sensor_value_problem(value_mg_dl: float, kind: str) -> str:
    """Why `value_mg_dl` cannot be a sensor reading of `kind` ("" when it can).

    The one rule for CGM numbers below 40 mg/dL (see ``CGM_LOWEST_MG_DL``): every parser
    applies it through `glucose`, and the ingest path (``readings.services.reading_checked``)
    applies it again to every record it stores, whoever built it.

    >>> sensor_value_problem(35, "cgm")
    "glucose 35 mg/dL is below any CGM's reporting range (40 mg/dL; lower shows as Low)"
    >>> sensor_value_problem(35, "smbg"), sensor_value_problem(40, "cgm")
    ('', '')
    """
    if kind not in SENSOR_KINDS or not value_mg_dl < CGM_LOWEST_MG_DL:
        return ""
    return (
        f"glucose {value_mg_dl:g} mg/dL is {BELOW_CGM_RANGE}"
        f" ({CGM_LOWEST_MG_DL:g} mg/dL; lower shows as Low)"
    )


def lookahead(rows: Iterator, size: int) -> tuple[list, Iterator]:
    """Take up to `size` items for inspection; return them and an iterator over all items.

    This is the only buffering the CSV parsers do, so memory stays bounded by `size`.
    """
    buffered = list(itertools.islice(rows, size))
    return buffered, _chain(deque(buffered), rows)


def _chain(first: deque, rest: Iterator) -> Iterator:
    while first:
        yield first.popleft()
    yield from rest


ITEM = Reading | Treatment | RowError
