"""Tidepool data-model JSON (what the Tidepool uploader and API produce).

An array of records (or one record). ``cbg`` -> Reading "cgm", ``smbg`` -> Reading
"smbg"; ``units`` says ``mg/dL`` or ``mmol/L`` (Tidepool stores mmol/L by default, with
full precision, e.g. 7.1596). ``bolus`` -> insulin_rapid (``normal`` + ``extended``
units), ``wizard`` -> carbs (``carbInput``), ``food`` -> carbs
(``nutrition.carbohydrate.net``). Basal, device events, settings and uploads are skipped.
The instant is ``time`` (UTC, already corrected by Tidepool for the device clock's
offset and drift), never ``deviceTime``. ``line`` is the record's index in the array + 1.
An ``annotations`` code ``bg/out-of-range`` with value low/high flags the reading.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from ._common import MMOL_L, Context, glucose, parse_iso_instant, unit_from_text
from ._json import each_element
from ._records import Reading, RowError, Treatment

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
    try:
        instant = parse_iso_instant(str(record.get("time") or ""), ctx.clock)
    except ValueError:
        yield RowError(line, f"{kind_name} record without a valid time {record.get('time')!r}")
        return
    device = str(record.get("deviceId") or "")
    if kind_name in ("cbg", "smbg"):
        if str(record.get("subType", "")).lower() in ("control", "control-solution"):
            ctx.count_ignored("control-solution tests")
            return
        value = record.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool):
            yield RowError(line, f"glucose value {value!r} is not a number")
            return
        unit = unit_from_text(str(record.get("units") or "")) or MMOL_L
        reading = glucose(
            ctx, line, instant, float(value), unit, "cgm" if kind_name == "cbg" else "smbg", device
        )
        flag = _out_of_range(record)
        if flag and isinstance(reading, Reading):
            reading = Reading(
                reading.line,
                reading.timestamp,
                reading.value_mg_dl,
                reading.kind,
                reading.device,
                flag,
            )
        yield reading
    elif kind_name == "bolus":
        amount = sum(float(record.get(k) or 0) for k in ("normal", "extended"))
        yield Treatment(
            line, instant, "insulin_rapid", amount, str(record.get("subType") or ""), device
        )
    elif kind_name == "wizard":
        carbs = record.get("carbInput")
        if isinstance(carbs, int | float) and carbs > 0:
            yield Treatment(line, instant, "carbs", float(carbs), "", device)
    else:
        net = ((record.get("nutrition") or {}).get("carbohydrate") or {}).get("net")
        if isinstance(net, int | float):
            yield Treatment(line, instant, "carbs", float(net), "", device)


def _out_of_range(record: dict) -> str:
    for note in record.get("annotations") or []:
        if isinstance(note, dict) and note.get("code") == "bg/out-of-range":
            return {"low": "low", "high": "high"}.get(str(note.get("value")), "")
    return ""
