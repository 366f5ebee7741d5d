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


# --- issue #17 §5: CareLink's newest-first order must not change the instants ----------------

CARELINK_CURRENT = (
    "Last Name;First Name;Patient ID;System ID;Start Date;End Date;Device;MiniMed 640G\n"
    '"Test";"Patient";"";"";"30.03.2014 00:00:00";"31.03.2014 23:59:59";"Serial Number";NG1\n'
    "\n"
    "-------;MiniMed 640G;Pump;NG1;-------\n"
    "Index;Date;Time;New Device Time;BG Reading (mg/dL);Bolus Volume Delivered (U);"
    "BWZ Carb Input (grams);Sensor Glucose (mg/dL);ISIG Value;Event Marker\n"
)
# Spring-forward nights (02:00 -> 03:00 local) and each zone's standard UTC offset.
SPRING = {
    "Europe/Berlin": (datetime(2014, 3, 30), timedelta(hours=1)),
    "America/New_York": (datetime(2014, 3, 9), timedelta(hours=-5)),
    "Australia/Sydney": (datetime(2014, 10, 5), timedelta(hours=10)),
}


def _carelink_walls(night: datetime, count: int, set_after: int | None) -> list[datetime]:
    """Pump wall times every 5 minutes from 01:00 on the spring-forward night, the clock left
    on standard time (so 12 of them fall in the skipped hour), or set forward an hour after
    ``set_after`` readings."""
    walls, wall = [], night + timedelta(hours=1)
    for i in range(count):
        walls.append(wall)
        wall += timedelta(minutes=5)
        if set_after is not None and i + 1 == set_after:
            wall += timedelta(hours=1)
    return walls


def _carelink(walls: list[datetime], newest_first: bool) -> bytes:
    rows = [(wall, 100 + i) for i, wall in enumerate(walls)]  # the value names the reading
    if newest_first:
        rows.reverse()
    lines = [
        f"{n},00000;{wall:%Y/%m/%d};{wall:%H:%M:%S};;;;;{value};20,1;"
        for n, (wall, value) in enumerate(rows)
    ]
    return (CARELINK_CURRENT + "\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("zone", list(SPRING))
@pytest.mark.parametrize("set_after", [None, 60])
def test_it_reads_a_newest_first_carelink_export_as_its_oldest_first_copy(zone, set_after):
    night, standard = SPRING[zone]
    walls = _carelink_walls(night, 73, set_after)
    results = {}
    for newest_first in (False, True):
        result = collect(_carelink(walls, newest_first), timezone=zone, now=NOW)
        assert result.format == "carelink" and result.errors == []
        results[newest_first] = {r.value_mg_dl: r.timestamp for r in result.of("cgm")}
    assert results[True] == results[False]
    # Independently: the unchanged pump clock is standard time, so every reading is its wall
    # time minus the standard offset (5 minutes apart), until the owner sets the clock.
    expected = {
        100.0 + i: (
            wall - standard - (timedelta(hours=1) if set_after and i >= set_after else timedelta(0))
        ).replace(tzinfo=UTC)
        for i, wall in enumerate(walls)
    }
    assert results[True] == expected
    assert len(set(results[True].values())) == 73
