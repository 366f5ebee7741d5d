"""The Dexcom fast path (issue #23) against the general rules, row by row.

After its look-ahead and the unit check, the Dexcom parser reads runs of plain EGV rows
together into a ``ReadingBatch``. It must give exactly what reading each row alone gives:
the same records in the same order (line, instant, value, flag, device), the same row
errors and warnings, the same outcome for a file that cannot be read. Hypothesis draws long
Clarity files (past the 2,000-row look-ahead) around DST changes, with transmitter changes,
markers, odd values, other events, blank lines, quotes, short rows, stray spaces, byte-order
marks, out-of-order and repeated rows and other line endings, and compares both ways.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readings.parsers import ReadingBatch, dexcom, parse

from .helpers import fast_and_general

NOW = datetime(2025, 6, 1, tzinfo=UTC)
EXAMPLES = int(os.environ.get("PARSER_PROPERTY_EXAMPLES", "1000")) // 25 or 1
HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
    "Source Device ID,Glucose Value ({unit}),Insulin Value (u),Carb Value (grams),"
    "Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),"
    "Transmitter ID"
)
ZONES = [
    ("America/New_York", datetime(2023, 3, 10)),
    ("America/New_York", datetime(2023, 11, 3)),
    ("Europe/Bucharest", datetime(2019, 10, 25)),
    ("Australia/Lord_Howe", datetime(2023, 4, 1)),
    ("Pacific/Chatham", datetime(2023, 9, 22)),
    ("UTC", datetime(2024, 12, 30)),
    ("Europe/Berlin", datetime(2025, 5, 31, 20)),  # runs into the future: row errors
]
ODD_VALUES = ["High", "Low", "HI", "39", "401", "450", "0", "12", "", "abc", "5,5", "NaN", " 120"]
EVENTS = ["Calibration", "Insulin", "Carbs", "Alert", "Exercise", "Device", "Health", "egv"]


def clarity(
    rng: random.Random, zone: str, start: datetime, rows: int, odd: float, crash: bool = True
) -> str:
    """A Clarity export: preamble, then EGV rows every 5 minutes of local wall time (so DST
    changes repeat or skip wall times), transmitter time and id, odd rows at rate ``odd``.
    ``crash``: a transmitter time may be 2**60 s, which the general rules cannot subtract (the
    import crashes, row by row as in batches)."""
    unit = "mmol/L" if rng.random() < 0.05 else "mg/dL"
    lines = [
        HEADER.format(unit=unit),
        "1,,FirstName,,Test,,,,,,,,,",
        "2,,Device,,,Dexcom G6 Mobile App,Android G6,,,,,,,",
        "3,,Alert,High,,,Android G6,250,,,,,,",
    ]
    utc = start.replace(tzinfo=UTC)
    tz = __import__("zoneinfo").ZoneInfo(zone)
    transmitter = "8GH86L"
    seconds = 7200
    for i in range(rows):
        moment = utc + timedelta(minutes=5 * i)
        wall = moment.astimezone(tz).replace(tzinfo=None)
        if rng.random() < 0.0005:
            transmitter = f"8GH{rng.randint(100, 999)}L"
            seconds = 7200
        seconds += 300
        value = str(rng.randint(40, 400))
        event = "EGV"
        stamp = wall.strftime("%Y-%m-%dT%H:%M:%S")
        tx = str(seconds)
        if rng.random() < odd:
            what = rng.randrange(9)
            if what == 0:
                value = rng.choice(ODD_VALUES)
            elif what == 1:
                event = rng.choice(EVENTS)
            elif what == 2:
                stamp = rng.choice(
                    [
                        "",
                        wall.strftime("%m/%d/%Y %H:%M"),
                        "2023-02-30T10:00:00",
                        stamp.replace("T", " "),
                        " " + stamp,
                        "1968-01-01T00:00:00",
                    ]
                )
            elif what == 3:
                tx = rng.choice(
                    ["", "x", "1e3", " 77", "-5", str(2**60) if crash else "12345678901"]
                )
            elif what == 4:
                lines.append(rng.choice(["", ",,,,,,,,,,,,,", "  ", "\ufeff"]))
            elif what == 5:
                value = f'"{value}"'
            elif what == 6:
                stamp = (wall - timedelta(hours=rng.randint(1, 30))).strftime("%Y-%m-%dT%H:%M:%S")
            elif what == 7:
                lines.append(lines[-1] if len(lines) > 5 else "")
            else:
                event = rng.choice(["EGV ", "\ufeffEGV"])
        cells = [
            str(i + 4),
            stamp,
            event,
            "",
            "",
            "",
            "Android G6",
            value,
            "",
            "",
            "",
            "",
            tx,
            transmitter,
        ]
        if rng.random() < odd / 4:
            cells = cells[: rng.randint(3, 13)]
        lines.append(",".join(cells))
    ending = rng.choice(["\r\n", "\r\n", "\n", "\r"])
    return ending.join(lines) + rng.choice(["", ending])


def both_ways(data: bytes, zone: str):
    return fast_and_general(dexcom, data, format="dexcom", zone=zone, now=NOW)


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
    st.integers(min_value=2050, max_value=3000),
    st.sampled_from([0.0, 0.001, 0.01, 0.1]),
    st.sampled_from(["utf-8-sig", "utf-8", "utf-16"]),
)
def test_the_fast_path_reads_every_row_as_the_general_rules_do(zone_start, seed, rows, odd, codec):
    zone, start = zone_start
    text = clarity(random.Random(seed), zone, start, rows, odd)
    fast, general = both_ways(text.encode(codec), zone)
    assert fast == general


@pytest.mark.parametrize("zone_start", ZONES[:4])
def test_the_fast_path_reads_a_clean_export_in_batches(zone_start):
    zone, start = zone_start
    text = clarity(random.Random(7), zone, start, 6000, 0.0)
    result = parse(text.encode(), format="dexcom", timezone=zone, now=NOW)
    records = list(result.records())
    batched = sum(len(r) for r in records if type(r) is ReadingBatch)
    assert batched > 3500  # all but the look-ahead and the DST change's rows
    fast, general = both_ways(text.encode(), zone)
    assert fast == general
