"""FreeStyle Libre / LibreView CSV export ("Download glucose data"), any language.

The file may start with a title line (``Glucose Data,Generated on,...`` or its
translation) or directly with the header. Columns are found by the alias tables in
aliases/libreview.json (European languages, Chinese, Japanese, Korean); the glucose unit
is read from the glucose column names ("Historic Glucose mmol/L"). The FreeStyle Libre
desktop software's tab-separated export (``ID, Time, Record Type, ...``) reads the same.

Record Type -> records:
  0 historic glucose (every 15 min) -> Reading "cgm"
  1 scan -> Reading "scan"
  2 strip (built-in meter) -> Reading "smbg"
  3 ketone -> skipped
  4 insulin -> Treatment insulin_rapid and/or insulin_long (units)
  5 food -> Treatment carbs (grams, or no amount when only "non-numeric food" is ticked)
  6 notes -> Treatment note
  others (sensor start, time change, ...) -> skipped
"LO"/"HI" are stored flagged at 40/500 mg/dL, the Libre reader's measuring range.
Dates: US ``MM-DD-YYYY hh:mm AM/PM``, EU ``DD-MM-YYYY HH:MM``, ``YYYY/MM/DD HH:MM`` and
dotted forms; the order is learned from the first rows (a day above 12 decides).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from ._pipeline import Context, glucose, lookahead
from ._records import RowError, Treatment, UnreadableFile
from ._text import (
    alias_table,
    cell,
    csv_rows,
    fold_text,
    load_aliases,
    match_columns,
    mentions_any,
    sniff_delimiter,
)
from ._times import DateOrder, parse_wall_time
from ._units import MG_DL, parse_number, unit_from_text

# FreeStyle Libre 1/2 readers show LO below 40 mg/dL and HI above 500 mg/dL.
LIBRE_LOW_MG_DL = 40.0
LIBRE_HIGH_MG_DL = 500.0
# FreeStyle Libre 3 reports 40..400 mg/dL (its HI is above 400).
LIBRE_HIGH_BY_MODEL = (("libre 3", 400.0),)


def libre_high_limit(device: str) -> float:
    """The upper reporting limit of the Libre model named in the Device column.

    >>> libre_high_limit("FreeStyle Libre 3"), libre_high_limit("FreeStyle LibreLink")
    (400.0, 500.0)
    """
    folded = fold_text(device)
    for words, limit in LIBRE_HIGH_BY_MODEL:
        if words in folded:
            return limit
    return LIBRE_HIGH_MG_DL


# Header words per role and language: data in aliases/libreview.json (the first role
# that matches a column wins, so specific roles come first).
_ALIASES = load_aliases("libreview")
COLUMNS = alias_table(_ALIASES["columns"])

HISTORIC, SCAN, STRIP, KETONE, INSULIN, FOOD, NOTES = 0, 1, 2, 3, 4, 5, 6

_LOOKAHEAD_ROWS = 2000
_HEADER_SEARCH_LINES = 5


def _is_header(cells: list[str]) -> dict[str, int] | None:
    columns = match_columns(cells, COLUMNS)
    has_glucose = "historic" in columns or "scan" in columns
    if {"timestamp", "record_type"} <= columns.keys() and has_glucose:
        return columns
    return None


def sniff(text: str) -> bool:
    if not mentions_any(text, COLUMNS, ("record_type",)):
        return False
    for line in text.splitlines()[:_HEADER_SEARCH_LINES]:
        if _is_header(line.split(sniff_delimiter(line))):
            return True
    return False


def parse(text: io.TextIOBase, ctx: Context) -> Iterator:
    columns: dict[str, int] | None = None
    header_line = 0
    while header_line < _HEADER_SEARCH_LINES:
        header_line += 1
        raw_line = text.readline()
        if not raw_line:
            break
        delimiter = sniff_delimiter(raw_line)
        parsed = list(csv_rows(io.StringIO(raw_line), delimiter))
        header = parsed[0][1] if parsed else []
        columns = _is_header(header)
        if columns:
            break
    if not columns:
        raise UnreadableFile(
            "LibreView export without a recognisable header row (Device Timestamp, Record Type,"
            " Historic Glucose ...)"
        )

    units = {
        role: unit_from_text(header[columns[role]])
        for role in ("historic", "scan", "strip")
        if role in columns
    }
    default_unit = next((u for u in units.values() if u), MG_DL)

    rows = ((line + header_line, cells) for line, cells in csv_rows(text, delimiter))
    head, rows = lookahead(rows, _LOOKAHEAD_ROWS)
    order = DateOrder()
    for _, cells in head:
        order.feed(cell(cells, columns, "timestamp"))
    date_order = order.resolved()
    del head

    for line, cells in rows:
        try:
            record_type = int(parse_number(cell(cells, columns, "record_type")))
        except ValueError:
            yield RowError(
                line, f"record type {cell(cells, columns, 'record_type')!r} is not a number"
            )
            continue
        if record_type not in (HISTORIC, SCAN, STRIP, INSULIN, FOOD, NOTES):
            continue
        try:
            wall = parse_wall_time(cell(cells, columns, "timestamp"), date_order)
        except ValueError as exc:
            yield RowError(line, str(exc))
            continue
        instant = ctx.clock.to_utc(wall)
        serial = cell(cells, columns, "serial")
        device = " ".join(x for x in (cell(cells, columns, "device"), serial) if x)
        key = f"libre:{serial}" if serial else ""
        if record_type in (HISTORIC, SCAN, STRIP):
            role, kind = {
                HISTORIC: ("historic", "cgm"),
                SCAN: ("scan", "scan"),
                STRIP: ("strip", "smbg"),
            }[record_type]
            raw = cell(cells, columns, role)
            if not raw:
                yield RowError(line, f"record type {record_type} without a glucose value")
                continue
            high = libre_high_limit(cell(cells, columns, "device"))
            yield glucose(
                ctx,
                line,
                instant,
                raw,
                units.get(role) or default_unit,
                kind,
                device,
                low_limit=LIBRE_LOW_MG_DL,
                high_limit=high,
                reporting_range=(LIBRE_LOW_MG_DL, high) if record_type != STRIP else None,
                device_key=key,
            )
        elif record_type == INSULIN:
            yield from _insulin(line, instant, cells, columns, device, key)
        elif record_type == FOOD:
            raw = cell(cells, columns, "carbs_grams")
            try:
                amount = parse_number(raw) if raw else None
            except ValueError as exc:
                yield RowError(line, f"carbohydrates {exc}")
                continue
            notes = cell(cells, columns, "notes")
            yield Treatment(line, instant, "carbs", amount, notes, device, key)
        else:
            yield Treatment(line, instant, "note", None, cell(cells, columns, "notes"), device, key)


def _insulin(line, instant, cells, columns, device, key) -> Iterator:
    found = False
    for role, kind in (("rapid_insulin", "insulin_rapid"), ("long_insulin", "insulin_long")):
        raw = cell(cells, columns, role)
        if raw:
            found = True
            try:
                yield Treatment(line, instant, kind, parse_number(raw), "", device, key)
            except ValueError as exc:
                yield RowError(line, f"insulin {exc}")
    if not found:
        # Newer exports split a rapid dose into meal + correction + user change.
        total = 0.0
        for role in ("meal_insulin", "correction_insulin", "user_change_insulin"):
            raw = cell(cells, columns, role)
            if raw:
                try:
                    total += parse_number(raw)
                    found = True
                except ValueError as exc:
                    yield RowError(line, f"insulin {exc}")
                    return
        if found:
            yield Treatment(line, instant, "insulin_rapid", total, "", device, key)
        else:
            yield Treatment(
                line, instant, "insulin_rapid", None, "non-numeric insulin", device, key
            )
