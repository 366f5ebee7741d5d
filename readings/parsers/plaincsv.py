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

Example::

    timestamp,value,unit,kind,device,meal_tag
    2024-03-01T07:02:00+01:00,5.4,mmol/L,smbg,Contour Next One,fasting
    2024-03-01T07:05:00Z,98,mg/dL,cgm,Dexcom G7,
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from operator import itemgetter

from ._pipeline import Context, glucose
from ._records import RowError, UnreadableFile
from ._text import csv_rows, sniff_delimiter
from ._times import epoch_ms_to_utc, parse_iso_instant
from ._units import unit_from_text

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
    # The per-row work is kept to a few C calls: every row is cut or padded to the header's
    # width plus one always-empty cell (what an absent column or a short row reads as),
    # and the six cells come out in one itemgetter call.
    width = max(columns.values()) + 1
    blanks = [""] * (width + 1)
    take = itemgetter(*(columns.get(role, width) for role in _ROLES))
    units: dict[str, str | None] = {}  # unit cell -> unit, read once per distinct spelling
    for line, cells in csv_rows(text, delimiter):
        line += 1
        row = cells[:width]
        row += blanks[len(row) :]
        stamp, raw, unit_text, kind, device, meal_tag = take(row)
        kind = kind.lower() or "cgm"
        if kind not in KINDS:
            if kind in ("control", "control_solution", "control-solution"):
                ctx.count_ignored("control-solution tests")
            else:
                yield RowError(line, f"kind {kind!r} is not one of {', '.join(KINDS)}")
            continue
        if meal_tag:
            meal_tag = meal_tag.lower()
            if meal_tag not in MEAL_TAGS:
                yield RowError(line, f"meal_tag {meal_tag!r} is not one of {', '.join(MEAL_TAGS)}")
                continue
        try:
            unit = units[unit_text]
        except KeyError:
            unit = unit_from_text(unit_text)
            if len(units) < _UNIT_SPELLINGS:
                units[unit_text] = unit
        if unit is None:
            yield RowError(line, f"unit {unit_text!r} is not mg/dL or mmol/L")
            continue
        try:
            if stamp.isdigit():
                instant = epoch_ms_to_utc(int(stamp))
            else:
                instant = parse_iso_instant(stamp, ctx.clock)
        except (ValueError, OverflowError):
            yield RowError(line, f"timestamp {stamp!r} is not ISO 8601 or epoch milliseconds")
            continue
        if not raw:
            yield RowError(line, "row without a value")
            continue
        yield glucose(ctx, line, instant, raw, unit, kind, device, meal_tag=meal_tag)
