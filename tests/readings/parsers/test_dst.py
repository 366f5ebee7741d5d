"""Local wall-clock time across DST changes (issue #11 items 5 and 6)."""

from datetime import UTC, datetime, timedelta

import pytest

from .helpers import collect

NOW = datetime(2025, 1, 1, tzinfo=UTC)
LIBRE_HEADER = (
    "Device,Serial Number,Device Timestamp,Record Type,Historic Glucose mg/dL,Scan Glucose mg/dL\n"
)
# America/New_York falls back on 2023-11-05: 01:00-01:59 happens at -04:00, then at -05:00.
FIRST_PASS = ["01:06", "01:21", "01:36", "01:51"]


def _libre(walls: list[str]) -> bytes:
    rows = "".join(
        f"FreeStyle LibreLink,ABC,11-05-2023 {w} AM,0,{100 + i},\n" for i, w in enumerate(walls)
    )
    return (LIBRE_HEADER + rows).encode()


def _expected_instants() -> list[str]:
    # 00:51 EDT (04:51Z), then every 15 min through 02:06 EST (07:06Z): 10 distinct instants.
    start = datetime(2023, 11, 5, 4, 51, tzinfo=UTC)
    return [(start + timedelta(minutes=15 * i)).isoformat() for i in range(10)]


def test_it_keeps_both_passes_of_a_repeated_hour_listed_interleaved():
    walls = ["12:51"] + [w for wall in FIRST_PASS for w in (wall, wall)] + ["02:06"]
    result = collect(_libre(walls), timezone="America/New_York", now=NOW)
    stamps = sorted(r.timestamp.isoformat() for r in result.readings)
    assert stamps == _expected_instants()
    # Each wall time's first listing is the first (EDT) pass, the second the EST pass.
    by_line = {r.line: r.timestamp for r in result.readings}
    assert by_line[3].isoformat() == "2023-11-05T05:06:00+00:00"
    assert by_line[4].isoformat() == "2023-11-05T06:06:00+00:00"


def test_it_still_reads_a_repeated_hour_listed_pass_after_pass():
    walls = ["12:51", *FIRST_PASS, *FIRST_PASS, "02:06"]
    result = collect(_libre(walls), timezone="America/New_York", now=NOW)
    assert [r.timestamp.isoformat() for r in result.readings] == _expected_instants()


LEGACY = (
    "Medtronic Diabetes CareLink Personal Data Export File (v1.0.1) \n"
    "PATIENT INFO\n"
    "Name,Test Patient\n"
    "DEVICE INFO\n"
    "Pump:,Paradigm Revel - 723,#222222,\n"
    "Data Exported on,3/20/14 8:21 PM\n"
    "Index,Date,Time,Timestamp,New Device Time,BG Reading (mg/dL),Bolus Volume Delivered (U),"
    "BWZ Carb Input (grams),Sensor Glucose (mg/dL),ISIG Value,Raw-Type\n"
)


def _legacy_rows(start: datetime, count: int, *, jump_after: int | None = None) -> str:
    rows, wall = [], start
    for i in range(count):
        rows.append(
            f"{i + 1},{wall:%-m/%-d/%y},{wall:%H:%M:%S},{wall:%-m/%-d/%y %H:%M:%S},,,,,"
            f"{100 + i % 50},20.1,GlucoseSensorData\n"
        )
        wall += timedelta(minutes=5)
        if jump_after is not None and i + 1 == jump_after:
            wall += timedelta(hours=1)  # the owner sets the pump clock to summer time
    return "".join(rows)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Australia/Sydney"])
def test_it_reads_a_pump_clock_that_did_not_spring_forward_without_collisions(zone):
    # A pump keeps standard time across the spring-forward night: 72 readings every 5 min
    # from 01:00, so 12 of them fall in the skipped hour. None may collide or be lost.
    transition = {
        "America/New_York": datetime(2014, 3, 9, 1, 0),
        "Europe/Berlin": datetime(2014, 3, 30, 1, 0),
        "Australia/Sydney": datetime(2014, 10, 5, 1, 0),
    }[zone]
    data = (LEGACY + _legacy_rows(transition, 72)).encode()
    result = collect(data, timezone=zone, now=NOW)
    instants = [r.timestamp for r in result.of("cgm")]
    assert len(instants) == 72 and result.errors == []
    assert {b - a for a, b in zip(instants, instants[1:], strict=False)} == {timedelta(minutes=5)}


def test_it_follows_the_pump_clock_once_its_owner_sets_it():
    # Standard time until 10:00 (after 108 readings), then the clock is set an hour forward.
    data = (LEGACY + _legacy_rows(datetime(2014, 3, 9, 1, 0), 120, jump_after=108)).encode()
    result = collect(data, timezone="America/New_York", now=NOW)
    instants = [r.timestamp for r in result.of("cgm")]
    assert len(set(instants)) == 120
    assert {b - a for a, b in zip(instants, instants[1:], strict=False)} == {timedelta(minutes=5)}
    # The last reading: 11:55 summer time (-04:00) on the corrected clock = 15:55Z.
    assert instants[-1].isoformat() == "2014-03-09T15:55:00+00:00"
