import io
import statistics
from datetime import datetime, timedelta

from readings.parsers import ReadingBatch, parse

from .helpers import FIXTURES, collect

SUGAR = FIXTURES / "dexcom_clarity/sugar-sugar__example.csv"
CGMQUANTIFY = FIXTURES / "dexcom_clarity/cgmquantify__test_file.csv"


def test_it_reads_the_14_column_layout():
    result = collect(SUGAR, timezone="Europe/Bucharest")
    assert result.format == "dexcom"
    cgm = result.of("cgm")
    assert len(cgm) == 3913
    assert sum(r.flag == "high" for r in cgm) == 13
    assert sum(r.flag == "low" for r in cgm) == 2
    assert {r.value_mg_dl for r in cgm if r.flag == "high"} == {400}
    assert {r.value_mg_dl for r in cgm if r.flag == "low"} == {40}
    numeric = [r.value_mg_dl for r in cgm if not r.flag]
    assert len(numeric) == 3898
    assert round(statistics.mean(numeric), 1) == 175.6
    assert (min(numeric), max(numeric)) == (43, 400)
    assert len(result.of("calibration")) == 9
    kinds = [t.kind for t in result.treatments]
    assert kinds.count("insulin_rapid") == 49
    assert kinds.count("insulin_long") == 24
    assert kinds.count("carbs") == 4
    assert kinds.count("exercise") == 3
    assert result.errors == []
    assert {r.device for r in result.readings} == {"Dexcom G6 Android G6"}


def test_it_skips_alert_thresholds_and_patient_rows():
    result = collect(CGMQUANTIFY)
    assert len(result.readings) == 2148
    assert result.kinds() == {"cgm": 2148}
    assert result.errors == []
    first = result.readings[0]
    assert (first.line, first.value_mg_dl) == (13, 103)
    assert first.timestamp.isoformat() == "2016-10-24T11:24:17+00:00"


def test_it_uses_transmitter_time_in_the_repeated_dst_hour():
    result = collect(SUGAR, timezone="Europe/Bucharest")
    by_line = {r.line: r for r in result.readings}
    first, second = by_line[3516], by_line[3517]  # both 2019-10-27T03:02:18 local
    assert (first.value_mg_dl, second.value_mg_dl) == (312, 296)
    assert first.timestamp.isoformat() == "2019-10-27T00:02:18+00:00"  # EEST, +03:00
    assert second.timestamp.isoformat() == "2019-10-27T01:02:18+00:00"  # EET, +02:00
    egvs = sorted(
        (r for r in result.of("cgm") if 3505 <= r.line <= 3545), key=lambda r: r.timestamp
    )
    gaps = [b.timestamp - a.timestamp for a, b in zip(egvs, egvs[1:], strict=False)]
    assert all(timedelta(minutes=4) < gap < timedelta(minutes=6) for gap in gaps)


def test_it_reads_a_german_export_with_decimal_commas_and_day_first_dates():
    content = (
        "Index;Zeitstempel (JJJJ-MM-TTThh:mm:ss);Ereignistyp;Ereignisuntertyp;Patienteninfo;"
        "Geräteinfo;Quellgeräte-ID;Glukosewert (mmol/l);Insulinwert (IE);"
        "Kohlenhydratwert (Gramm);Dauer (hh:mm:ss);Glukose-Änderungsrate (mmol/l/min);"
        "Transmitterzeit (Long Integer);Transmitter-ID\r\n"
        "1;;Gerät;;;Dexcom G7 Mobile App;Android G7;;;;;;;\r\n"
        "2;;Alarm;Hoch;;;Android G7;13,9;;;;;;\r\n"
        "3;13.03.2024 08:00:00;EGV;;;;Android G7;5,4;;;;;1000;ABC\r\n"
        "4;13.03.2024 08:05:00;EGV;;;;Android G7;Niedrig;;;;;1300;ABC\r\n"
        "5;13.03.2024 08:10:00;EGV;;;;Android G7;Hoch;;;;;1600;ABC\r\n"
        "6;13.03.2024 08:12:00;Insulin;Langwirksam;;;Android G7;;12,5;;;;;\r\n"
    ).encode("utf-8-sig")
    result = collect(content, timezone="Europe/Berlin")
    assert result.format == "dexcom"
    assert [(r.value_mg_dl, r.flag) for r in result.readings] == [
        (97, ""),
        (40, "low"),
        (400, "high"),
    ]
    assert result.readings[0].timestamp.isoformat() == "2024-03-13T07:00:00+00:00"
    assert result.readings[0].device == "Dexcom G7 Android G7"
    assert [(t.kind, t.amount) for t in result.treatments] == [("insulin_long", 12.5)]


