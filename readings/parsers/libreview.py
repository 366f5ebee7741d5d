"""FreeStyle Libre / LibreView CSV export ("Download glucose data"), any language.

The file may start with a title line (``Glucose Data,Generated on,...`` or its
translation) or directly with the header. Columns are found by the alias tables below
(English, German, French, Spanish, Italian, Dutch, Portuguese, Simplified Chinese); the
glucose unit is read from the glucose column names ("Historic Glucose mmol/L").

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

from ._common import (
    MG_DL,
    Context,
    DateOrder,
    cell,
    csv_rows,
    fold_text,
    glucose,
    lookahead,
    match_columns,
    mentions_any,
    parse_number,
    parse_wall_time,
    sniff_delimiter,
    unit_from_text,
)
from ._records import RowError, Treatment, UnreadableFile

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


# Header aliases, folded (lower case, accents removed). The first role that matches a
# column wins, so specific roles come first. "a+b" = both fragments must occur; "=a" =
# the whole header. To support a new language, add its words to each role.
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "non_numeric",
        (
            "non-numeric",
            "non numeric",
            "nicht numerisch",
            "non numerique",
            "no numerico",
            "no numerica",
            "non numerico",
            "niet-numeriek",
            "niet numeriek",
            "nao numerico",
            "非数字",
            "非数值",
        ),
    ),
    (
        "timestamp",
        (
            "timestamp",
            "zeitstempel",
            "horodatage",
            "marca de tiempo",
            "sello de tiempo",
            "fecha y hora",
            "data e ora",
            "data/ora",
            "ora dispositivo",
            "tijdstempel",
            "carimbo de data",
            "时间戳",
            "时间",
            "日期",
        ),
    ),
    (
        "record_type",
        (
            "record type",
            "aufzeichnungstyp",
            "type d'enregistrement",
            "type d enregistrement",
            "tipo de registro",
            "tipo di registrazione",
            "registratietype",
            "type registratie",
            "soort registratie",
            "记录类型",
            "类型",
        ),
    ),
    (
        "serial",
        ("serial", "seriennummer", "numero de serie", "numero di serie", "serienummer", "序列号"),
    ),
    ("ketone", ("ketone", "keton", "cetone", "cetona", "chetoni", "酮")),
    (
        "historic",
        (
            "historic",
            "verlauf",
            "historique",
            "historial",
            "historico",
            "storico",
            "storia",
            "historisch",
            "历史",
        ),
    ),
    ("scan", ("scan", "escaneo", "escaneada", "scansione", "lectura", "扫描")),
    (
        "strip",
        (
            "strip",
            "teststreifen",
            "bandelette",
            "tira",
            "striscia",
            "strisce",
            "teststrook",
            "tira-teste",
            "试纸",
            "指尖",
        ),
    ),
    (
        "carbs_grams",
        (
            "carbohydrate+gram",
            "kohlenhydrate+gramm",
            "glucides+gramm",
            "carbohidratos+gram",
            "carboidrati+gramm",
            "koolhydraten+gram",
            "carboidratos+grama",
            "碳水化合物+克",
        ),
    ),
    ("carbs_servings", ("serving", "portion", "porcion", "porzion", "porcoes", "份")),
    (
        "meal_insulin",
        (
            "meal insulin",
            "mahlzeiteninsulin",
            "insuline repas",
            "insuline pour les repas",
            "insulina para comida",
            "insulina para las comidas",
            "insulina pasto",
            "insulina per i pasti",
            "maaltijdinsuline",
            "insulina de refeicao",
            "餐时胰岛素",
            "进餐胰岛素",
        ),
    ),
    (
        "correction_insulin",
        (
            "correction",
            "korrektur",
            "correccion",
            "correzione",
            "correctie",
            "correcao",
            "校正",
            "纠正",
        ),
    ),
    (
        "user_change_insulin",
        (
            "user change",
            "anderung",
            "modification",
            "modificacion",
            "cambio",
            "modifica",
            "wijziging",
            "alteracao",
            "用户更改",
            "用户修改",
        ),
    ),
    (
        "long_insulin",
        (
            "long-acting",
            "long acting",
            "depotinsulin",
            "langwirksam",
            "action lente",
            "action prolongee",
            "accion prolongada",
            "accion lenta",
            "azione lenta",
            "azione prolungata",
            "langwerkend",
            "acao prolongada",
            "acao lenta",
            "长效",
        ),
    ),
    (
        "rapid_insulin",
        (
            "rapid-acting",
            "rapid acting",
            "schnellwirk",
            "action rapide",
            "accion rapida",
            "azione rapida",
            "snelwerkend",
            "acao rapida",
            "速效",
            "短效",
            "快速",
        ),
    ),
    ("notes", ("notes", "note", "notizen", "notas", "notities", "备注", "注释", "笔记")),
    ("device", ("=device", "=gerat", "=appareil", "=dispositivo", "=apparaat", "=设备", "=装置")),
)

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
