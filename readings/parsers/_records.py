"""The records every parser produces, and the error for a file that cannot be read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class UnreadableFile(Exception):
    """The whole file cannot be imported; ``str(exc)`` is a reason a person can act on."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One glucose value, always in mg/dL at a UTC instant.

    ``line`` is the 1-based line of the file (for JSON: index + 1 of the entry in its
    array). ``kind`` is "cgm", "smbg", "scan" or "calibration"; ``flag`` is "low"/"high"
    for out-of-range markers stored at the device limit and for sensor values outside the
    device's reporting range. ``device`` names the device for people; ``device_key``, when
    not empty, is its identity from stable fields (the same in every file from that device,
    e.g. "dexcom:Android G6" whether or not the file has Dexcom's "Device" row). Store
    under ``device_key or device``.
    """

    line: int
    timestamp: datetime
    value_mg_dl: float
    kind: str
    device: str = ""
    flag: str = ""
    meal_tag: str = ""
    device_key: str = ""


@dataclass(frozen=True, slots=True)
class Treatment:
    """Insulin (units), carbs (grams), exercise (minutes) or a note, at a UTC instant.

    ``device_key`` as on Reading.
    """

    line: int
    timestamp: datetime
    kind: str
    amount: float | None
    text: str = ""
    device: str = ""
    device_key: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that could not be imported; the rest of the file still is."""

    line: int
    reason: str


FLAGS = ("", "low", "high")  # ReadingBatch.flags codes


@dataclass(frozen=True, slots=True, eq=False)
class ReadingBatch:
    """Consecutive readings of one kind, columnar: what a parser's fast path yields for a run of
    plain rows, so nothing downstream spends Python time per reading.

    Exactly the ``Reading`` records ``readings()`` gives, in file order: ``lines`` (int64),
    ``micros`` (int64 µs since 1970, UTC), ``values`` (float64 mg/dL), ``flags`` (int8 codes
    into ``FLAGS``), ``device_codes`` (indexes into ``devices``, ``(device, device_key)``
    pairs). ``ParseResult.items()`` expands batches; only the import path takes them whole.
    """

    lines: object
    micros: object
    values: object
    flags: object
    device_codes: object
    devices: tuple[tuple[str, str], ...]
    kind: str
    meal_tag: str = ""

    def __len__(self) -> int:
        return len(self.lines)

    def readings(self) -> list[Reading]:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        micro = timedelta(microseconds=1)
        kind, meal_tag, devices = self.kind, self.meal_tag, self.devices
        return [
            Reading(
                line,
                epoch + micros * micro,
                value,
                kind,
                devices[code][0],
                FLAGS[flag],
                meal_tag,
                devices[code][1],
            )
            for line, micros, value, flag, code in zip(
                self.lines.tolist(),
                self.micros.tolist(),
                self.values.tolist(),
                self.flags.tolist(),
                self.device_codes.tolist(),
                strict=True,
            )
        ]

    def part(self, start: int, stop: int) -> ReadingBatch:
        """Rows ``start:stop`` (views, no copy)."""
        return ReadingBatch(
            self.lines[start:stop],
            self.micros[start:stop],
            self.values[start:stop],
            self.flags[start:stop],
            self.device_codes[start:stop],
            self.devices,
            self.kind,
            self.meal_tag,
        )
