"""Medtronic CareLink CSV export, current and legacy layouts, any language.

Current layout (CareLink Personal / System, 2017+): a patient preamble, then one or more
sections, each opened by a separator row ``-------;<device>;Pump|Sensor;<serial>;-------``
and its own header (``Index;Date;Time;New Device Time;BG Reading (mg/dL);...``). European
exports use ``;`` and decimal commas (``2746,00000``); rows are newest first.

Legacy layout ("Medtronic Diabetes CareLink Personal Data Export File (v1.0.1)"): about a
dozen preamble lines (PATIENT INFO, DEVICE INFO with ``Pump:,<model>,#<serial>``), then
one comma-separated header with Date, Time and Timestamp columns; US ``M/D/YY`` dates.

Columns -> records (every non-empty value of a row becomes one record):
  Sensor Glucose (mg/dL | mmol/L) -> Reading "cgm" (limits 40/400 mg/dL)
  BG Reading -> Reading "smbg"; Sensor Calibration BG -> Reading "calibration"
  Bolus Volume Delivered (U) -> Treatment insulin_rapid
  BWZ Carb Input (grams) > 0 -> Treatment carbs
  Event Marker "Meal: 45,00grams" -> carbs; other markers ("Insulin: 27,00") -> note
    (a marker does not say rapid or long-acting, so it is kept as text, not guessed)
Alarms, basal, prime, rewind, settings rows -> nothing.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator

from ._pipeline import Context, glucose, lookahead
from ._records import RowError, Treatment, UnreadableFile
from ._text import alias_table, cell, fold_text, load_aliases, match_columns, mentions_any
from ._times import MDY, DateOrder, NewestFirstClock, parse_wall_time
from ._units import DEFAULT_HIGH_MG_DL, DEFAULT_LOW_MG_DL, MG_DL, parse_number, unit_from_text

# Guardian / Enlite sensors report 40..400 mg/dL.
CARELINK_LOW_MG_DL = DEFAULT_LOW_MG_DL
CARELINK_HIGH_MG_DL = DEFAULT_HIGH_MG_DL
CARELINK_RANGE = (CARELINK_LOW_MG_DL, CARELINK_HIGH_MG_DL)  # sensor values outside: flagged

_ALIASES = load_aliases("carelink")
COLUMNS = alias_table(_ALIASES["columns"])

_VALUE_ROLES = (
    "sensor_glucose",
    "bg_reading",
    "sensor_cal",
    "bolus_delivered",
    "carbs",
    "event_marker",
)
_PREAMBLE_LINES = 40
_LOOKAHEAD_ROWS = 2000
_ORDER_SAMPLE_ROWS = 200  # rows whose times say whether a section is newest first
_MEAL = re.compile(
    r"^\s*(meal|mahlzeit|repas|comida|pasto|maaltijd|进餐|餐)\s*:\s*([\d.,]+)", re.IGNORECASE
)


def _header_columns(cells: list[str]) -> dict[str, int] | None:
    columns = match_columns(cells, COLUMNS)
    has_time = "timestamp" in columns or {"date", "time"} <= columns.keys()
    values = sum(role in columns for role in _VALUE_ROLES)
    if has_time and values >= 3 and ("sensor_glucose" in columns or "bg_reading" in columns):
        return columns
    return None


def _delimiter(lines: list[str]) -> str:
    semicolons = sum(line.count(";") for line in lines)
    commas = sum(line.count(",") for line in lines)
    return ";" if semicolons > commas else ","


def sniff(text: str) -> bool:
    if not mentions_any(text, COLUMNS, ("sensor_glucose", "bg_reading")):
        return False
    lines = text.splitlines()[:_PREAMBLE_LINES]
    delimiter = _delimiter(lines)
    for cells in csv.reader(lines, delimiter=delimiter):
        if _header_columns([c.strip() for c in cells]):
            return True
    return False


def parse(text: io.TextIOBase, ctx: Context) -> Iterator:
    first_lines = list(itertools.islice(text, _PREAMBLE_LINES))
    delimiter = _delimiter(first_lines)
    reader = csv.reader(itertools.chain(first_lines, text), delimiter=delimiter)
    rows = _numbered(reader)

    columns: dict[str, int] | None = None
    units: dict[str, str] = {}
    device = ""
    date_order = "ymd"
    # Dates in the preamble ("Data Exported on,4/12/15 8:21 PM", "Report Range") say the
    # order when every row date is ambiguous; the legacy layout is US (M/D/YY) by default.
    preamble_order = DateOrder()
    legacy = "data export file" in fold_text(first_lines[0] if first_lines else "")
    newest_first: NewestFirstClock | None = None  # a newest-first section's clock
    while True:
        try:
            line, cells = next(rows)
        except StopIteration:
            break
        if newest_first is not None and (cells[0].startswith("-------") or columns is None):
            yield from _items(ctx, newest_first.flush(), units, device)
            newest_first = None
        if cells[0].startswith("-------"):
            # A new section of the current layout: "-------;Guardian Connect;Sensor;<sn>;---"
            parts = [c for c in cells[1:] if c and not c.startswith("---")]
            if parts:
                device = " ".join(p for i, p in enumerate(parts) if i != 1 or len(parts) < 3)
            columns = None
            continue
        if columns is None:
            found = _header_columns(cells)
            if found is None:
                device = _preamble_device(cells) or device
                if fold_text(cells[0]).rstrip(":") in _PREAMBLE_DATE_KEYS:
                    for value in cells[1:]:
                        preamble_order.feed(value)
                continue
            columns = found
            units = {
                role: unit_from_text(cells[columns[role]]) or MG_DL
                for role in ("sensor_glucose", "bg_reading", "sensor_cal")
                if role in columns
            }
            ctx.clock.reset()
            head, rows = lookahead(rows, _LOOKAHEAD_ROWS)
            order = DateOrder()
            for _, row in head:
                order.feed(_stamp_text(row, columns))
            date_order = _date_order(order, preamble_order, legacy)
            if _newest_first(head, columns, date_order):
                newest_first = NewestFirstClock(ctx.clock)
            del head
            continue
        present = [(role, value) for role in _VALUE_ROLES if (value := cell(cells, columns, role))]
        if not present:
            continue
        try:
            wall = parse_wall_time(_stamp_text(cells, columns), date_order)
        except ValueError as exc:
            error, wall = RowError(line, str(exc)), None
        else:
            error = None
        row = (line, present, error)  # only the values: held rows stay small
        if newest_first is None:
            ready = [(row, None if wall is None else ctx.clock.to_utc(wall))]
        else:
            ready = newest_first.push(row, wall)
        yield from _items(ctx, ready, units, device)
    if newest_first is not None:
        yield from _items(ctx, newest_first.flush(), units, device)

    if columns is None and not units:
        raise UnreadableFile("CareLink export without a recognisable header row")


def _newest_first(head: list, columns: dict[str, int], date_order: str) -> bool:
    """Whether a section's first rows go back in time (CareLink's current layout does)."""
    walls = []
    for _, cells in head[:_ORDER_SAMPLE_ROWS]:
        try:
            walls.append(parse_wall_time(_stamp_text(cells, columns), date_order))
        except ValueError:
            continue
    steps = [b - a for a, b in zip(walls, walls[1:], strict=False) if b != a]
    return sum(step.total_seconds() < 0 for step in steps) > len(steps) / 2


def _items(ctx, ready: list, units, device) -> Iterator:
    for (line, present, error), instant in ready:
        if error is not None:
            yield error
        else:
            yield from _row(ctx, line, present, instant, units, device)


# Preamble rows whose cells are dates, in the languages CareLink exports.
_PREAMBLE_DATE_KEYS = frozenset(
    {
        "data exported on",
        "report range",
        "data range",
        "exportiert am",
        "date d'exportation",
        "fecha de exportacion",
        "start date",
        "end date",
    }
)


def _date_order(rows: DateOrder, preamble: DateOrder, legacy: bool) -> str:
    """The rows' own evidence first, then the preamble's, then the layout's known order."""
    if rows.order is not None:
        return rows.resolved()
    if preamble.order is not None or preamble.saw_ampm:
        return preamble.resolved()
    if legacy:
        return MDY
    return rows.resolved()


