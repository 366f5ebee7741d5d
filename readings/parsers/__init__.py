"""Device-export parsers: bytes of a file in, normalized glucose readings and treatments out.

Pure Python, no Django. Every CSV format streams (rows are decoded and yielded one at a
time; the only buffers are a bounded look-ahead used to learn the date order and to check
the declared unit). See README.md in this folder for the formats and rules.

Example::

    result = parse("export.csv", timezone="Europe/Bucharest")
    for item in result.items():
        ...  # Reading | Treatment | RowError, in file order
    print(result.format, result.warnings)
"""

from __future__ import annotations

import io
import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from . import _xlsx, carelink, dexcom, fhir, libreview, nightscout, plaincsv, tidepool
from ._pipeline import Context
from ._records import Reading, ReadingBatch, RowError, Treatment, UnreadableFile
from ._text import PrefixedStream, decode_head, sniff_encoding
from ._text import text_stream as _text_stream
from ._times import CLOCK_DRIFT_TOLERANCE, ImplausibleTime, implausible_time

__all__ = [
    "FORMATS",
    "ParseResult",
    "Reading",
    "ReadingBatch",
    "RowError",
    "Treatment",
    "UnreadableFile",
    "ImplausibleTime",
    "detect_format",
    "implausible_time",
    "parse",
]

FORMATS: tuple[str, ...] = (
    "dexcom",
    "libreview",
    "carelink",
    "nightscout",
    "tidepool",
    "fhir",
    "csv",
)

_MODULES = {
    "dexcom": dexcom,
    "libreview": libreview,
    "carelink": carelink,
    "nightscout": nightscout,
    "tidepool": tidepool,
    "fhir": fhir,
    "csv": plaincsv,
}

# Detection order: JSON formats first (cheap and unambiguous), the plain CSV last.
_DETECTION_ORDER = ("fhir", "tidepool", "nightscout", "carelink", "dexcom", "libreview", "csv")

HEAD_BYTES = 32 * 1024  # enough for every preamble seen (CareLink legacy: 12 lines)

# Items buffered at most while the declared unit is being checked (DESIGN.md §3).
_UNIT_CHECK_MAX_ITEMS = 5000

# Bounded failure: the first MAX_LISTED_ROW_ERRORS row errors are yielded one by one; the
# rest are only counted per reason (a warning at the end), so a junk file cannot fill
# memory or the upload's rejected list. Once JUNK_MIN_ERRORS rows were rejected and they
# outnumber the good records JUNK_RATIO to 1, the file is refused (UnreadableFile).
MAX_LISTED_ROW_ERRORS = 1000
JUNK_MIN_ERRORS = 1000
JUNK_RATIO = 9
_MAX_REASONS = 100  # distinct reasons counted; the rest are "other reasons"
_REASON_DETAILS = re.compile(r"'[^']*'|\"[^\"]*\"|[-+]?\d[\d.,:TZ+-]*")


def detect_format(head: bytes) -> str:
    """Name the format from the first bytes of a file (never from its name).

    >>> detect_format(b'[{"type": "sgv", "sgv": 120, "date": 1700000000000}]')
    'nightscout'
    """
    text = decode_head(head)
    for name in _DETECTION_ORDER:
        if _MODULES[name].sniff(text):
            return name
    first = text.strip().splitlines()[0][:80] if text.strip() else ""
    raise UnreadableFile(
        f"not a known device export (first line: {first!r}); expected one of: " + ", ".join(FORMATS)
    )


class ParseResult:
    """A parse in progress: ``items()`` streams the records, ``warnings`` fills meanwhile."""

    def __init__(self, format: str, items: Iterator[Reading | Treatment | RowError], ctx: Context):
        self.format = format
        self.warnings: list[str] = ctx.warnings
        self._items = items
        self._used = False

    def items(self) -> Iterator[Reading | Treatment | RowError]:
        """Readings, treatments and row errors in file order. Call once."""
        return _expanded(self.records())

    def records(self) -> Iterator[Reading | ReadingBatch | Treatment | RowError]:
        """``items()``, except that a run of readings a parser's fast path read together comes
        as one ``ReadingBatch`` (columnar: the import stores it without a Python object per
        reading). Call once, this or ``items()``."""
        if self._used:
            raise RuntimeError("ParseResult.items() can be iterated only once")
        self._used = True
        return self._items


def _expanded(records: Iterator) -> Iterator:
    for record in records:
        if type(record) is ReadingBatch:
            yield from record.readings()
        else:
            yield record


