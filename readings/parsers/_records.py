"""The records every parser produces, and the error for a file that cannot be read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
