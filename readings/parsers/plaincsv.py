"""Our plain CSV: the simplest way to bring readings from any other source.

Header (any column order, names case-insensitive; ``,`` ``;`` or tab separated)::

    timestamp,value,unit[,kind][,device][,meal_tag]

* ``timestamp`` - ISO 8601, e.g. ``2024-03-01T08:15:00+01:00`` or ``...Z`` (an instant);
  ``2024-03-01 08:15`` without an offset is the patient's local time (the ``timezone``
  argument); or epoch milliseconds (``1709277300000``).
* ``value`` - a number (decimal point or comma) or ``Low``/``High`` (stored flagged at
  40/400 mg/dL).
* ``unit`` - ``mg/dL`` or ``mmol/L``.
* ``kind`` - ``cgm`` (default when the column is absent or empty), ``smbg``, ``scan`` or
  ``calibration``; ``control`` rows (control-solution tests) are dropped and counted.
* ``device`` - free text identifying the device (default empty).
* ``meal_tag`` - ``fasting``, ``before_meal``, ``after_meal``, ``bedtime`` or empty.

Runs of plain rows (an instant with ``Z`` or an offset, nothing odd) are read together with
numpy into ``ReadingBatch`` runs, to exactly the records row-by-row reading gives (``_Rows``).

Example::

    timestamp,value,unit,kind,device,meal_tag
    2024-03-01T07:02:00+01:00,5.4,mmol/L,smbg,Contour Next One,fasting
    2024-03-01T07:05:00Z,98,mg/dL,cgm,Dexcom G7,
"""

from __future__ import annotations

import io
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from itertools import chain, islice
from operator import itemgetter
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._pipeline import Context, glucose
from ._records import FLAGS, Reading, ReadingBatch, RowError, UnreadableFile
from ._text import csv_cells, csv_rows, sniff_delimiter
from ._times import epoch_ms_to_utc, iso_wall_matrix, parse_iso_instant
from ._units import MG_DL, MMOL_L, unit_from_text

KINDS = ("cgm", "smbg", "scan", "calibration")
MEAL_TAGS = ("fasting", "before_meal", "after_meal", "bedtime")
_OPTIONAL = ("kind", "device", "meal_tag")
_ROLES = ("timestamp", "value", "unit", *_OPTIONAL)  # the cells a row is read for, in order
_UNIT_SPELLINGS = 16  # distinct unit cells remembered (a file uses one or two)


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    return {
        name: i
        for i, name in enumerate(names)
        if name in ("timestamp", "value", "unit", *_OPTIONAL)
    }


def sniff(text: str) -> bool:
    lines = text.lstrip("\ufeff").splitlines()
    if not lines:
        return False
    first = lines[0]
    return {"timestamp", "value", "unit"} <= _columns(first.split(sniff_delimiter(first))).keys()


def parse(text: io.TextIOBase, ctx: Context) -> Iterator:
    header_line = text.readline()
    delimiter = sniff_delimiter(header_line)
    header = next(csv_rows(io.StringIO(header_line), delimiter), (1, []))[1]
    columns = _columns(header)
    missing = {"timestamp", "value", "unit"} - columns.keys()
    if missing:
        raise UnreadableFile("plain CSV without the columns " + ", ".join(sorted(missing)))
    rows = _Rows(ctx, columns, len(header))
    if not FAST_PATH:  # every row by the general rules, through the csv module
        for line, cells in csv_rows(text, delimiter, first_line=2):
            item = rows.row(line, cells)
            if item is not None:
                yield item
        return
    # Physical lines in blocks (line 1 is the header), split at the delimiter: a line without
    # quotes is one row, exactly as the csv module reads it. From a line with a quote on, the
    # csv module reads the rest (a quoted cell may hold delimiters or span lines).
    # Blocks are short until the fast path reads one (a file it never reads, with epoch or
    # local times, is then held a few lines at a time, as by the csv module).
    first_line, size, batches = 2, _PROBE_LINES, 0
    while block := list(islice(text, size)):
        quoted = next((n for n, line in enumerate(block) if '"' in line), None)
        lines = block if quoted is None else block[:quoted]
        batched = False
        if lines:
            batched = yield from rows.lines(lines, first_line, delimiter)
        batches += batched
        size = (_FIRST_BLOCK_LINES if batches == 1 else _BLOCK_LINES) if batched else _PROBE_LINES
        if quoted is not None:
            for line, cells in csv_rows(
                chain(block[quoted:], text), delimiter, first_line + quoted
            ):
                item = rows.row(line, cells)
                if item is not None:
                    yield item
            return
        first_line += len(block)


