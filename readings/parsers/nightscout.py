"""Nightscout entries JSON (``/api/v1/entries.json``, or what an uploader POSTs).

An array of entries or one entry object. ``type: "sgv"`` (or an ``sgv`` field) is a CGM
reading, ``type: "mbg"`` a finger-stick (meter) reading; ``cal`` and other types are
skipped. Values are mg/dL (Nightscout always stores mg/dL). The instant is ``date``
(epoch milliseconds), falling back to ``mills`` and then ``dateString`` (ISO 8601; without
an offset it is the patient's local time). ``device`` is kept as the device text.
``line`` is the entry's index in the array + 1 (1 for a single object).

Strict types: ``sgv``/``mbg`` and ``date``/``mills`` must be JSON numbers (a boolean, a
string, a list, an object, NaN or ±inf is a row error). An ``sgv`` of 0..12 is a Dexcom
sensor status code (1 sensor not active, 9 absolute deviation, 12 bad RF, ...): a row
error naming the code, never glucose; 13..39 is kept, flagged "low" (below range).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from ._common import (
    DEFAULT_LOW_MG_DL,
    MAX_MG_DL,
    MG_DL,
    Context,
    epoch_ms_to_utc,
    glucose,
    parse_iso_instant,
)
from ._json import each_element, number, shown, text
from ._records import RowError

# Sensor glucose below 40 mg/dL is outside every CGM's reporting range: kept, flagged "low".
# The upper end depends on the sensor behind the uploader (Dexcom 400, Libre 500): not flagged.
SGV_REPORTING_RANGE = (DEFAULT_LOW_MG_DL, MAX_MG_DL)

_SIGNATURE = re.compile(r'"(sgv|mbg)"\s*:|"type"\s*:\s*"(sgv|mbg|cal)"')


def sniff(text: str) -> bool:
    stripped = text.lstrip()
    return stripped[:1] in ("[", "{") and bool(_SIGNATURE.search(text))


def parse(text: io.TextIOBase, ctx: Context) -> Iterator:
    return each_element(text, "entry", lambda _shape, index, entry: _entry(ctx, index, entry))


def _entry(ctx: Context, line: int, entry) -> Iterator:
    if not isinstance(entry, dict):
        yield RowError(line, "entry is not a JSON object")
        return
    kind_name = entry.get("type")
    if not isinstance(kind_name, str) or not kind_name:
        kind_name = "sgv" if "sgv" in entry else "mbg" if "mbg" in entry else ""
    if kind_name not in ("sgv", "mbg"):
        return
    raw = entry.get(kind_name)
    if raw is None:
        yield RowError(line, f"{kind_name} entry without a {kind_name} value")
        return
    try:
        value = number(raw, kind_name)
        instant = entry_instant(ctx, entry)
    except ValueError as exc:
        yield RowError(line, str(exc))
        return
    device = text(entry.get("device"))
    yield glucose(
        ctx,
        line,
        instant,
        value,
        MG_DL,
        "cgm" if kind_name == "sgv" else "smbg",
        device,
        status_codes=kind_name == "sgv",
        reporting_range=SGV_REPORTING_RANGE if kind_name == "sgv" else None,
    )


def entry_instant(ctx: Context, entry: dict):
    """The entry's instant: ``date`` (epoch ms), else ``mills``, else ``dateString``.

    Strict types: an epoch must be a JSON number (not a boolean or a string of digits).
    """
    for key in ("date", "mills"):
        value = entry.get(key)
        if value is not None:
            return epoch_ms_to_utc(number(value, key))
    value = entry.get("dateString") or entry.get("sysTime")
    if value is not None:
        if not isinstance(value, str):
            raise ValueError(f"dateString {shown(value)} is not a date-time text")
        return parse_iso_instant(value, ctx.clock)
    raise ValueError("entry without a date (date, mills or dateString)")
