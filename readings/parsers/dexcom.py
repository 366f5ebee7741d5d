"""Dexcom Clarity CSV export (G5/G6/G7, receiver and mobile apps), any language.

Layouts: the older 12 columns (Index, Timestamp, Event Type, Event Subtype, Patient Info,
Device Info, Source Device ID, Glucose Value, Insulin Value, Carb Value, Duration,
Glucose Rate of Change) and the newer 14 with Transmitter Time (Long Integer) and
Transmitter ID. Columns are found by the alias tables below, so column order and the
export language do not matter; adding a language is adding its words to the tables.

Rows -> records:
  EGV -> Reading "cgm" ("High"/"Low" -> flagged at 400/40 mg/dL, the G6 reporting range;
         a number outside 40..400 is kept and flagged; 0..12 is a sensor status code:
         a row error)
  Calibration -> Reading "calibration" (a finger-stick entered to calibrate)
  Insulin -> Treatment insulin_rapid / insulin_long (from the subtype), units
  Carbs -> Treatment carbs (grams); Exercise -> Treatment exercise (minutes)
  Health -> Treatment note
  FirstName/LastName/Device/Alert/... -> nothing (Alert glucose values are thresholds)

Timestamps are device wall-clock time in the patient's zone. In a repeated DST hour the
Transmitter Time (seconds, monotonic per transmitter) picks the right instant: the offset
"UTC - transmitter time" learned on unambiguous rows predicts the instant.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from operator import itemgetter
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._pipeline import Context, glucose
from ._records import FLAGS, Reading, ReadingBatch, RowError, Treatment, UnreadableFile
from ._text import (
    alias_table,
    cell,
    csv_cells,
    csv_rows,
    fold_text,
    load_aliases,
    match_columns,
    mentions_any,
    sniff_delimiter,
)
from ._times import DateOrder, iso_wall_matrix, iso_wall_micros, parse_wall_time
from ._units import (
    DEFAULT_HIGH_MG_DL,
    DEFAULT_LOW_MG_DL,
    MG_DL,
    parse_duration_minutes,
    parse_number,
    unit_from_text,
)

# Dexcom G6/G7 report 40..400 mg/dL; "Low"/"High" are stored at these limits.
DEXCOM_LOW_MG_DL = DEFAULT_LOW_MG_DL
DEXCOM_HIGH_MG_DL = DEFAULT_HIGH_MG_DL
DEXCOM_RANGE = (DEXCOM_LOW_MG_DL, DEXCOM_HIGH_MG_DL)  # a number outside it is flagged

# Header and event words per language: data in aliases/dexcom.json (specific roles first).
_ALIASES = load_aliases("dexcom")
COLUMNS = alias_table(_ALIASES["columns"])

# Event Type values (folded) in the languages Clarity exports.
EVENT_KINDS: dict[str, str] = {
    fold_text(word): kind for kind, words in _ALIASES["event_kinds"].items() for word in words
}

# Insulin subtypes that mean long-acting (anything else is rapid/fast-acting).
LONG_ACTING_WORDS = tuple(fold_text(w) for w in _ALIASES["long_acting_words"])

_LOOKAHEAD_ROWS = 2000
_ROW_ROLES = ("event", "timestamp", "glucose", "source", "transmitter_time", "transmitter_id")
_SPELLINGS = 64  # distinct event words and device names remembered while parsing


def sniff(text: str) -> bool:
    if not mentions_any(text, COLUMNS, ("event",)):
        return False
    for line in text.splitlines()[:5]:
        columns = match_columns(line.split(sniff_delimiter(line)), COLUMNS)
        if {"event", "timestamp", "glucose"} <= columns.keys():
            return True
    return False


def parse(text: io.TextIOBase, ctx: Context) -> Iterator:
    header_line = text.readline()
    delimiter = sniff_delimiter(header_line)
    header = [
        c.strip().lstrip("\ufeff") for c in next(csv_rows(io.StringIO(header_line), delimiter))[1]
    ]
    columns = match_columns(header, COLUMNS)
    missing = {"event", "timestamp", "glucose"} - columns.keys()
    if missing:
        raise UnreadableFile(
            "Dexcom export without the expected columns: missing " + ", ".join(sorted(missing))
        )
    unit = unit_from_text(header[columns["glucose"]]) or MG_DL

    reader = csv_rows(text, delimiter, first_line=2)  # line 1 is the header
    # Rows are looked ahead only until the date order is known for good (a Clarity export's
    # first reading, "2024-03-01T08:15:00", decides it), at most _LOOKAHEAD_ROWS: the rest
    # of the file goes through the block reader below, whose first rows reach the import
    # sooner than 2,000 rows read one by one (#23: the import's COPY waits for them).
    head = []
    order = DateOrder()
    for row in islice(reader, _LOOKAHEAD_ROWS):
        head.append(row)
        order.feed(cell(row[1], columns, "timestamp"))
        if order.decided:
            break
    rows = _Rows(ctx, columns, unit, order.resolved(), len(header))
    yield from rows.block(head)
    del head
    # The rest of the file: physical lines in blocks, split at the delimiter (a line without
    # quotes is one row, exactly as the csv module reads it). From a line with a quote on, the
    # csv module reads the rest (a quoted cell may hold delimiters or span lines).
    first_line, size = reader.lines_read + 2, _FIRST_BLOCK_LINES
    while block := list(islice(text, size)):
        size = _BLOCK_LINES
        quoted = next((n for n, line in enumerate(block) if '"' in line), None)
        lines = block if quoted is None else block[:quoted]
        if lines:
            yield from rows.lines(lines, first_line, delimiter)
        if quoted is not None:
            rest = csv_rows(chain(block[quoted:], text), delimiter, first_line + quoted)
            while parsed := list(islice(rest, _BLOCK_LINES)):
                yield from rows.block(parsed)
            return
        first_line += len(block)


_BLOCK_LINES = 2500  # rows looked at together by the fast path (memory: ~0.5 KB each)
# The first block is shorter: its readings are the first an import can send (#23: the
# import's COPY starts on a file's first 1,000 rows; a few of them come before it).
_FIRST_BLOCK_LINES = 1100
# The fast path on (tests compare it with the general rules by turning it off).
FAST_PATH = True
_PLAIN = frozenset(("egv",))


class _NoUnitSamples:
    """A Context stand-in for reading a glucose cell without feeding the unit check."""

    def observe_unit(self, value: float, unit: str) -> None:
        pass


class _Rows:
    """One file's rows to records: ``row`` reads one row (the general rules), ``block`` many.

    ``block`` gives every row of a block to ``row`` except runs of plain EGV rows once the
    unit check is done — a number or marker in the sensor's terms, a ``YYYY-MM-DDThh:mm:ss``
    wall time inside an hour without a DST change, no frozen device clock — which it reads
    together, with numpy, into one ``ReadingBatch``: the same readings ``row`` would give
    them, and the same state left behind (device clock, transmitter anchors). Anything else
    about a row (another event, a repeated or skipped hour, an odd cell) sends it to ``row``.
    """

    def __init__(
        self, ctx: Context, columns: dict[str, int], unit: str, date_order: str, width: int
    ):
        self.ctx = ctx
        self.header_width = width  # cells of the header
        self.columns = columns
        self.unit = unit
        self.date_order = date_order
        # Per row, the cells are cut or padded to the header's width plus one always-empty cell
        # (what an absent column or a short row reads as) and taken in one itemgetter call.
        self.width = max(columns.values()) + 1
        self.blanks = [""] * (self.width + 1)
        self.take = itemgetter(*(columns.get(role, self.width) for role in _ROW_ROLES))
        self.events: dict[str, str] = {}  # Event Type cell -> folded, once per spelling
        self.model = ""
        self.devices: dict[tuple[str, str, str], tuple[str, str]] = {}  # -> (name, key)
        self.anchors: dict[str, timedelta] = {}  # transmitter id -> UTC minus its seconds
        # The unit check has its sample: a plain in-range EGV skips `glucose`.
        self.plain_mg_dl = False
        self.values: dict[str, tuple[float, int] | None] = {}  # glucose cell -> value, flag

    # --- one row, the general rules --------------------------------------------------------

    def row(self, line: int, cells: list[str]):
        """The record of one row (a Reading, Treatment or RowError), or None."""
        ctx, columns = self.ctx, self.columns
        row = cells[: self.width]
        row += self.blanks[len(row) :]
        event, stamp, raw, source, tx_text, tx_id = self.take(row)
        kind = EVENT_KINDS.get(self._folded(event))
        if kind is None:
            if self._folded(event) in (
                "device",
                "gerat",
                "appareil",
                "dispositivo",
                "apparaat",
                "设备",
            ):
                self.model = _model_name(cell(cells, columns, "device_info"))
            return None
        if not stamp:
            if kind == "egv" and raw:
                return RowError(line, "reading without a timestamp")
            return None
        try:
            wall = parse_wall_time(stamp, self.date_order)
        except ValueError as exc:
            return RowError(line, str(exc))
        if wall.tzinfo is not None:
            instant = wall.astimezone(UTC)
        else:
            instant = _instant(ctx, wall, tx_text, tx_id, self.anchors)
        device, key = self._device(source, tx_id)
        if kind in ("egv", "calibration"):
            if self.plain_mg_dl and kind == "egv":
                # The usual row, a number in the G6's range: exactly what `glucose` makes of
                # it (no marker, no status code, no flag), without its ~1 µs of checks.
                try:
                    number = float(raw)
                except ValueError:
                    number = 0.0
                if DEXCOM_LOW_MG_DL <= number <= DEXCOM_HIGH_MG_DL:
                    return Reading(line, instant, number, "cgm", device, "", "", key)
            elif self.unit == MG_DL and ctx.unit_check_done():
                self.plain_mg_dl = True
            if not raw:
                return RowError(
                    line, f"{cell(cells, columns, 'event')} row without a glucose value"
                )
            return glucose(
                ctx,
                line,
                instant,
                raw,
                self.unit,
                "cgm" if kind == "egv" else "calibration",
                device,
                low_limit=DEXCOM_LOW_MG_DL,
                high_limit=DEXCOM_HIGH_MG_DL,
                reporting_range=DEXCOM_RANGE if kind == "egv" else None,
                status_codes=kind == "egv",
                device_key=key,
            )
        return _treatment(line, instant, kind, cells, columns, device, key)

    def _folded(self, event: str) -> str:
        try:
            return self.events[event]
        except KeyError:
            folded = fold_text(event)
            if len(self.events) < _SPELLINGS:
                self.events[event] = folded
            return folded

    def _device(self, source: str, tx_id: str) -> tuple[str, str]:
        model = self.model
        try:
            return self.devices[model, source, tx_id]
        except KeyError:
            device = (
                f"{model} {source}".strip() if model and source not in model else source or model
            )
            key = device_key(source, tx_id, model)
            if len(self.devices) < _SPELLINGS:
                self.devices[model, source, tx_id] = device, key
            return device, key

    # --- many rows --------------------------------------------------------------------------

    def block(self, rows: list) -> Iterator:
        """The records of ``rows`` ((line, cells) pairs from ``csv_rows``), in order."""
        yield from self._walk(
            len(rows),
            lambda i: rows[i][0],
            lambda i: rows[i][1],
            lambda: self._plain_rows(rows),
        )

    def lines(self, lines: list[str], first_line: int, delimiter: str) -> Iterator:
        """The records of physical lines without quotes (line ``first_line`` on), in order:
        each line is one row, its cells split at the delimiter (as the csv module reads it)."""
        yield from self._walk(
            len(lines),
            lambda i: first_line + i,
            lambda i: csv_cells(lines[i], delimiter),
            lambda: self._plain_lines(lines, first_line, delimiter),
        )

    def _walk(self, n: int, line_at, cells_at, plain_rows) -> Iterator:
        plain = None  # the fast path's view of the rows, made once the unit check is done
        i = 0
        while i < n:
            if FAST_PATH and self.plain_mg_dl and self.ctx.clock._frozen is None:
                if plain is None:
                    plain = plain_rows()
                if plain.ok[i]:
                    j = int(plain.ends[i])
                    yield self._batch(plain, i, j)
                    i = j
                    continue
            cells = cells_at(i)
            if cells is not None:
                item = self.row(line_at(i), cells)
                if item is not None:
                    yield item
            i += 1

    def _plain_rows(self, rows: list) -> _Plain:
        """The fast path's view of csv rows (cells already stripped)."""
        n = len(rows)
        indexes = [self.columns.get(role) for role in _ROW_ROLES]
        needed = max(i for i in indexes if i is not None) + 1
        cells = [c for _, c in rows]
        if min(map(len, cells), default=needed) < needed:
            cells = [c if len(c) >= needed else c + [""] * (needed - len(c)) for c in cells]
        present = [i for i in indexes if i is not None]
        columns = iter(zip(*map(itemgetter(*present), cells), strict=True))
        event, stamp, value, source, tx_text, tx_id = (
            next(columns) if i is not None else ("",) * n for i in indexes
        )
        ok = self._column_check(event, self._is_plain_event)
        ok &= self._column_check(tx_text, _plain_seconds)
        wall_ok, wall = iso_wall_micros(list(stamp))
        pairs = {pair: code for code, pair in enumerate(set(zip(source, tx_id, strict=True)))}
        pair_codes = np.array([pairs[pair] for pair in zip(source, tx_id, strict=True)])
        spellings = {text: code for code, text in enumerate(set(value))}
        value_codes = np.array([spellings[text] for text in value], dtype=np.int64)
        lines = np.fromiter((line for line, _ in rows), dtype=np.int64, count=n)
        return self._plain(
            ok & wall_ok,
            wall,
            lines,
            list(spellings),
            value_codes,
            list(pairs),
            pair_codes,
            lambda k: tx_text[k],
        )

    def _plain_lines(self, lines: list[str], first_line: int, delimiter: str) -> _Plain:
        """The fast path's view of physical lines, read with numpy from their UTF-8 bytes:
        a line counts only when it holds exactly the header's number of delimiters (no quotes:
        the caller's), no NUL and no byte-order mark; its cells are then the bytes between
        delimiters, each distinct cell decoded once (and stripped where ``row`` strips)."""
        n = len(lines)
        joined = "".join(lines)
        if not joined.endswith("\n"):
            joined += "\n"  # the file's last line: its end reads the same
        data = joined.encode("utf-8")
        buf = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(buf == 10)
        if len(newlines) != n:  # a line ended by a lone carriage return: cells one by one
            rows = [
                (first_line + k, line.rstrip("\r\n").split(delimiter))
                for k, line in enumerate(lines)
            ]
            plain = self._plain_rows(rows)
            # csv_rows strips a byte-order mark from a first cell: such a row is read alone.
            plain.ok[[k for k, (_, c) in enumerate(rows) if c[0].startswith("\ufeff")]] = False
            return plain
        starts = np.concatenate(([0], newlines[:-1] + 1))
        stops = newlines - (buf[newlines - 1] == 13)
        delimiters = np.flatnonzero(buf == ord(delimiter))
        counts = np.bincount(np.searchsorted(newlines, delimiters), minlength=n)
        last = self.header_width - 1
        ok = counts == last
        for bad in (np.flatnonzero(buf == 0), starts[buf[starts] == 0xEF]):
            ok[np.searchsorted(newlines, bad)] = False
        if not len(delimiters):
            ok[:] = False
        firsts = np.cumsum(counts) - counts  # each line's first delimiter, in ``delimiters``
        top = max(len(delimiters) - 1, 0)

        def bounds(column: int):
            begin = starts if column == 0 else delimiters[np.minimum(firsts + column - 1, top)] + 1
            end = stops if column == last else delimiters[np.minimum(firsts + column, top)]
            return begin, np.where(ok, end - begin, 0)

        padded = np.concatenate((buf, np.zeros(32, dtype=np.uint8)))

        def windows(width: int, begin) -> np.ndarray:
            """The ``width`` bytes from each ``begin`` (a copy; zeros past the block's end)."""
            if width > 32:
                wide = np.concatenate((buf, np.zeros(width, dtype=np.uint8)))
                return sliding_window_view(wide, width)[begin]
            return sliding_window_view(padded, width)[begin]

        def texts(role: str):
            """Each line's cell of ``role`` as a code, and the distinct cells by code."""
            column = self.columns.get(role)
            if column is None or column > last:
                return np.zeros(n, dtype=np.int64), [""]
            begin, length = bounds(column)
            width = int(length.max(initial=0))
            if width == 0:
                return np.zeros(n, dtype=np.int64), [""]
            cells = windows(width, begin)
            cells[np.arange(width) >= length[:, None]] = 0
            unique, codes = np.unique(cells.view(f"S{width}").ravel(), return_inverse=True)
            return codes, [text.decode("utf-8", "replace") for text in unique.tolist()]

        codes, words = texts("event")
        ok &= np.array([self._is_plain_event(word) for word in words], dtype=bool)[codes]
        column = self.columns["timestamp"]
        if column > last:
            ok[:] = False
            stamps = np.zeros((n, 19), dtype=np.uint8)
        else:
            begin, length = bounds(column)
            ok &= length == 19
            stamps = windows(19, begin)
        wall_ok, wall = iso_wall_matrix(stamps)
        value_codes, spellings = texts("glucose")
        source_codes, sources = texts("source")
        id_codes, ids = texts("transmitter_id")
        pair_codes = source_codes * len(ids) + id_codes
        pairs = [(source, transmitter) for source in sources for transmitter in ids]
        tx_column = self.columns.get("transmitter_time")
        tx_bounds = None if tx_column is None or tx_column > last else bounds(tx_column)
        if tx_bounds is not None:  # empty, or up to 10 digits (see ``_plain_seconds``)
            begin, length = tx_bounds
            ok &= length <= _PLAIN_SECONDS_DIGITS
            places = np.arange(_PLAIN_SECONDS_DIGITS)
            cells = windows(_PLAIN_SECONDS_DIGITS, begin)
            digits = (cells >= 48) & (cells <= 57)
            ok &= (digits | (places >= length[:, None])).all(axis=1)

        def tx_text(k: int) -> str:
            if tx_bounds is None:
                return ""
            begin, length = tx_bounds[0][k], tx_bounds[1][k]
            return data[begin : begin + length].decode("utf-8", "replace")

        lines_ = first_line + np.arange(n, dtype=np.int64)
        return self._plain(
            ok & wall_ok, wall, lines_, spellings, value_codes, pairs, pair_codes, tx_text
        )

    def _plain(self, ok, wall, lines, spellings, value_codes, pairs, pair_codes, tx_text):
        """The rest of the view, the same for csv rows and lines: steady hours and instants,
        glucose values and flags, where each run of readable rows ends."""
        n = len(ok)
        hours, where = np.unique(wall // _HOUR_US, return_inverse=True)
        steady, offsets = self.ctx.clock.steady_offsets_us(hours)
        ok &= steady[where]
        instants = wall - offsets[where]
        read = self._glucose_cells(spellings)
        table = [read[text] for text in spellings]
        ok &= np.array([got is not None for got in table], dtype=bool)[value_codes]
        values = np.array([got[0] if got else 0.0 for got in table], dtype=np.float64)
        flags = np.array([got[1] if got else 0 for got in table], dtype=np.int8)
        stops = np.flatnonzero(~ok)  # each run of readable rows ends at the next unreadable one
        ends = np.append(stops, n)[np.searchsorted(stops, np.arange(n))]
        return _Plain(
            ok,
            ends,
            lines,
            instants,
            wall,
            values[value_codes],
            flags[value_codes],
            pairs,
            np.asarray(pair_codes, dtype=np.int64),
            tx_text,
        )

    def _column_check(self, column, check) -> np.ndarray:
        """``check`` of each cell, worked out once per distinct cell."""
        verdicts = {text: check(text) for text in set(column)}
        if all(verdicts.values()):
            return np.ones(len(column), dtype=bool)
        return np.array([verdicts[text] for text in column], dtype=bool)

    def _is_plain_event(self, text: str) -> bool:
        return text == text.strip() and EVENT_KINDS.get(self._folded(text)) in _PLAIN

    def _glucose_cells(self, column) -> dict:
        """(value, flag code) for each distinct glucose cell, as ``row`` would read it once the
        unit check is done (None: a row error or not a plain EGV value: ``row`` reads it)."""
        known = self.values
        for text in set(column):
            if text not in known:
                if len(known) >= _GLUCOSE_SPELLINGS:
                    known.clear()
                known[text] = self._glucose_cell(text.strip())
        return known

    def _glucose_cell(self, raw: str) -> tuple[float, int] | None:
        if not raw or self.unit != MG_DL:
            return None
        got = glucose(
            _NoUnitSamples(),  # type: ignore[arg-type]
            0,
            _EPOCH,
            raw,
            self.unit,
            "cgm",
            low_limit=DEXCOM_LOW_MG_DL,
            high_limit=DEXCOM_HIGH_MG_DL,
            reporting_range=DEXCOM_RANGE,
            status_codes=True,
        )
        if not isinstance(got, Reading):
            return None
        return got.value_mg_dl, FLAGS.index(got.flag)

    def _batch(self, plain: _Plain, i: int, j: int) -> ReadingBatch:
        """Rows i:j (all readable by the fast path) as one ReadingBatch, leaving the state
        (device clock, transmitter anchors) as reading them one by one would."""
        clock = self.ctx.clock
        # LocalClock._observe for each wall time in turn: the previous one and the direction.
        walls = plain.wall[i:j]
        steps = np.diff(walls)
        if clock._previous is not None:
            first = (clock._previous - _WALL_EPOCH) // _MICROSECOND
            steps = np.concatenate(([walls[0] - first], steps))
        steps = np.sign(steps[steps != 0])
        direction = clock._direction
        if (steps > 0).all():
            direction = min(20, direction + len(steps))
        elif (steps < 0).all():
            direction = max(-20, direction - len(steps))
        else:
            for step in steps.tolist():
                direction = max(-20, min(20, direction + step))
        clock._direction = direction
        clock._previous = _WALL_EPOCH + int(walls[-1]) * _MICROSECOND
        clock._gap_offset = None
        # Devices: each (source, transmitter id) of the run once.
        used, codes = np.unique(plain.pair_codes[i:j], return_inverse=True)
        names = []
        for code in used.tolist():
            source, transmitter = plain.pairs[code]
            names.append(self._device(source.strip(), transmitter.strip()))
        # Each transmitter's anchor, from its last row with a transmitter time.
        pending = {plain.pairs[code][1].strip() for code in used.tolist()}
        pair_codes = plain.pair_codes
        for k in range(j - 1, i - 1, -1):
            if not pending:
                break
            transmitter = plain.pairs[pair_codes[k]][1].strip()
            if transmitter not in pending:
                continue
            text = plain.tx_text(k).strip()
            seconds = _transmitter_seconds(text) if text else None
            if seconds is not None:
                instant = _EPOCH + int(plain.instants[k]) * _MICROSECOND
                self.anchors[transmitter] = instant - timedelta(seconds=seconds)
                pending.discard(transmitter)
        return ReadingBatch(
            plain.lines[i:j],
            plain.instants[i:j],
            plain.values[i:j],
            plain.flags[i:j],
            codes.astype(np.int64),
            tuple(names),
            "cgm",
        )


# A transmitter time the fast path reads: empty, or whole seconds written with up to 10 digits
# (317 years). Another (a sign, spaces, 2**60) is read by ``row``: its anchor, or its error
# (a time too far back), is then exactly row by row.
_PLAIN_SECONDS_DIGITS = 10


def _plain_seconds(text: str) -> bool:
    return not text or (len(text) <= _PLAIN_SECONDS_DIGITS and text.isascii() and text.isdigit())


class _Plain(NamedTuple):
    """What the fast path knows of a block's rows (see ``_Rows._plain``)."""

    ok: np.ndarray  # the row can be read by the fast path
    ends: np.ndarray  # where the run of such rows holding it ends
    lines: np.ndarray
    instants: np.ndarray  # µs since 1970, UTC
    wall: np.ndarray  # µs since 1970, wall time
    values: np.ndarray
    flags: np.ndarray
    pairs: list  # distinct (source, transmitter id) cells, by code
    pair_codes: np.ndarray
    tx_text: object  # row -> its transmitter time cell


_HOUR_US = 3_600_000_000
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WALL_EPOCH = datetime(1970, 1, 1)
_GLUCOSE_SPELLINGS = 4096  # distinct glucose cells remembered (a file has a few hundred)


def device_key(source: str, transmitter_id: str, model: str) -> str:
    """The device's identity from fields every row carries (not the one "Device" row).

    The Source Device ID (the receiver or phone app, e.g. "Android G6") is on every row of
    every part of an export; without it the Transmitter ID; the model only as a last resort.

    >>> device_key("Android G6", "8GH86L", "Dexcom G6"), device_key("", "8GH86L", "")
    ('dexcom:Android G6', 'dexcom:8GH86L')
    """
    stable = source or transmitter_id or model
    return f"dexcom:{stable}" if stable else ""


def _model_name(device_info: str) -> str:
    """ "Dexcom G6 Mobile App" -> "Dexcom G6"."""
    name = device_info.strip()
    for suffix in (" Mobile App", " App", " Receiver"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name.strip()


def _instant(ctx: Context, wall: datetime, tx_text: str, tx_id: str, anchors) -> datetime:
    """Wall time -> UTC, using the transmitter clock to resolve a repeated DST hour."""
    clock = ctx.clock
    options = clock.candidates(wall)
    tx_seconds = _transmitter_seconds(tx_text) if tx_text else None
    if tx_seconds is None:
        return clock.to_utc(wall, options)
    if len(options) == 1:
        instant = clock.to_utc(wall, options)
        anchors[tx_id] = instant - timedelta(seconds=tx_seconds)
        return instant
    anchor = anchors.get(tx_id)
    if anchor is None:
        return clock.to_utc(wall, options)
    expected = anchor + timedelta(seconds=tx_seconds)
    return min(options, key=lambda option: abs(option - expected))


_EXACT_INT = 2**53  # below this an integer reads the same through float (parse_number)
# A transmitter clock counts seconds since the transmitter started: years, never centuries.
# A cell of this many seconds or more is no clock (it would overflow the date arithmetic) and
# is ignored; up to ten digits are read, as the fast path reads them.
_TRANSMITTER_MAX_SECONDS = 10**10


def _transmitter_seconds(text: str) -> int | None:
    """ "7200" -> 7200; like ``int(parse_number(text))``, None when not a number or not a
    clock (``_TRANSMITTER_MAX_SECONDS``)."""
    seconds = None
    try:
        seconds = int(text)  # the usual whole number, without a float round trip
    except ValueError:
        pass
    if seconds is None or not -_EXACT_INT < seconds < _EXACT_INT:
        try:
            seconds = int(parse_number(text))
        except (ValueError, OverflowError):  # not a number, or an infinity
            return None
    return seconds if abs(seconds) < _TRANSMITTER_MAX_SECONDS else None


def _treatment(line, instant, kind, cells, columns, device, key) -> Treatment | RowError:
    subtype = cell(cells, columns, "subtype")
    try:
        if kind == "insulin":
            raw = cell(cells, columns, "insulin")
            amount = parse_number(raw) if raw else None
            folded = fold_text(subtype)
            long_acting = any(word in folded for word in LONG_ACTING_WORDS)
            return Treatment(
                line,
                instant,
                "insulin_long" if long_acting else "insulin_rapid",
                amount,
                subtype,
                device,
                key,
            )
        if kind == "carbs":
            raw = cell(cells, columns, "carbs")
            amount = parse_number(raw) if raw else None
            return Treatment(line, instant, "carbs", amount, "", device, key)
        if kind == "exercise":
            minutes = parse_duration_minutes(cell(cells, columns, "duration"))
            return Treatment(line, instant, "exercise", minutes, subtype, device, key)
    except ValueError as exc:
        return RowError(line, str(exc))
    return Treatment(line, instant, "note", None, subtype, device, key)