def parse(
    source: bytes | str | os.PathLike | BinaryIO,
    *,
    format: str = "auto",
    timezone: str = "UTC",
    now: datetime | None = None,
) -> ParseResult:
    """Open a device export and return its records as a stream.

    `source` is the file's bytes, a path (``str`` or ``PathLike``) or an open binary file.
    `timezone` (IANA) is where the device's wall-clock times were taken. Raises
    UnreadableFile when the file as a whole cannot be read: empty, not text, not a known
    format, no recognisable header, or a unit mix-up (checked here, on the first values,
    before anything is returned).
    """
    if format != "auto" and format not in FORMATS:
        raise UnreadableFile(f"unknown format {format!r}; expected auto or one of {FORMATS}")
    binary, owned = _open(source)
    try:
        head = binary.read(HEAD_BYTES) or b""
        if _xlsx.is_xlsx(head):
            # A workbook: its first sheet's rows, streamed as CSV lines, then as any CSV.
            binary.seek(0)
            text = _xlsx.LineStream(_xlsx.csv_lines(binary))
            head_text = text.read(HEAD_BYTES)
            text = _xlsx.LineStream(_chain([head_text], iter(text)))
            head = head_text.encode("utf-8")
        else:
            text = None
        if format == "auto":
            format = detect_format(head)
        else:
            decode_head(head)
        if text is None:
            encoding = sniff_encoding(head)
            text = _text_stream(PrefixedStream(head, binary), encoding)
        ctx = Context(timezone=timezone, now=now or datetime.now(UTC))
        items = _pipeline(_MODULES[format].parse(text, ctx), ctx, binary if owned else None)
        first = next(items, None)  # runs header checks and the unit check now
    except BaseException:
        if owned:
            binary.close()
        raise
    return ParseResult(format, _prepend(first, items), ctx)


def _open(source) -> tuple[BinaryIO, bool]:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, str | os.PathLike):
        try:
            return open(source, "rb"), True
        except OSError as exc:
            raise UnreadableFile(f"cannot open {os.fspath(source)!r}: {exc.strerror}") from None
    if hasattr(source, "read"):
        return source, False
    raise TypeError("source must be bytes, a path or a binary file object")


def _prepend(first, rest: Iterator) -> Iterator:
    if first is not None:
        yield first
        yield from rest


def _opened(items: Iterator, now) -> Iterator:
    """Batches whose readings' times are all plausible stay whole; any other batch is opened
    into its readings, in order, for the checks each reading gets."""
    for item in items:
        if type(item) is ReadingBatch and not _plausible(item, now):
            yield from item.readings()
        else:
            yield item


def _pipeline(records: Iterator, ctx: Context, owned: BinaryIO | None) -> Iterator:
    """Check units on a bounded prefix, then stream: implausible times become row errors,
    row errors past the cap are counted, a mostly-junk file stops with UnreadableFile."""
    good = errors = future = 0
    unlisted: Counter[str] = Counter()
    try:
        buffered = []
        for item in records:
            buffered.append(item)
            if ctx.unit_check_done() or len(buffered) >= _UNIT_CHECK_MAX_ITEMS:
                break
        ctx.check_units()
        for item in _opened(_chain(buffered, records), ctx.now):
            if type(item) is ReadingBatch:  # every reading's time is plausible
                good += len(item)
                yield item
                continue
            if type(item) is not RowError:
                reason = implausible_time(item.timestamp, ctx.now)
                if not reason:
                    good += 1
                    yield item
                    continue
                future += item.timestamp > ctx.now
                item = RowError(item.line, reason)
            errors += 1
            if errors <= MAX_LISTED_ROW_ERRORS:
                yield item
            else:
                _count_unlisted(unlisted, item.reason)
            if errors >= JUNK_MIN_ERRORS and errors > JUNK_RATIO * good:
                raise UnreadableFile(_junk(item, errors, good))
    finally:
        if owned is not None:
            owned.close()
    if future:
        ctx.warnings.append(
            f"{future} records dated in the future were rejected: check the device clock and"
            " the time zone"
        )
    if unlisted:
        ctx.warnings.append(
            f"{sum(unlisted.values())} more rows rejected (only the first"
            f" {MAX_LISTED_ROW_ERRORS} are listed): "
            + "; ".join(f"{count} × {reason}" for reason, count in unlisted.most_common(10))
        )
    for what, count in ctx.ignored.items():
        ctx.warnings.append(f"{count} {what} ignored")


def _count_unlisted(unlisted: Counter, reason: str) -> None:
    reason = _REASON_DETAILS.sub("…", reason)
    if reason not in unlisted and len(unlisted) >= _MAX_REASONS:
        reason = "other reasons"
    unlisted[reason] += 1


def _junk(item: RowError, errors: int, good: int) -> str:
    return (
        f"stopped at line {item.line}: {errors} rows rejected and only {good}"
        f" imported, so this is not a usable device export (last reason: {item.reason})"
    )


_MICROS_PER_SECOND = 1_000_000


def _plausible(batch: ReadingBatch, now: datetime) -> bool:
    """Whether every reading of ``batch`` passes ``implausible_time`` (none before 1970, none
    later than ``now`` + ``CLOCK_DRIFT_TOLERANCE``): compared in whole µs, as datetimes are."""
    if not len(batch):
        return True
    latest = now + CLOCK_DRIFT_TOLERANCE
    limit = (latest - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return int(batch.micros.min()) >= 0 and int(batch.micros.max()) <= limit


def _chain(buffered: list, rest: Iterator) -> Iterator:
    buffered.reverse()
    while buffered:
        yield buffered.pop()
    yield from rest
