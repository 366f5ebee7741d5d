"""The shared row pipeline: a parse's ``Context`` (settings, counters, the unit check) and
``glucose``, which turns one row's value into a ``Reading`` or a row error the same way for
every format; ``lookahead`` for the bounded buffering the CSV parsers do.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from ._records import Reading, RowError, Treatment, UnreadableFile

# --- the shared row pipeline -----------------------------------------------------------------
from ._times import LocalClock
from ._units import (
    DEFAULT_HIGH_MG_DL,
    DEFAULT_LOW_MG_DL,
    MAX_MG_DL,
    MAX_MMOL_L,
    MG_DL,
    MG_DL_SUSPICIOUS_BELOW,
    MMOL_L,
    MMOL_L_SUSPICIOUS_ABOVE,
    SENSOR_STATUS_BELOW_MG_DL,
    SENSOR_STATUS_CODES,
    UNIT_CHECK_MINIMUM,
    UNIT_CHECK_SAMPLE,
    marker_flag,
    mmol_to_mg_dl,
    parse_number,
    sensor_value_problem,
)


@dataclass
class Context:
    """Per-parse settings and counters shared by a format module and the pipeline."""

    timezone: str
    now: datetime
    warnings: list[str] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.clock = LocalClock(self.timezone)
        self.unit_samples: dict[str, list[float]] = {MG_DL: [], MMOL_L: []}

    def count_ignored(self, what: str) -> None:
        self.ignored[what] = self.ignored.get(what, 0) + 1

    def observe_unit(self, value: float, unit: str) -> None:
        samples = self.unit_samples[unit]
        if len(samples) < UNIT_CHECK_SAMPLE:
            samples.append(value)

    def unit_check_done(self) -> bool:
        return any(len(s) >= UNIT_CHECK_SAMPLE for s in self.unit_samples.values())

    def check_units(self) -> None:
        """Raise UnreadableFile when most sampled values contradict their declared unit."""
        mmol = self.unit_samples[MMOL_L]
        if (
            len(mmol) >= UNIT_CHECK_MINIMUM
            and sum(v > MMOL_L_SUSPICIOUS_ABOVE for v in mmol) > len(mmol) / 2
        ):
            raise UnreadableFile(
                f"the file declares mmol/L but {sum(v > MMOL_L_SUSPICIOUS_ABOVE for v in mmol)}"
                f" of its first {len(mmol)} glucose values are above 35: probable unit"
                " mix-up (mg/dL values labelled mmol/L)"
            )
        mg = self.unit_samples[MG_DL]
        if (
            len(mg) >= UNIT_CHECK_MINIMUM
            and sum(v < MG_DL_SUSPICIOUS_BELOW for v in mg) > len(mg) / 2
        ):
            raise UnreadableFile(
                f"the file declares mg/dL but {sum(v < MG_DL_SUSPICIOUS_BELOW for v in mg)}"
                f" of its first {len(mg)} glucose values are below 25: probable unit"
                " mix-up (mmol/L values labelled mg/dL)"
            )


def glucose(
    ctx: Context,
    line: int,
    timestamp: datetime,
    raw: str | float,
    unit: str,
    kind: str,
    device: str = "",
    *,
    low_limit: float = DEFAULT_LOW_MG_DL,
    high_limit: float = DEFAULT_HIGH_MG_DL,
    meal_tag: str = "",
    reporting_range: tuple[float, float] | None = None,
    status_codes: bool = False,
    device_key: str = "",
) -> Reading | RowError:
    """Build a Reading from a raw value in `unit`, or a RowError saying what is wrong.

    Low/High markers become flagged readings at `low_limit`/`high_limit`. A sensor number
    (kind "cgm"/"scan") below 40 mg/dL is a RowError (`sensor_value_problem`). With
    `reporting_range` (the sensor's range in mg/dL), a number outside it is kept but
    flagged "low"/"high". With `status_codes` (Dexcom/Nightscout sensor glucose), a mg/dL
    number of 0..12 is a sensor status code: a RowError naming it, never glucose.
    """
    if isinstance(raw, str):
        try:  # most values are plain numbers, and no Low/High word reads as one
            number = float(raw)
        except ValueError:
            number = None
        if number is None or number - number != 0:  # a marker, a decimal comma, nan, ...
            flag = marker_flag(raw)
            if flag:
                value = low_limit if flag == "low" else high_limit
                return Reading(line, timestamp, value, kind, device, flag, meal_tag, device_key)
            try:
                number = parse_number(raw)
            except ValueError as exc:
                return RowError(line, f"glucose {exc}")
    elif isinstance(raw, bool) or not isinstance(raw, int | float):
        return RowError(line, f"glucose value {raw!r} is not a number")
    else:
        try:
            number = float(raw)
        except OverflowError:  # an integer no float holds (10**400 in JSON)
            return RowError(line, "glucose value is not a number (beyond any float)")
        if number - number != 0:
            return RowError(line, f"glucose value {raw!r} is not a finite number")
    if status_codes and unit == MG_DL and 0 <= number < SENSOR_STATUS_BELOW_MG_DL:
        meaning = SENSOR_STATUS_CODES.get(int(number)) if number == int(number) else None
        return RowError(
            line,
            f"sensor status code {number:g}"
            + (f" ({meaning})" if meaning else "")
            + ", not glucose",
        )
    ctx.observe_unit(number, unit)
    if number <= 0:
        return RowError(line, f"glucose {number:g} {unit} is impossible (<= 0)")
    if unit == MMOL_L:
        if number > MAX_MMOL_L:
            return RowError(line, f"glucose {number:g} mmol/L is impossible (> {MAX_MMOL_L:g})")
        value = mmol_to_mg_dl(number)
    else:
        value = number
    if value > MAX_MG_DL:
        return RowError(line, f"glucose {number:g} mg/dL is impossible (> {MAX_MG_DL:g})")
    problem = sensor_value_problem(value, kind)
    if problem:
        return RowError(line, problem)
    flag = ""
    if reporting_range is not None:
        if value < reporting_range[0]:
            flag = "low"
        elif value > reporting_range[1]:
            flag = "high"
    return Reading(line, timestamp, value, kind, device, flag, meal_tag, device_key)


def lookahead(rows: Iterator, size: int) -> tuple[list, Iterator]:
    """Take up to `size` items for inspection; return them and an iterator over all items.

    This is the only buffering the CSV parsers do, so memory stays bounded by `size`.
    """
    buffered = list(itertools.islice(rows, size))
    return buffered, _chain(deque(buffered), rows)


def _chain(first: deque, rest: Iterator) -> Iterator:
    while first:
        yield first.popleft()
    yield from rest


ITEM = Reading | Treatment | RowError