def _numbered(reader) -> Iterator[tuple[int, list[str]]]:
    start = 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        cells = [c.strip() for c in cells]
        if not cells or all(not c for c in cells):
            continue
        cells[0] = cells[0].lstrip("\ufeff")
        yield line, cells


def _preamble_device(cells: list[str]) -> str:
    """Legacy ``Pump:,Paradigm Revel - 523,#736868,`` -> "Paradigm Revel - 523 #736868"."""
    key = fold_text(cells[0]).rstrip(":")
    if key in ("pump", "pumpe", "pompe", "bomba", "pompa", "胰岛素泵") and len(cells) > 1:
        return " ".join(c for c in cells[1:3] if c)
    if "serial number" in (fold_text(c) for c in cells):
        serial = cells[-1]
        return serial
    return ""


def _stamp_text(cells: list[str], columns: dict[str, int]) -> str:
    stamp = cell(cells, columns, "timestamp")
    if stamp:
        return stamp
    return f"{cell(cells, columns, 'date')} {cell(cells, columns, 'time')}".strip()


def _row(ctx, line, present, instant, units, device) -> Iterator:
    """The records of a data row's non-empty values (``present``: role, text), at ``instant``."""
    for role, raw in present:
        if role in ("sensor_glucose", "bg_reading", "sensor_cal"):
            kind = {"sensor_glucose": "cgm", "bg_reading": "smbg", "sensor_cal": "calibration"}
            yield glucose(
                ctx,
                line,
                instant,
                raw,
                units[role],
                kind[role],
                device,
                low_limit=CARELINK_LOW_MG_DL,
                high_limit=CARELINK_HIGH_MG_DL,
                reporting_range=CARELINK_RANGE if role == "sensor_glucose" else None,
            )
            continue
        if role == "event_marker":
            meal = _MEAL.match(raw)
            if meal:
                try:
                    yield Treatment(
                        line, instant, "carbs", parse_number(meal.group(2)), raw, device
                    )
                except ValueError as exc:
                    yield RowError(line, f"carbohydrates {exc}")
            else:
                yield Treatment(line, instant, "note", None, raw, device)
            continue
        try:
            amount = parse_number(raw)
        except ValueError as exc:
            yield RowError(line, f"{'insulin' if role == 'bolus_delivered' else 'carbs'} {exc}")
            continue
        if amount <= 0:
            continue
        kind = "insulin_rapid" if role == "bolus_delivered" else "carbs"
        yield Treatment(line, instant, kind, amount, "", device)
