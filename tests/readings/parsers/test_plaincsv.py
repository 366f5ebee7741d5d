import io
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from readings.parsers import UnreadableFile, parse

from .helpers import collect


def test_it_reads_offsets_local_times_and_epoch_ms():
    content = (
        "timestamp,value,unit,kind,device,meal_tag\n"
        "2024-03-01T07:02:00+01:00,5.4,mmol/L,smbg,Contour,fasting\n"
        "2024-03-01 08:00,98,mg/dL,,,\n"
        "1709280000000,LO,mg/dL,cgm,G7,\n"
        "2024-03-01T09:00:00Z,High,mg/dL,cgm,G7,\n"
        "2024-03-01T09:05:00Z,101,mg/dL,control,,\n"
    )
    result = collect(content.encode(), timezone="Europe/Paris")
    assert result.format == "csv"
    assert [(r.line, r.kind, r.value_mg_dl, r.flag, r.meal_tag) for r in result.readings] == [
        (2, "smbg", 97, "", "fasting"),
        (3, "cgm", 98, "", ""),
        (4, "cgm", 40, "low", ""),
        (5, "cgm", 400, "high", ""),
    ]
    assert result.readings[1].timestamp.isoformat() == "2024-03-01T07:00:00+00:00"
    assert result.readings[2].timestamp == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert result.warnings == ["1 control-solution tests ignored"]


def test_it_reports_bad_rows_by_line_and_keeps_good_rows():
    content = (
        "timestamp,value,unit\n"
        "2024-03-01T08:00:00Z,120,mg/dL\n"
        "2024-03-01T08:05:00Z,abc,mg/dL\n"
        "not a date,120,mg/dL\n"
        "2024-03-01T08:15:00Z,1200,mg/dL\n"
        "2024-03-01T08:20:00Z,0,mg/dL\n"
        "2024-03-01T08:25:00Z,60,mmol/L\n"
        "2024-03-01T08:30:00Z,120,mg%\n"
        "\n"
        "2024-03-01T08:35:00Z,125,mg/dL\n"
    )
    result = collect(content.encode())
    assert [r.line for r in result.readings] == [2, 10]
    assert [(e.line, e.reason) for e in result.errors] == [
        (3, "glucose value 'abc' is not a number"),
        (4, "timestamp 'not a date' is not ISO 8601 or epoch milliseconds"),
        (5, "glucose 1200 mg/dL is impossible (> 1000)"),
        (6, "glucose 0 mg/dL is impossible (<= 0)"),
        (7, "glucose 60 mmol/L is impossible (> 55)"),
        (8, "unit 'mg%' is not mg/dL or mmol/L"),
    ]


def _rows(values, unit):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lines = ["timestamp,value,unit"]
    for i, value in enumerate(values):
        lines.append(f"{(start + timedelta(minutes=5 * i)).isoformat()},{value},{unit}")
    return ("\n".join(lines) + "\n").encode()


def test_it_rejects_mg_dl_values_labelled_mmol():
    with pytest.raises(UnreadableFile, match="probable unit mix-up"):
        parse(_rows([120 + i % 40 for i in range(200)], "mmol/L"))


def test_it_rejects_mmol_values_labelled_mg_dl():
    with pytest.raises(UnreadableFile, match="probable unit mix-up"):
        parse(_rows([5.4, 7.1, 6.2, 8.0] * 30, "mg/dL"))


def test_it_accepts_a_few_odd_values_without_calling_it_a_mix_up():
    result = collect(_rows([5.4] * 10 + [120] * 60, "mg/dL"))
    assert len(result.readings) == 60  # 5.4 mg/dL is no CGM reading (issue #17): row errors
    assert len(result.errors) == 10 and "below any CGM" in result.errors[0].reason


def test_it_streams_two_years_of_readings_in_bounded_memory(tmp_path):
    path = tmp_path / "two_years.csv"
    start = datetime(2022, 1, 1, tzinfo=UTC)
    count = 2 * 365 * 96  # two years of 15-minute (Libre-style) readings
    with path.open("w") as out:
        out.write("timestamp,value,unit,kind,device\n")
        for i in range(count):
            stamp = int((start + timedelta(minutes=15 * i)).timestamp() * 1000)
            out.write(f"{stamp},{80 + i % 120},mg/dL,cgm,Dexcom G7\n")
    size = path.stat().st_size
    # Warm up first: the first parse in a process compiles and caches (patterns, lazy
    # imports), about 80 KB that a file of any size costs once; the bound is on what the
    # file's length costs. (That one-time cost once put the peak 300 bytes over the bound.)
    with path.open("rb") as stream:
        for _, _ in zip(range(3000), parse(stream).items(), strict=False):
            pass
    tracemalloc.start()
    try:
        seen = 0
        with path.open("rb") as stream:
            for _ in parse(stream).items():
                seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert size > 2_500_000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


def test_it_parses_text_from_an_in_memory_stream():
    result = collect(io.BytesIO(_rows([100, 110], "mg/dL")))
    assert [r.value_mg_dl for r in result.readings] == [100, 110]
