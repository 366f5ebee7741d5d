"""The plain CSV fast path (issue #23) against the general rules, row by row.

Once the unit check is done, the plain CSV parser reads runs of plain rows (an instant with
``Z`` or an offset, a known unit, kind and meal tag) together into ``ReadingBatch`` runs. It
must give exactly what reading each row alone through the csv module gives: the same records
in the same order (line, instant, value, kind, flag, device, meal tag), the same row errors,
warnings and counts, the same outcome for a file that cannot be read. Hypothesis draws long
files (past a 2,500-line block) in any column order and delimiter, with odd cells among
plain rows: NUL, lone surrogates, huge numbers (1e400, 10**400), impossible and implausible
dates, odd offsets, local times across DST, epoch milliseconds, markers, other kinds, units
and meal tags, quotes, blank and short rows, stray spaces, byte-order marks, long lines and
other line endings — and compares both ways.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readings.parsers import ReadingBatch, parse, plaincsv

from .helpers import fast_and_general

NOW = datetime(2025, 6, 1, tzinfo=UTC)
EXAMPLES = int(os.environ.get("PARSER_PROPERTY_EXAMPLES", "1000")) // 25 or 1
ZONES = [
    ("America/New_York", datetime(2023, 3, 10)),
    ("America/New_York", datetime(2023, 11, 3)),
    ("Europe/Bucharest", datetime(2019, 10, 25)),
    ("Australia/Lord_Howe", datetime(2023, 4, 1)),
    ("UTC", datetime(2024, 12, 30)),
    ("Europe/Berlin", datetime(2025, 5, 31, 20)),  # runs into the future: row errors
]
ROLES = ["timestamp", "value", "unit", "kind", "device", "meal_tag"]
ODD_VALUES = [
    "High", "Low", "LO", "HI", "39", "0", "-5", "1001", "999.5", "5,5", "1.234,5", "NaN", "inf",
    "1e400", "1" + "0" * 400, "abc", "", " 120 ", "1_000", "\x00", "12\x00", "\ud800", "١٢٠",
]  # fmt: skip
ODD_STAMPS = [
    "", "2023-02-30T10:00:00Z", "2023-01-01T24:00:00Z", "1968-01-01T00:00:00Z",
    "1969-12-31T23:59:00Z", "9001-01-01T00:00:00Z", "2023-01-01T00:00:00+24:00",
    "2023-01-01T00:00:00+23:59", "2023-01-01T00:00:00-00:00", "2023-01-01x00:00:00+00:00",
    "2023-01-01T00:00:00+0000", "2023-01-01T00:00:00.5Z", "1700000000000", "10" + "0" * 400,
    "2023-01-01T00:00:00Z\x00", " 2023-01-01T00:00:00Z", "\ufeff2023-01-01T00:00:00Z",
    "2023-01-01T00:00:00\ud800", "2023-13-01T00:00:00Z", "0000-01-01T00:00:00Z", "now",
]  # fmt: skip
ODD_KINDS = ["SMBG", "scan", "calibration", "control", "Control-Solution", "ketone", " CGM "]
ODD_UNITS = ["mmol/L", "MG/DL", "mg%", "", "mmol", "毫摩尔/升"]
ODD_MEALS = ["fasting", "BEFORE_MEAL", "lunch", "bedtime"]


def plain_csv(rng: random.Random, zone: str, start: datetime, rows: int, odd: float) -> str:
    """A plain CSV: a reading every 5 minutes, instants with ``Z`` or the zone's offset (or,
    at rate ``odd``, local wall time and other odd cells), columns in a random order."""
    roles = ROLES[:3] + [role for role in ROLES[3:] if rng.random() < 0.7]
    rng.shuffle(roles)
    roles += ["note"] * rng.randint(0, 1)  # a column no role reads
    delimiter = rng.choice([",", ",", ";", "\t"])
    unit = "mmol/L" if rng.random() < 0.1 else "mg/dL"
    tz = ZoneInfo(zone)
    lines = [delimiter.join(rng.choice([role, role.upper()]) for role in roles)]
    utc = start.replace(tzinfo=UTC)
    zulu = rng.random() < 0.5
    for i in range(rows):
        moment = utc + timedelta(minutes=5 * i)
        local = moment.astimezone(tz)
        if zulu:
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            stamp = local.isoformat()
        mg = rng.randint(40, 400)
        cells = {
            "timestamp": stamp,
            "value": f"{mg / 18:.1f}" if unit == "mmol/L" else str(mg),
            "unit": unit,
            "kind": "cgm",
            "device": "Dexcom G7",
            "meal_tag": "",
            "note": "",
        }
        if rng.random() < odd:
            what = rng.randrange(12)
            if what == 0:
                cells["value"] = rng.choice(ODD_VALUES)
            elif what == 1:
                cells["timestamp"] = rng.choice(ODD_STAMPS)
            elif what == 2:  # local wall time: the device clock, across DST
                cells["timestamp"] = local.strftime(
                    rng.choice(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])
                )
            elif what == 3:
                cells["kind"] = rng.choice(ODD_KINDS)
            elif what == 4:
                cells["unit"] = rng.choice(ODD_UNITS)
            elif what == 5:
                cells["meal_tag"] = rng.choice(ODD_MEALS)
            elif what == 6:
                cells["device"] = rng.choice(["Libre 3", " Dexcom G7 ", "\ufeffG7", "x" * 600, ""])
            elif what == 7:
                lines.append(rng.choice(["", delimiter * (len(roles) - 1), "  ", "\ufeff"]))
            elif what == 8 and i > rows - 100:  # the csv module reads the rest: late
                cells[rng.choice(roles)] = f'"{cells["value"]}"'
            elif what == 9:
                cells["timestamp"] = (moment - timedelta(hours=rng.randint(1, 30))).isoformat()
            elif what == 10:
                lines.append(lines[-1] if len(lines) > 2 else "")
            else:
                cells["note"] = rng.choice(["\x00", "\r", "é", "a" * 600])
        if i < 1500 and any("\x00" in cell for cell in cells.values()):
            cells = {role: cell.replace("\x00", "") for role, cell in cells.items()}  # the
            # head must be text (else the file is refused before any row is read)
        row = [cells[role] for role in roles]
        if rng.random() < odd / 4:
            row = row[: rng.randint(1, len(row))] if rng.random() < 0.5 else row + ["extra"]
        lines.append(delimiter.join(row))
    ending = rng.choice(["\r\n", "\n", "\n", "\r"])
    return ending.join(lines) + rng.choice(["", ending])


def both_ways(data: bytes, zone: str):
    return fast_and_general(plaincsv, data, format="csv", zone=zone, now=NOW)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.sampled_from(ZONES),
    st.integers(min_value=0, max_value=2**32),
    st.integers(min_value=2550, max_value=3500),
    st.sampled_from([0.0, 0.001, 0.01, 0.1, 0.3]),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_the_fast_path_reads_every_row_as_the_general_rules_do(zone_start, seed, rows, odd, codec):
    zone, start = zone_start
    text = plain_csv(random.Random(seed), zone, start, rows, odd)
    fast, general = both_ways(text.encode(codec, "surrogatepass"), zone)
    assert fast == general


def test_the_fast_path_reads_a_clean_file_in_batches():
    text = plain_csv(random.Random(7), "Europe/Bucharest", datetime(2019, 10, 25), 6000, 0.0)
    result = parse(text.encode(), format="csv", timezone="Europe/Bucharest", now=NOW)
    records = list(result.records())
    assert sum(len(r) for r in records if type(r) is ReadingBatch) > 5900  # all but the first
    fast, general = both_ways(text.encode(), "Europe/Bucharest")
    assert fast == general
    assert len(fast[1]) == 6000


def test_runs_of_other_kinds_and_meal_tags_are_batches_of_their_own():
    lines = ["timestamp,value,unit,kind,meal_tag"]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(3000):
        kind, meal = ("smbg", "fasting") if 100 <= i % 1000 < 150 else ("cgm", "")
        lines.append(
            f"{(start + timedelta(minutes=5 * i)).isoformat()},{90 + i % 50},mg/dL,{kind},{meal}"
        )
    data = "\n".join(lines).encode()
    records = list(parse(data, format="csv", now=NOW).records())
    batches = [(r.kind, r.meal_tag) for r in records if type(r) is ReadingBatch]
    assert ("smbg", "fasting") in batches and ("cgm", "") in batches
    fast, general = both_ways(data, "UTC")
    assert fast == general