def test_it_gives_both_parts_of_a_split_export_one_device_identity():
    # Clarity's second file of a long export has no FirstName/Device rows: the model name
    # is unknown there, but the Source Device ID and Transmitter ID on each row are the same.
    header = (
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,"
        "Device Info,Source Device ID,Glucose Value (mg/dL),Insulin Value (u),"
        "Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),"
        "Transmitter Time (Long Integer),Transmitter ID\n"
    )
    first = header + (
        "1,,Device,,,Dexcom G6 Mobile App,Android G6,,,,,,,\n"
        "2,2019-10-14T16:42:37,EGV,,,,Android G6,120,,,,,7573,8GH86L\n"
        "3,2019-10-14T16:45:00,Insulin,Fast-Acting,,,Android G6,,2,,,,,8GH86L\n"
    )
    second = header + "1,2019-10-20T08:00:37,EGV,,,,Android G6,130,,,,,525373,8GH86L\n"
    one = collect(first.encode(), timezone="UTC")
    two = collect(second.encode(), timezone="UTC")
    keys = {r.device_key for r in one.readings + two.readings}
    keys |= {t.device_key for t in one.treatments}
    assert keys == {"dexcom:Android G6"}
    # The display name still says what the first part knew.
    assert one.readings[0].device == "Dexcom G6 Android G6"


def test_an_absurd_transmitter_time_is_ignored_not_a_crash():
    # A transmitter clock counts seconds since the transmitter started: years at most. A cell
    # of 2**60 (or 1e300) once made the whole import fail with an OverflowError; the reading
    # is good and the cell only helps place a repeated DST hour, so it is ignored.
    header = (
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,"
        "Device Info,Source Device ID,Glucose Value (mg/dL),Insulin Value (u),"
        "Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),"
        "Transmitter Time (Long Integer),Transmitter ID\n"
    )
    rows = (
        f"1,2019-10-27T02:55:00,EGV,,,,Android G6,120,,,,,{2**60},8GH86L\n"
        "2,2019-10-27T03:02:18,EGV,,,,Android G6,121,,,,,1e300,8GH86L\n"
        "3,2019-10-27T03:02:18,EGV,,,,Android G6,122,,,,,-99999999999999,8GH86L\n"
        "4,2019-10-27T03:10:00,EGV,,,,Android G6,123,,,,,7573,8GH86L\n"
    )
    result = collect((header + rows).encode(), timezone="Europe/Bucharest")
    assert [r.value_mg_dl for r in result.of("cgm")] == [120, 121, 122, 123]
    assert result.errors == []


class _Watched(io.BytesIO):
    """A file that remembers how far it has been read."""

    furthest = 0

    def read(self, size=-1):
        data = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return data

    def readinto(self, buffer):
        count = super().readinto(buffer)
        self.furthest = max(self.furthest, self.tell())
        return count


def _clarity_rows(count: int, start: str = "2024-03-01T00:00:00") -> list[str]:
    first = datetime.fromisoformat(start)
    return [
        f"{n},{(first + timedelta(minutes=5 * n)).isoformat()},EGV,,,,Android G6,"
        f"{100 + n % 50},,,,,{7200 + 300 * n},8GH86L"
        for n in range(1, count + 1)
    ]


CLARITY_HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
    "Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),"
    "Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),"
    "Transmitter ID"
)


def test_it_gives_its_first_thousand_readings_before_reading_two_thousand_rows():
    """The date order is known from the first reading ("2024-03-01T…"): no 2,000-row look-ahead
    before the first records reach an import, whose COPY waits for them (#23)."""
    rows = _clarity_rows(5000)
    source = _Watched(("\n".join([CLARITY_HEADER, *rows]) + "\n").encode())
    readings = 0
    for record in parse(source, timezone="UTC").records():
        readings += len(record) if isinstance(record, ReadingBatch) else 1
        if readings >= 1000:
            break
    assert source.furthest < len(("\n".join([CLARITY_HEADER, *rows[:1500]])).encode())


def test_it_still_looks_ahead_until_a_day_first_date_settles_the_order():
    days = [f"0{d}.03.2024 10:00" for d in range(1, 10)] + ["13.03.2024 10:00"]
    lines = [CLARITY_HEADER.replace("YYYY-MM-DDThh:mm:ss", "dd.mm.yyyy hh:mm")]
    lines += [f"{n},{day},EGV,,,,Android G6,{100 + n},,,,,," for n, day in enumerate(days, 1)]
    result = collect(("\n".join(lines) + "\n").encode(), timezone="UTC")
    assert [r.timestamp.day for r in result.readings] == [*range(1, 10), 13]
    assert {r.timestamp.month for r in result.readings} == {3}
