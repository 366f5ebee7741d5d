"""Shared helpers for the parser tests: fixture paths and collecting a parse."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from readings.parsers import Reading, RowError, Treatment, parse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "devices"
SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


@dataclass
class Collected:
    format: str
    warnings: list[str]
    readings: list[Reading] = field(default_factory=list)
    treatments: list[Treatment] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def kinds(self) -> Counter:
        return Counter(r.kind for r in self.readings)

    def of(self, kind: str) -> list[Reading]:
        return [r for r in self.readings if r.kind == kind]


def collect(source, **kwargs) -> Collected:
    result = parse(source, **kwargs)
    out = Collected(result.format, result.warnings)
    for item in result.items():
        if isinstance(item, Reading):
            out.readings.append(item)
        elif isinstance(item, Treatment):
            out.treatments.append(item)
        else:
            out.errors.append(item)
    return out


def fast_and_general(module, data: bytes, *, format: str, zone: str, now) -> list:
    """What parsing ``data`` gives with ``module``'s fast path on, then off (the general
    per-row rules): the format, the items and the warnings, or the error's type and message —
    an error, even a crash, must be the same both ways too. The fast path is on afterwards."""
    outcomes = []
    for fast in (True, False):
        module.FAST_PATH = fast
        try:
            result = parse(data, format=format, timezone=zone, now=now)
            items = list(result.items())
            outcomes.append((result.format, items, result.warnings))
        except Exception as exc:  # noqa: BLE001  (see the docstring)
            outcomes.append((type(exc).__name__, str(exc)))
        finally:
            module.FAST_PATH = True
    return outcomes
