"""Nightscout entries JSON (``/api/v1/entries.json``, or what an uploader POSTs).

An array of entries or one entry object. ``type: "sgv"`` (or an ``sgv`` field) is a CGM
reading, ``type: "mbg"`` a finger-stick (meter) reading; ``cal`` and other types are
skipped. Values are mg/dL (Nightscout always stores mg/dL). The instant is ``date``
(epoch milliseconds), falling back to ``mills`` and then ``dateString`` (ISO 8601; without
an offset it is the patient's local time). ``device`` is kept as the device text.
``line`` is the entry's index in the array + 1 (1 for a single object).

Values (``entry_glucose``, shared with the ``/ns/`` API in ``readings.nightscout``):
- ``sgv``/``mbg`` is a JSON number, or text that is a plain decimal number ("120",
  "120.5"). Decision (issue #17): Nightscout itself stores a posted entry as sent and reads
  its value with JavaScript's ``Number()`` (``lib/data/dataloader.js``: ``mgdl:
  Number(element.sgv)``), so "120" is 120 mg/dL on a Nightscout site; an uploader that sends
  text works there and must work here. Real uploaders (xDrip+, AndroidAPS, Loop, the Share
  bridge) send numbers. Anything else — ``true``/``false``, ``null``, a list, an object, text
  that is no plain decimal ("", "abc", "0x78", which ``Number()`` would read as 120), NaN,
  ±inf, ``1e400``, an integer no float holds — is a row error with the value shown.
- An ``sgv`` of 0..12 is a Dexcom sensor status code (1 sensor not active, 9 absolute
  deviation, 12 bad RF, ...): a row error naming the code, never glucose.
- An ``sgv`` of exactly 39 or 401 from a Dexcom (``device`` absent or "dexcom") is the
  receiver's LOW / HIGH marker, as Nightscout displays it (``lib/sandbox.js`` ``displayBg``):
  a reading at 40 / 400 mg/dL flagged "low" / "high".
- Any other ``sgv`` below 40 mg/dL is a row error: it is below any CGM's reporting range
  (``_units.sensor_value_problem``). ``mbg`` (meter) values are not range-checked.
``date``/``mills`` must be JSON numbers (a boolean, a string, a list, an object, NaN or ±inf
is a row error).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from ._json import each_element, number, shown, text
from ._pipeline import Context, glucose
from ._records import RowError
from ._times import epoch_ms_to_utc, parse_iso_instant
from ._units import DEFAULT_LOW_MG_DL, MAX_MG_DL, MG_DL

# Sensor glucose below 40 mg/dL is outside every CGM's reporting range: a row error. The
# upper end depends on the sensor behind the uploader (Dexcom 400, Libre 500): not flagged.
SGV_REPORTING_RANGE = (DEFAULT_LOW_MG_DL, MAX_MG_DL)
# The Dexcom receiver's LOW and HIGH as sgv values, and the devices Nightscout reads them
# for (lib/sandbox.js: ``isDex = !entry.device || entry.device === 'dexcom'``).
DEXCOM_MARKERS = {39: "Low", 401: "High"}
DEXCOM_DEVICES = frozenset({"", "dexcom"})
# Text Nightscout's Number() reads as a number, limited to plain decimals (no hex, no "").
_DECIMAL_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")

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
    if entry.get(kind_name) is None:
        yield RowError(line, f"{kind_name} entry without a {kind_name} value")
        return
    try:
        instant = entry_instant(ctx, entry)
    except ValueError as exc:
        yield RowError(line, str(exc))
        return
    yield entry_glucose(ctx, line, instant, kind_name, entry.get(kind_name), entry.get("device"))


def entry_glucose(ctx: Context, line: int, instant, kind_name: str, raw, device) -> object:
    """The Reading (or RowError) of an ``sgv``/``mbg`` value (see the module docstring).

    >>> entry_glucose(ctx, 1, instant, "sgv", "120", "xDrip").value_mg_dl  # doctest: +SKIP
    120.0
    """
    if raw is None:
        return RowError(line, f"{kind_name} entry without a {kind_name} value")
    if isinstance(raw, str) and _DECIMAL_TEXT.fullmatch(raw):
        raw = float(raw)  # as Nightscout's Number() reads it ("1e400" becomes inf: refused)
    try:
        value = number(raw, kind_name)
    except ValueError as exc:
        return RowError(line, str(exc))
    device = text(device)
    kind = "cgm" if kind_name == "sgv" else "smbg"
    marker = DEXCOM_MARKERS.get(value) if kind == "cgm" else None
    return glucose(
        ctx,
        line,
        instant,
        marker if marker and device.strip().lower() in DEXCOM_DEVICES else value,
        MG_DL,
        kind,
        device,
        status_codes=kind == "cgm",
        reporting_range=SGV_REPORTING_RANGE if kind == "cgm" else None,
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
