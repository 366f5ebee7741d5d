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
from operator import itemgetter

from ._pipeline import Context, glucose, lookahead
from ._records import Reading, RowError, Treatment, UnreadableFile
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

    rows = ((line + 1, cells) for line, cells in csv_rows(text, delimiter))
    head, rows = lookahead(rows, _LOOKAHEAD_ROWS)
    order = DateOrder()
    for _, cells in head:
        order.feed(cell(cells, columns, "timestamp"))
    date_order = order.resolved()
    del head

    # Per row, the cells are cut or padded to the header's width plus one always-empty cell
    # (what an absent column or a short row reads as) and taken in one itemgetter call.
    width = max(columns.values()) + 1
    blanks = [""] * (width + 1)
    take = itemgetter(*(columns.get(role, width) for role in _ROW_ROLES))
    events: dict[str, str] = {}  # Event Type cell -> folded, once per distinct spelling
    model = ""
    devices: dict[tuple[str, str, str], tuple[str, str]] = {}  # -> (device name, key)
    anchors: dict[str, timedelta] = {}  # transmitter id -> UTC minus transmitter seconds
    plain_mg_dl = False  # the unit check has its sample: a plain in-range EGV skips `glucose`
    for line, cells in rows:
        row = cells[:width]
        row += blanks[len(row) :]
        event, stamp, raw, source, tx_text, tx_id = take(row)
        try:
            event = events[event]
        except KeyError:
            folded = fold_text(event)
            if len(events) < _SPELLINGS:
                events[event] = folded
            event = folded
        kind = EVENT_KINDS.get(event)
        if kind is None:
            if event in ("device", "gerat", "appareil", "dispositivo", "apparaat", "设备"):
                model = _model_name(cell(cells, columns, "device_info"))
            continue
        if not stamp:
            if kind == "egv" and raw:
                yield RowError(line, "reading without a timestamp")
            continue
        try:
            wall = parse_wall_time(stamp, date_order)
        except ValueError as exc:
            yield RowError(line, str(exc))
            continue
        if wall.tzinfo is not None:
            instant = wall.astimezone(UTC)
        else:
            instant = _instant(ctx, wall, tx_text, tx_id, anchors)
        try:
            device, key = devices[model, source, tx_id]
        except KeyError:
            device = (
                f"{model} {source}".strip() if model and source not in model else source or model
            )
            key = device_key(source, tx_id, model)
            if len(devices) < _SPELLINGS:
                devices[model, source, tx_id] = device, key
        if kind in ("egv", "calibration"):
            if plain_mg_dl and kind == "egv":
                # The usual row, a number in the G6's range: exactly what `glucose` makes of
                # it (no marker, no status code, no flag), without its ~1 µs of checks.
                try:
                    number = float(raw)
                except ValueError:
                    number = 0.0
                if DEXCOM_LOW_MG_DL <= number <= DEXCOM_HIGH_MG_DL:
                    yield Reading(line, instant, number, "cgm", device, "", "", key)
                    continue
            elif unit == MG_DL and ctx.unit_check_done():
                plain_mg_dl = True
            if not raw:
                yield RowError(line, f"{cell(cells, columns, 'event')} row without a glucose value")
                continue
            yield glucose(
                ctx,
                line,
                instant,
                raw,
                unit,
                "cgm" if kind == "egv" else "calibration",
                device,
                low_limit=DEXCOM_LOW_MG_DL,
                high_limit=DEXCOM_HIGH_MG_DL,
                reporting_range=DEXCOM_RANGE if kind == "egv" else None,
                status_codes=kind == "egv",
                device_key=key,
            )
        else:
            yield _treatment(line, instant, kind, cells, columns, device, key)


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


def _transmitter_seconds(text: str) -> int | None:
    """ "7200" -> 7200; like ``int(parse_number(text))``, None when not a number."""
    try:
        seconds = int(text)  # the usual whole number, without a float round trip
    except ValueError:
        pass
    else:
        if -_EXACT_INT < seconds < _EXACT_INT:
            return seconds
    try:
        return int(parse_number(text))
    except ValueError:
        return None


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
