"""Formats and languages added for issue #11 item 15: LibreView in more languages (alias
data files, no code), the FreeStyle Libre desktop software's tab-separated export, and
``.xlsx`` workbooks from Clarity and LibreView. All files are synthetic."""

import io
import json
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook

from readings.parsers._text import ALIASES_DIR, alias_table, load_aliases

from .helpers import collect

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "header, low",
    [
        # Traditional Chinese
        ("裝置,序號,裝置時間戳記,記錄類型,歷史葡萄糖 mg/dL,掃描葡萄糖 mg/dL,備註", "低"),
        # Japanese
        (
            "デバイス,シリアル番号,デバイスのタイムスタンプ,記録タイプ,履歴グルコース mg/dL,"
            "スキャングルコース mg/dL,メモ",
            "LO",
        ),
        # Korean
        (
            "장치,일련 번호,장치 타임스탬프,기록 유형,과거 포도당 mg/dL,스캔 포도당 mg/dL,메모",
            "낮음",
        ),
        # Swedish
        (
            "Enhet,Serienummer,Enhetens tidsstämpel,Posttyp,Historiskt glukos mg/dL,"
            "Skannat glukos mg/dL,Anteckningar",
            "LO",
        ),
        # Polish
        (
            "Urządzenie,Numer seryjny,Znacznik czasu urządzenia,Typ rekordu,"
            "Historyczne stężenie glukozy mg/dL,Skan glukozy mg/dL,Notatki",
            "LO",
        ),
    ],
)
def test_it_reads_libreview_headers_in_more_languages(header, low):
    rows = (
        "FreeStyle Libre 2,SN-1,2024/01/02 08:00,0,120,,\n"
        "FreeStyle Libre 2,SN-1,2024/01/02 08:15,0," + low + ",,\n"
        "FreeStyle Libre 2,SN-1,2024/01/02 08:20,1,,131,\n"
    )
    result = collect((header + "\n" + rows).encode(), timezone="Asia/Taipei", now=NOW)
    assert result.format == "libreview"
    assert [(r.kind, r.value_mg_dl, r.flag) for r in result.readings] == [
        ("cgm", 120, ""),
        ("cgm", 40, "low"),
        ("scan", 131, ""),
    ]
    assert result.readings[0].timestamp.isoformat() == "2024-01-02T00:00:00+00:00"
    assert {r.device_key for r in result.readings} == {"libre:SN-1"}


def test_alias_tables_are_data_files_that_a_new_language_extends():
    for name in ("libreview", "dexcom", "carelink", "markers"):
        doc = json.loads((ALIASES_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert doc["_comment"]
    # A word added to the data (here in memory) is matched after folding, with no code.
    columns = load_aliases("libreview")["columns"]
    columns["record_type"].append("Typ Záznamu Nový")
    table = dict(alias_table(columns))
    assert "typ zaznamu novy" in table["record_type"]


def test_it_reads_the_freestyle_libre_desktop_software_tab_separated_export():
    text = (
        "Test Patient\n"
        "ID\tTime\tRecord Type\tHistoric Glucose (mg/dL)\tScan Glucose (mg/dL)\t"
        "Non-numeric Rapid-Acting Insulin\tRapid-Acting Insulin (units)\tNon-numeric Food\t"
        "Carbohydrates (grams)\tNon-numeric Long-Acting Insulin\tLong-Acting Insulin (units)\t"
        "Notes\tStrip Glucose (mg/dL)\tKetone (mmol/L)\tMeal Insulin (units)\t"
        "Correction Insulin (units)\tUser Change Insulin (units)\tPrevious Time\tUpdated Time\n"
        "101\t2016/04/21 11:09\t0\t109\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n"
        "102\t2016/04/21 11:24\t0\tHI\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n"
        "103\t2016/04/21 11:30\t1\t\t121\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n"
        "104\t2016/04/21 11:31\t4\t\t\t\t3.5\t\t\t\t\t\t\t\t\t\t\t\t\n"
        "105\t2016/04/21 11:32\t6\t\t\t\t\t\t\t\t\tSnack\t\t\t\t\t\t\t\n"
    )
    result = collect(text.encode("utf-8"), timezone="UTC", now=NOW)
    assert result.format == "libreview"
    assert [(r.kind, r.value_mg_dl, r.flag) for r in result.readings] == [
        ("cgm", 109, ""),
        ("cgm", 500, "high"),
        ("scan", 121, ""),
    ]
    assert result.readings[0].timestamp.isoformat() == "2016-04-21T11:09:00+00:00"
    assert [(t.kind, t.amount, t.text) for t in result.treatments] == [
        ("insulin_rapid", 3.5, ""),
        ("note", None, "Snack"),
    ]


def _workbook(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_it_streams_a_dexcom_clarity_workbook():
    header = [
        "Index",
        "Timestamp (YYYY-MM-DDThh:mm:ss)",
        "Event Type",
        "Event Subtype",
        "Patient Info",
        "Device Info",
        "Source Device ID",
        "Glucose Value (mg/dL)",
    ]
    rows = [header, [1, None, "Device", None, None, "Dexcom G7 Mobile App", "iPhone G7", None]]
    rows += [
        [i + 2, datetime(2024, 1, 2, 8, 5 * i), "EGV", None, None, None, "iPhone G7", v]
        for i, v in enumerate([120, 125.0, "High", 9])
    ]
    result = collect(_workbook(rows), timezone="UTC", now=NOW)
    assert result.format == "dexcom"
    assert [(r.value_mg_dl, r.flag) for r in result.readings] == [
        (120, ""),
        (125, ""),
        (400, "high"),
    ]
    assert [e.line for e in result.errors] == [6]  # status code 9
    assert result.readings[1].timestamp.isoformat() == "2024-01-02T08:05:00+00:00"


def test_it_streams_a_libreview_workbook_with_a_title_row():
    rows = [
        ["Glucose Data", "Generated on", "01-03-2024 02:05 PM UTC", "Generated by", "Test"],
        ["Device", "Serial Number", "Device Timestamp", "Record Type", "Historic Glucose mmol/L"],
        ["FreeStyle Libre 3", "SN-9", "02-01-2024 08:00", 0, 6.5],
        ["FreeStyle Libre 3", "SN-9", "13-01-2024 08:15", 0, "LO"],
    ]
    result = collect(_workbook(rows), timezone="UTC", now=NOW)
    assert result.format == "libreview"
    assert [(r.value_mg_dl, r.flag) for r in result.readings] == [(117, ""), (40, "low")]
    assert result.readings[0].timestamp.isoformat() == "2024-01-02T08:00:00+00:00"


def test_it_refuses_a_zip_that_is_not_a_workbook():
    from readings.parsers import UnreadableFile

    with pytest.raises(UnreadableFile, match="xlsx"):
        collect(b"PK\x03\x04" + b"\x00" * 100)
