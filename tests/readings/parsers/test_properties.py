"""Property-based tests for every parser (issue #11): random and mutated files give readings
or clear row errors, never an exception.

Each parser gets PROPERTY_EXAMPLES examples (1,000 by default, the CI figure; set the
environment variable PARSER_PROPERTY_EXAMPLES lower for a quick local run). Examples are
derandomized so CI is reproducible: the same 1,000 files every run.

A file is built from a random series (a time zone, a start near a DST change, a step,
values drawn from glucose numbers, markers, status codes, junk, wrong JSON types), then
mutated (truncated, re-encoded, rows shuffled, a block duplicated, a junk line inserted).
Every outcome must be one of: ``UnreadableFile`` with a reason, or a stream of records that
satisfy the contract (plausible UTC time, value in (0, 1000] mg/dL, known kind and flag,
row errors with a line and a reason).
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readings.parsers import Reading, RowError, Treatment, UnreadableFile, parse

PROPERTY_EXAMPLES = int(os.environ.get("PARSER_PROPERTY_EXAMPLES", "1000"))
PROPERTIES = settings(
    max_examples=PROPERTY_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NOW = datetime(2025, 6, 1, tzinfo=UTC)
# Wall times just before DST changes (and zones without DST, or with a 45-minute offset).
ZONES_AND_STARTS = [
    ("America/New_York", datetime(2023, 3, 12, 0, 30)),
    ("America/New_York", datetime(2023, 11, 5, 0, 30)),
    ("Europe/Berlin", datetime(2023, 3, 26, 1, 0)),
    ("Europe/Bucharest", datetime(2019, 10, 27, 2, 30)),
    ("Australia/Sydney", datetime(2023, 4, 2, 1, 30)),
    ("Australia/Sydney", datetime(2023, 10, 1, 1, 30)),
    ("Pacific/Chatham", datetime(2023, 9, 24, 2, 0)),
    ("Asia/Shanghai", datetime(2024, 2, 10, 23, 0)),
    ("UTC", datetime(2024, 12, 31, 23, 0)),
]
KINDS = {"cgm", "smbg", "scan", "calibration"}
TREATMENT_KINDS = {"insulin_rapid", "insulin_long", "carbs", "exercise", "note"}

# Values are picked by a seeded random.Random from these pools: a handful of Hypothesis
# draws per file (zone, start, step, size, seed, mutations) keeps 1,000 examples fast.
TEXT_VALUES = ["", "High", "Low", "HI", "LO", "abc", "5,5", "1.234,5", "NaN", "inf", "-3", "0"]
ODD_JSON = [True, False, None, "120", [120], {"v": 1}, float("nan"), float("inf"), 10**30]


def number(rng: random.Random):
    """Glucose-like numbers: status codes, lows, normal, highs, beyond range, mmol/L."""
    roll = rng.random()
    if roll < 0.15:
        return rng.choice([0, 1, 5, 9, 10, 12, 39])
    if roll < 0.35:
        return round(rng.uniform(0.5, 40), 1)
    return rng.randint(13, 620)


def csv_value(rng: random.Random) -> str:
    return rng.choice(TEXT_VALUES) if rng.random() < 0.2 else str(number(rng))


def json_value(rng: random.Random):
    return rng.choice(ODD_JSON) if rng.random() < 0.2 else number(rng)


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["truncate", "shuffle", "duplicate", "junk", "encode", "blank"]),
        st.integers(min_value=0, max_value=10**6),
    ),
    max_size=3,
)


def series(draw, values) -> tuple[str, random.Random, list[tuple[datetime, object]]]:
    """A zone, a seeded generator, and up to 20 (wall time, value) pairs crossing DST."""
    zone, start = draw(st.sampled_from(ZONES_AND_STARTS))
    step = timedelta(minutes=draw(st.sampled_from([1, 5, 15, 60, 240])))
    start += timedelta(minutes=draw(st.integers(min_value=-90, max_value=90)))
    size = draw(st.integers(min_value=0, max_value=20))
    rng = random.Random(draw(st.integers(min_value=0, max_value=2**32)))
    return zone, rng, [(start + i * step, values(rng)) for i in range(size)]


def mutate(data: bytes, mutations: list[tuple[str, int]]) -> bytes:
    """Apply file-level accidents: cut short, re-encoded, rows shuffled or repeated, junk."""
    for operation, n in mutations:
        lines = data.split(b"\n")
        rng = random.Random(n)
        if operation == "truncate" and data:
            data = data[: n % len(data)]
        elif operation == "shuffle" and len(lines) > 2:
            body = lines[1:]
            rng.shuffle(body)
            data = b"\n".join([lines[0], *body])
        elif operation == "duplicate" and len(lines) > 2:
            i = 1 + n % (len(lines) - 1)
            data = b"\n".join(lines[:i] + lines[i : i + 5] + lines[i:])
        elif operation == "junk":
            i = n % (len(lines) + 1)
            data = b"\n".join([*lines[:i], b'\xff\xfe;;"unclosed,\x00,,', *lines[i:]])
        elif operation == "encode":
            text = data.decode("utf-8", errors="replace")
            encoding = ["utf-16", "utf-8-sig", "cp1252", "utf-16-le"][n % 4]
            data = text.encode(encoding, errors="replace")
        elif operation == "blank":
            data = data.replace(b"\n", b"\r\n\r\n" if n % 2 else b"\r")
    return data


def check(data: bytes, zone: str, format: str = "auto") -> None:
    """The contract: UnreadableFile with a reason, or well-formed records only."""
    try:
        result = parse(data, format=format, timezone=zone, now=NOW)
        items = list(result.items())
    except UnreadableFile as exc:
        assert str(exc).strip()
        return
    earliest = datetime(1970, 1, 1, tzinfo=UTC)
    for item in items:
        if isinstance(item, RowError):
            assert item.line >= 1 and isinstance(item.reason, str) and item.reason.strip()
            continue
        assert isinstance(item, Reading | Treatment), item
        assert item.line >= 1
        assert item.timestamp.utcoffset() == timedelta(0)
        assert earliest <= item.timestamp <= NOW + timedelta(hours=1)
        if isinstance(item, Reading):
            assert item.kind in KINDS
            assert 0 < item.value_mg_dl <= 1000
            assert item.flag in ("", "low", "high")
            if result.format in ("dexcom", "nightscout") and item.kind == "cgm":
                # A status code (0..12 mg/dL) is never unflagged glucose.
                assert item.value_mg_dl >= 13 or item.flag == "low"
        else:
            assert item.kind in TREATMENT_KINDS
    assert all(isinstance(w, str) for w in result.warnings)


# --- CSV formats -------------------------------------------------------------------------


@st.composite
def dexcom_files(draw):
    zone, rng, rows = series(draw, csv_value)
    unit = rng.choice(["mg/dL", "mmol/L"])
    lines = [
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,"
        f"Device Info,Source Device ID,Glucose Value ({unit}),Insulin Value (u),"
        "Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),"
        "Transmitter Time (Long Integer),Transmitter ID",
        "1,,Device,,,Dexcom G6 Mobile App,Android G6,,,,,,,",
    ]
    events = ["EGV", "EGV", "EGV", "Calibration", "Insulin", "Carbs", "Alert", "Exercise"]
    for i, (wall, value) in enumerate(rows):
        event = events[i % len(events)] if rng.random() < 0.5 else "EGV"
        lines.append(
            f"{i + 2},{wall:%Y-%m-%dT%H:%M:%S},{event},Fast-Acting,,,Android G6,{value},"
            f"{value},{value},00:20:00,,{7000 + 300 * i},8GH86L"
        )
    return zone, "\r\n".join(lines).encode("utf-8-sig"), draw(MUTATIONS)


@st.composite
def libreview_files(draw):
    zone, rng, rows = series(draw, csv_value)
    unit = rng.choice(["mg/dL", "mmol/L"])
    us = rng.random() < 0.5
    lines = [
        "Glucose Data,Generated on,07-20-2021 02:05 PM UTC,Generated by,Test",
        f"Device,Serial Number,Device Timestamp,Record Type,Historic Glucose {unit},"
        f"Scan Glucose {unit},Non-numeric Rapid-Acting Insulin,Rapid-Acting Insulin (units),"
        f"Non-numeric Food,Carbohydrates (grams),Notes,Strip Glucose {unit}",
    ]
    for i, (wall, value) in enumerate(rows):
        record = rng.choice([0, 0, 0, 1, 2, 4, 5, 6, 3, "x"])
        stamp = wall.strftime("%m-%d-%Y %I:%M %p" if us else "%d-%m-%Y %H:%M")
        lines.append(
            f"FreeStyle Libre 3,ABC-{i % 2},{stamp},{record},{value},{value},,{value},,"
            f"{value},note,{value}"
        )
    return zone, "\n".join(lines).encode(), draw(MUTATIONS)


@st.composite
def carelink_files(draw):
    zone, rng, rows = series(draw, csv_value)
    if rng.random() < 0.5:  # legacy US layout, chronological, M/D/YY
        lines = [
            "Medtronic Diabetes CareLink Personal Data Export File (v1.0.1) ",
            "PATIENT INFO",
            "Pump:,Paradigm Revel - 723,#222222,",
            "Data Exported on,4/12/24 8:21 PM",
            "Index,Date,Time,Timestamp,New Device Time,BG Reading (mg/dL),"
            "Bolus Volume Delivered (U),BWZ Carb Input (grams),Event Marker,"
            "Sensor Calibration BG (mg/dL),Sensor Glucose (mg/dL),ISIG Value,Raw-Type",
        ]
        for i, (wall, value) in enumerate(rows):
            stamp = f"{wall.month}/{wall.day}/{wall:%y}"
            lines.append(
                f"{i + 1},{stamp},{wall:%H:%M:%S},{stamp} {wall:%H:%M:%S},,{value},,,"
                f",,{value},20.1,GlucoseSensorData"
            )
        return zone, "\n".join(lines).encode(), draw(MUTATIONS)
    lines = [
        "Last Name;First Name;Patient ID;Start Date;End Date;Device;Guardian Connect",
        "-------;Guardian Connect;Sensor;GCZ7PA;-------",
        "Index;Date;Time;New Device Time;BG Reading (mg/dL);Bolus Volume Delivered (U);"
        "BWZ Carb Input (grams);Event Marker;Sensor Glucose (mg/dL);ISIG Value",
    ]
    for i, (wall, value) in reversed(list(enumerate(rows))):
        marker = rng.choice(["", "Meal: 45,00grams", "Insulin: 2,00", "Meal: x"])
        lines.append(
            f"{i},00;{wall:%Y/%m/%d};{wall:%H:%M:%S};;;{value};{value};{marker};{value};20,1"
        )
    return zone, "\r\n".join(lines).encode(), draw(MUTATIONS)


@st.composite
def plain_csv_files(draw):
    zone, rng, rows = series(draw, csv_value)
    lines = ["timestamp,value,unit,kind,device,meal_tag"]
    for wall, value in rows:
        stamp = rng.choice(
            [
                wall.isoformat(),
                wall.isoformat() + "Z",
                str(int(wall.replace(tzinfo=UTC).timestamp() * 1000)),
                "0001-01-01T00:00:00",
                "9999-12-31T23:59:59",
                "1e20",
            ]
        )
        unit = rng.choice(["mg/dL", "mmol/L", "mg/dl", "kg"])
        kind = rng.choice(["cgm", "smbg", "", "control", "other"])
        tag = rng.choice(["", "fasting", "brunch"])
        lines.append(f"{stamp},{value},{unit},{kind},Meter,{tag}")
    return zone, "\n".join(lines).encode(), draw(MUTATIONS)


# --- JSON formats ------------------------------------------------------------------------

JSON_TIMES = ["ms", "ms", "string", "bool", "huge", "negative", "text", "naive"]


def _epoch(wall: datetime, form: str):
    ms = int(wall.replace(tzinfo=UTC).timestamp() * 1000)
    return {
        "ms": ms,
        "string": str(ms),
        "bool": True,
        "huge": 1e20,
        "negative": -ms,
        "text": "yesterday",
        "naive": wall.isoformat(),
    }[form]


@st.composite
def nightscout_files(draw):
    zone, rng, rows = series(draw, json_value)
    entries = []
    for wall, value in rows:
        kind = rng.choice(["sgv", "sgv", "mbg", "cal", None])
        form = rng.choice(JSON_TIMES)
        entry = {"type": kind, kind or "sgv": value, "device": "xDrip-DexcomG6"}
        if form == "naive":
            entry["dateString"] = wall.isoformat()
        else:
            entry["date"] = _epoch(wall, form)
        entries.append(entry)
    shape = rng.choice(["array", "array", "object", "scalar"])
    doc = entries if shape == "array" else entries[0] if entries and shape == "object" else 5
    return zone, json.dumps(doc).encode(), draw(MUTATIONS)


@st.composite
def tidepool_files(draw):
    zone, rng, rows = series(draw, json_value)
    records = []
    for wall, value in rows:
        kind = rng.choice(["cbg", "smbg", "bolus", "wizard", "food", "basal"])
        when = rng.choice([wall.isoformat() + "Z", wall.isoformat(), 5, None])
        records.append(
            {
                "type": kind,
                "time": when,
                "value": value,
                "units": rng.choice(["mg/dL", "mmol/L", ["mg/dL"], None]),
                "normal": value,
                "carbInput": value,
                "nutrition": {"carbohydrate": {"net": value}},
                "annotations": rng.choice([[], 7, [{"code": "bg/out-of-range"}]]),
            }
        )
    return zone, json.dumps(records).encode(), draw(MUTATIONS)


@st.composite
def fhir_files(draw):
    zone, rng, rows = series(draw, json_value)
    entries = []
    for wall, value in rows:
        code = rng.choice(["99504-3", "14745-4", "41653-7", "2339-0", "9059-7", "x"])
        resource = {
            "resourceType": "Observation",
            "status": rng.choice(["final", "entered-in-error"]),
            "code": rng.choice([{"coding": [{"code": code}]}, {"coding": 5}, [code], None]),
            "effectiveDateTime": rng.choice(
                [wall.isoformat(), wall.isoformat() + "+05:45", 12, None]
            ),
            "valueQuantity": {
                "value": value,
                "unit": rng.choice(["mmol/L", "mg/dL", "%", None]),
            },
            "device": rng.choice([{"display": "t:slim X2"}, "x", None]),
        }
        entries.append({"resource": resource})
    doc = {"resourceType": "Bundle", "entry": entries}
    if rng.random() < 0.5:
        doc = [e["resource"] for e in entries]
    return zone, json.dumps(doc).encode(), draw(MUTATIONS)


@PROPERTIES
@given(dexcom_files())
def test_it_never_raises_on_dexcom_files(case):
    zone, data, mutations = case
    check(mutate(data, mutations), zone)


@PROPERTIES
@given(libreview_files())
def test_it_never_raises_on_libreview_files(case):
    zone, data, mutations = case
    check(mutate(data, mutations), zone)


@PROPERTIES
@given(carelink_files())
def test_it_never_raises_on_carelink_files(case):
    zone, data, mutations = case
    check(mutate(data, mutations), zone)


@PROPERTIES
@given(plain_csv_files())
def test_it_never_raises_on_plain_csv_files(case):
    zone, data, mutations = case
    check(mutate(data, mutations), zone)


@PROPERTIES
@given(nightscout_files())
def test_it_never_raises_on_nightscout_files(case):
    zone, data, mutations = case
    check(mutate(data, mutations), zone)
    check(data, zone, format="nightscout")


@PROPERTIES
@given(tidepool_files())
def test_it_never_raises_on_tidepool_files(case):
    zone, data, mutations = case
    check(mutate(data, mutations), zone)
    check(data, zone, format="tidepool")


@PROPERTIES
@given(fhir_files())
def test_it_never_raises_on_fhir_files(case):
    zone, data, mutations = case
    check(mutate(data, mutations), zone)
    check(data, zone, format="fhir")