_BLOCK_LINES = 2500  # lines looked at together by the fast path (memory: ~0.7 KB each)
_PROBE_LINES = 100  # lines of a block after one the fast path read nothing of
# The block after the first the fast path read: shorter, its rows are the first an import can
# send (#23: the import's COPY starts on a file's first 1,000 rows).
_FIRST_BLOCK_LINES = 1000
# The fast path on (tests compare it with the general rules by turning it off).
FAST_PATH = True
# A line longer than this (bytes) is read by the csv module alone (and meets its field limit).
_FAST_LINE_BYTES = 512
_VALUE_SPELLINGS = 4096  # distinct (glucose cell, unit, kind) remembered (a file has hundreds)


class _NoUnitSamples:
    """A Context stand-in for reading a glucose cell without feeding the unit check."""

    def observe_unit(self, value: float, unit: str) -> None:
        pass


class _Rows:
    """One file's rows to records: ``row`` reads one row (the general rules), ``lines`` many.

    ``lines`` gives every line of a block to ``row`` except runs of plain rows once the unit
    check is done — an instant written ``YYYY-MM-DDThh:mm:ss`` with ``Z`` or a ``±hh:mm``
    offset, a number or marker, a known unit, kind and meal tag, the header's number of cells,
    nothing the csv module would read otherwise — which it reads together, with numpy, into
    ``ReadingBatch`` runs (one kind and meal tag each): the same readings ``row`` would give
    them. Such rows touch no state: an instant with an offset needs no device clock, and
    past the unit check a value no longer feeds it. Any other row goes to ``row``.
    """

    def __init__(self, ctx: Context, columns: dict[str, int], header_width: int):
        self.ctx = ctx
        self.columns = columns
        self.header_width = header_width
        # Per row the work is kept to a few C calls: every row is cut or padded to the
        # header's width plus one always-empty cell (what an absent column or a short row
        # reads as), and the six cells come out in one itemgetter call.
        self.width = max(columns.values()) + 1
        self.blanks = [""] * (self.width + 1)
        self.take = itemgetter(*(columns.get(role, self.width) for role in _ROLES))
        self.units: dict[str, str | None] = {}  # unit cell -> unit, once per distinct spelling
        self.values: dict[tuple, tuple[float, int] | None] = {}  # (raw, unit, kind) -> read

    # --- one row, the general rules --------------------------------------------------------

    def row(self, line: int, cells: list[str]):
        """The record of one row (a Reading or RowError), or None (a row counted as ignored)."""
        ctx = self.ctx
        row = cells[: self.width]
        row += self.blanks[len(row) :]
        stamp, raw, unit_text, kind, device, meal_tag = self.take(row)
        kind = kind.lower() or "cgm"
        if kind not in KINDS:
            if kind in ("control", "control_solution", "control-solution"):
                ctx.count_ignored("control-solution tests")
                return None
            return RowError(line, f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if meal_tag:
            meal_tag = meal_tag.lower()
            if meal_tag not in MEAL_TAGS:
                return RowError(line, f"meal_tag {meal_tag!r} is not one of {', '.join(MEAL_TAGS)}")
        unit = self._unit(unit_text)
        if unit is None:
            return RowError(line, f"unit {unit_text!r} is not mg/dL or mmol/L")
        try:
            if stamp.isdigit():
                instant = epoch_ms_to_utc(int(stamp))
            else:
                instant = parse_iso_instant(stamp, ctx.clock)
        except (ValueError, OverflowError):
            return RowError(line, f"timestamp {stamp!r} is not ISO 8601 or epoch milliseconds")
        if not raw:
            return RowError(line, "row without a value")
        return glucose(ctx, line, instant, raw, unit, kind, device, meal_tag=meal_tag)

    def _unit(self, text: str) -> str | None:
        try:
            return self.units[text]
        except KeyError:
            unit = unit_from_text(text)
            if len(self.units) < _UNIT_SPELLINGS:
                self.units[text] = unit
            return unit

    # --- many rows --------------------------------------------------------------------------

    def lines(self, lines: list[str], first_line: int, delimiter: str) -> Generator:
        """The records of physical lines without quotes (line ``first_line`` on), in order:
        each line is one row, its cells split at the delimiter (as the csv module reads it).
        Answers (``yield from``) whether the fast path read some of them."""
        batched = False
        plain = None  # the fast path's view of the lines, made once the unit check is done
        i, n = 0, len(lines)
        while i < n:
            if self.ctx.unit_check_done():
                if plain is None:
                    plain = self._plain(lines, first_line, delimiter)
                if plain.ok[i]:
                    j = int(plain.ends[i])
                    yield self._batch(plain, i, j)
                    batched = True
                    i = j
                    continue
            cells = csv_cells(lines[i], delimiter)
            if cells is not None:
                item = self.row(first_line + i, cells)
                if item is not None:
                    yield item
            i += 1
        return batched

    def _plain(self, lines: list[str], first_line: int, delimiter: str) -> _Plain:
        """The fast path's view of physical lines, read with numpy from their UTF-8 bytes: a
        line counts only when it holds exactly the header's number of delimiters (no quotes:
        the caller's), no NUL, no carriage return but the one of its CRLF end and at most
        ``_FAST_LINE_BYTES`` bytes; its cells are then the bytes between delimiters, each
        distinct cell decoded once and stripped as ``csv_rows`` strips it."""
        n = len(lines)
        if not any(self._instant_form(lines[k], delimiter) for k in {0, 1 % n, n // 2, n - 1}):
            return _Plain.none(n)  # not worth the arrays: epoch or local times, most likely
        joined = "".join(lines)
        if not joined.endswith("\n"):
            joined += "\n"  # the file's last line: its end reads the same
        try:
            data = joined.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: every line by the general rules
            return _Plain.none(n)
        buf = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(buf == 10)
        if len(newlines) != n:  # a line ended by a lone carriage return
            return _Plain.none(n)
        starts = np.concatenate(([0], newlines[:-1] + 1))
        stops = newlines - (buf[newlines - 1] == 13)
        delimiters = np.flatnonzero(buf == ord(delimiter))
        if not len(delimiters):
            return _Plain.none(n)
        counts = np.bincount(np.searchsorted(newlines, delimiters), minlength=n)
        last = self.header_width - 1
        ok = (counts == last) & (stops - starts <= _FAST_LINE_BYTES)
        returns = np.flatnonzero(buf == 13)
        for bad in (np.flatnonzero(buf == 0), returns[buf[returns + 1] != 10]):
            ok[np.searchsorted(newlines, bad)] = False
        firsts = np.cumsum(counts) - counts  # each line's first delimiter, in ``delimiters``
        top = len(delimiters) - 1
        padded = np.concatenate((buf, np.zeros(_FAST_LINE_BYTES + 32, dtype=np.uint8)))

        def bounds(column: int):
            begin = starts if column == 0 else delimiters[np.minimum(firsts + column - 1, top)] + 1
            end = stops if column == last else delimiters[np.minimum(firsts + column, top)]
            return begin, np.where(ok, end - begin, 0)

        def texts(role: str) -> tuple[np.ndarray, list[str]]:
            """Each line's cell of ``role`` as a code, and the distinct cells (stripped) by
            code; an absent column reads as an empty cell."""
            column = self.columns.get(role)
            if column is None:
                return np.zeros(n, dtype=np.int64), [""]
            begin, length = bounds(column)
            width = int(length.max(initial=0))
            if width == 0:
                return np.zeros(n, dtype=np.int64), [""]
            cells = sliding_window_view(padded, width)[begin]
            cells[np.arange(width) >= length[:, None]] = 0
            unique, codes = np.unique(cells.view(f"S{width}").ravel(), return_inverse=True)
            words = [text.decode("utf-8").strip() for text in unique.tolist()]
            if column == 0:  # csv_rows drops a byte-order mark starting a row
                words = [word.lstrip("\ufeff") for word in words]
            return codes.ravel(), words

        # Kinds, meal tags and units: what ``row`` makes of each distinct cell.
        codes, words = texts("kind")
        kinds = [word.lower() or "cgm" for word in words]
        ok &= np.array([kind in KINDS for kind in kinds], dtype=bool)[codes]
        kind_codes = np.array([KINDS.index(k) if k in KINDS else 0 for k in kinds])[codes]
        codes, words = texts("meal_tag")
        meals = [word.lower() for word in words]
        ok &= np.array([meal in _MEALS for meal in meals], dtype=bool)[codes]
        meal_codes = np.array([_MEALS.index(m) if m in _MEALS else 0 for m in meals])[codes]
        codes, words = texts("unit")
        units = [self._unit(word) for word in words]
        ok &= np.array([unit is not None for unit in units], dtype=bool)[codes]
        unit_codes = np.array([_UNITS.index(u) if u in _UNITS else 0 for u in units])[codes]
        # Instants: the wall time, then "Z" or a "±hh:mm" offset.
        begin, length = bounds(self.columns["timestamp"])
        stamps = sliding_window_view(padded, 25)[begin]
        zulu = (length == 20) & ((stamps[:, 19] == 90) | (stamps[:, 19] == 122))  # Z, z
        digits = stamps[:, [20, 21, 23, 24]].astype(np.int64) - 48
        hours, minutes = digits[:, 0] * 10 + digits[:, 1], digits[:, 2] * 10 + digits[:, 3]
        offset = (length == 25) & ((stamps[:, 19] == 43) | (stamps[:, 19] == 45))  # +, -
        offset &= ((digits >= 0) & (digits <= 9)).all(axis=1) & (stamps[:, 22] == 58)
        offset &= (hours <= 23) & (minutes <= 59)  # what datetime.fromisoformat accepts
        wall_ok, wall = iso_wall_matrix(stamps[:, :19])
        ok &= wall_ok & (zulu | offset)
        sign = np.where(stamps[:, 19] == 45, -1, 1)
        instants = wall - np.where(offset, sign * (hours * 60 + minutes) * 60_000_000, 0)
        # Glucose: what ``glucose`` makes of each distinct (cell, unit, kind).
        codes, words = texts("value")
        ok &= np.array([bool(word) for word in words], dtype=bool)[codes]
        triples = (codes * len(_UNITS) + unit_codes) * len(KINDS) + kind_codes
        distinct, inverse = np.unique(triples, return_inverse=True)
        read = [
            self._glucose(
                words[t // (len(_UNITS) * len(KINDS))],
                _UNITS[t // len(KINDS) % len(_UNITS)],
                KINDS[t % len(KINDS)],
            )
            for t in distinct.tolist()
        ]
        ok &= np.array([got is not None for got in read], dtype=bool)[inverse]
        values = np.array([got[0] if got else 0.0 for got in read], dtype=np.float64)[inverse]
        flags = np.array([got[1] if got else 0 for got in read], dtype=np.int8)[inverse]
        device_codes, devices = texts("device")
        # Each run of readable rows of one kind and meal tag ends at the next other row.
        group = kind_codes * len(_MEALS) + meal_codes
        stops_at = np.flatnonzero(~ok | np.concatenate(([False], group[1:] != group[:-1])))
        ends = np.append(stops_at, n)[np.searchsorted(stops_at, np.arange(n), side="right")]
        return _Plain(
            ok,
            ends,
            first_line + np.arange(n, dtype=np.int64),
            instants,
            values,
            flags,
            device_codes,
            devices,
            kind_codes,
            meal_codes,
        )

    def _instant_form(self, line: str, delimiter: str) -> bool:
        """Whether the line's timestamp cell looks like an instant the fast path reads (only
        how fast the block is read depends on it)."""
        cells = line.split(delimiter)
        column = self.columns["timestamp"]
        stamp = cells[column].strip() if column < len(cells) else ""
        return len(stamp) in (20, 25) and stamp[19] in "Zz+-"

    def _glucose(self, raw: str, unit: str, kind: str) -> tuple[float, int] | None:
        """(value, flag code) of a glucose cell as ``row`` reads it once the unit check is done
        (None: a row error, which ``row`` then gives)."""
        key = (raw, unit, kind)
        try:
            return self.values[key]
        except KeyError:
            pass
        got = glucose(_NoUnitSamples(), 0, _EPOCH, raw, unit, kind)  # type: ignore[arg-type]
        read = (got.value_mg_dl, FLAGS.index(got.flag)) if isinstance(got, Reading) else None
        if len(self.values) >= _VALUE_SPELLINGS:
            self.values.clear()
        self.values[key] = read
        return read

    def _batch(self, plain: _Plain, i: int, j: int) -> ReadingBatch:
        """Rows i:j (all readable by the fast path, one kind and meal tag) as a ReadingBatch."""
        used, codes = np.unique(plain.device_codes[i:j], return_inverse=True)
        return ReadingBatch(
            plain.lines[i:j],
            plain.instants[i:j],
            plain.values[i:j],
            plain.flags[i:j],
            codes.ravel().astype(np.int64),
            tuple((plain.devices[code], "") for code in used.tolist()),
            KINDS[int(plain.kind_codes[i])],
            _MEALS[int(plain.meal_codes[i])],
        )


_MEALS = ("", *MEAL_TAGS)  # a meal tag cell, lowered: none, or one of them
_UNITS = (MG_DL, MMOL_L)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Plain(NamedTuple):
    """What the fast path knows of a block's lines (see ``_Rows._plain``)."""

    ok: np.ndarray  # the row can be read by the fast path
    ends: np.ndarray  # where the run of such rows (one kind and meal tag) holding it ends
    lines: np.ndarray
    instants: np.ndarray  # µs since 1970, UTC
    values: np.ndarray
    flags: np.ndarray
    device_codes: np.ndarray
    devices: list  # distinct device cells, by code
    kind_codes: np.ndarray  # into KINDS
    meal_codes: np.ndarray  # into _MEALS

    @classmethod
    def none(cls, n: int) -> _Plain:
        """No line readable by the fast path."""
        nothing = np.zeros(n, dtype=np.int64)
        return cls(
            np.zeros(n, dtype=bool),
            nothing,
            nothing,
            nothing,
            nothing,
            nothing,
            nothing,
            [],
            nothing,
            nothing,
        )
