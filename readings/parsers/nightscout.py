"""Nightscout entries JSON (``/api/v1/entries.json``, or what an uploader POSTs).

An array of entries or one entry object. ``type: "sgv"`` (or an ``sgv`` field) is a CGM
reading, ``type: "mbg"`` a finger-stick (meter) reading; ``cal`` and other types are
skipped. Values are mg/dL (Nightscout always stores mg/dL). The instant is ``date``
(epoch milliseconds), falling back to ``mills`` and then ``dateString`` (ISO 8601; without
an offset it is the patient's local time). ``device`` is kept as the device text.
``line`` is the entry's index in the array + 1 (1 for a single object).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from ._common import MG_DL, Context, epoch_ms_to_utc, glucose, parse_iso_instant
from ._json import each_element
from ._records import RowError

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
    kind_name = entry.get("type") or ("sgv" if "sgv" in entry else "mbg" if "mbg" in entry else "")
    if kind_name not in ("sgv", "mbg"):
        return
    raw = entry.get(kind_name)
    if raw is None:
        yield RowError(line, f"{kind_name} entry without a {kind_name} value")
        return
    try:
        instant = entry_instant(ctx, entry)
    except ValueError as exc:
        yield RowError(line, str(exc))
        return
    value = raw if isinstance(raw, str) else float(raw)
    kind = "cgm" if kind_name == "sgv" else "smbg"
    yield glucose(ctx, line, instant, value, MG_DL, kind, str(entry.get("device") or ""))


def entry_instant(ctx: Context, entry: dict):
    for key in ("date", "mills"):
        value = entry.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return epoch_ms_to_utc(value)
        if isinstance(value, str) and value.strip().isdigit():
            return epoch_ms_to_utc(int(value))
    text = entry.get("dateString") or entry.get("sysTime")
    if isinstance(text, str) and text:
        return parse_iso_instant(text, ctx.clock)
    raise ValueError("entry without a date (date, mills or dateString)")
