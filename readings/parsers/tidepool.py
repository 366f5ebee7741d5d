"""Tidepool data-model JSON (what the Tidepool uploader and API produce).

An array of records (or one record). ``cbg`` -> Reading "cgm", ``smbg`` -> Reading
"smbg"; ``units`` says ``mg/dL`` or ``mmol/L`` (Tidepool stores mmol/L by default, with
full precision, e.g. 7.1596). ``bolus`` -> insulin_rapid (``normal`` + ``extended``
units), ``wizard`` -> carbs (``carbInput``), ``food`` -> carbs
(``nutrition.carbohydrate.net``). Basal, device events, settings and uploads are skipped.
The instant is ``time`` (UTC, already corrected by Tidepool for the device clock's
offset and drift), never ``deviceTime``. ``line`` is the record's index in the array + 1.
An ``annotations`` code ``bg/out-of-range`` with value low/high flags the reading.
Strict types: numbers must be JSON numbers (booleans, strings, lists, objects, NaN, ±inf
are row errors), ``time`` a string.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from ._json import array, each_element, number, obj, shown, text
from ._pipeline import Context, glucose
from ._records import Reading, RowError, Treatment
from ._times import parse_iso_instant
from ._units import MMOL_L, unit_from_text

_SIGNATURE = re.compile(
    r'"type"\s*:\s*"(cbg|smbg|basal|bolus|wizard|deviceEvent|pumpSettings|upload|food)"'
)


def sniff(text: str) -> bool:
    return text.lstrip()[:1] in ("[", "{") and bool(_SIGNATURE.search(text))


def parse(text: io.TextIOBase, ctx: Context) -> Iterator:
    return each_element(text, "record", lambda _shape, index, record: _record(ctx, index, record))


def _record(ctx: Context, line: int, record) -> Iterator:
    if not isinstance(record, dict):
        yield RowError(line, "record is not a JSON object")
        return
    kind_name = record.get("type")
    if kind_name not in ("cbg", "smbg", "bolus", "wizard", "food"):
        return
    time = record.get("time")
    try:
        if not isinstance(time, str):
            raise ValueError
        instant = parse_iso_instant(time, ctx.clock)
    except ValueError:
        yield RowError(line, f"{kind_name} record without a valid time {shown(time)}")
        return
    device = text(record.get("deviceId"))
    try:
        if kind_name in ("cbg", "smbg"):
            yield from _glucose(ctx, line, instant, record, kind_name, device)
        elif kind_name == "bolus":
            amount = sum(
                number(record[k], k) for k in ("normal", "extended") if record.get(k) is not None
            )
            yield Treatment(
                line, instant, "insulin_rapid", amount, text(record.get("subType")), device
            )
        elif kind_name == "wizard":
            carbs = record.get("carbInput")
            if carbs is not None and number(carbs, "carbInput") > 0:
                yield Treatment(line, instant, "carbs", float(carbs), "", device)
        else:
            net = obj(obj(record.get("nutrition")).get("carbohydrate")).get("net")
            if net is not None:
                yield Treatment(line, instant, "carbs", number(net, "carbohydrate"), "", device)
    except ValueError as exc:
        yield RowError(line, str(exc))


def _glucose(ctx, line, instant, record, kind_name, device) -> Iterator:
    if text(record.get("subType")).lower() in ("control", "control-solution"):
        ctx.count_ignored("control-solution tests")
        return
    value = number(record.get("value"), "glucose value")
    unit = unit_from_text(text(record.get("units"))) or MMOL_L
    reading = glucose(
        ctx, line, instant, value, unit, "cgm" if kind_name == "cbg" else "smbg", device
    )
    flag = _out_of_range(record)
    if flag and isinstance(reading, Reading):
        reading = Reading(
            reading.line, reading.timestamp, reading.value_mg_dl, reading.kind, reading.device, flag
        )
    yield reading


def _out_of_range(record: dict) -> str:
    for note in array(record.get("annotations")):
        if isinstance(note, dict) and note.get("code") == "bg/out-of-range":
            return {"low": "low", "high": "high"}.get(text(note.get("value")), "")
    return ""
