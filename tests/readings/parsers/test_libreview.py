import statistics

from .helpers import FIXTURES, collect

US = FIXTURES / "libreview/cgmr__Firstname1Lastname1_glucose_mgdl_US.csv"
EU = FIXTURES / "libreview/glyco__tiny_sample_mmol_EU.csv"


def test_it_reads_a_us_export_with_title_line():
    result = collect(US, timezone="America/Los_Angeles")
    assert result.format == "libreview"
    assert result.kinds() == {"cgm": 3562, "scan": 317}
    cgm = [r.value_mg_dl for r in result.of("cgm")]
    assert round(statistics.mean(cgm), 1) == 77.8
    assert (min(cgm), max(cgm)) == (40, 223)
    kinds = [t.kind for t in result.treatments]
    assert kinds.count("carbs") == 3
    assert kinds.count("note") == 102
    assert result.errors == []
    first = result.readings[0]
    assert first.line == 3
    # 05-30-2021 04:59 PM in Los Angeles (PDT, -07:00)
    assert first.timestamp.isoformat() == "2021-05-30T23:59:00+00:00"
    assert first.device.startswith("FreeStyle LibreLink F91A8D8B")


def test_it_reads_an_eu_mmol_export_without_title_line():
    result = collect(EU, timezone="Europe/Stockholm")
    mmol = [6.3, 6.4, 6.5, 6.7, 6.9, 7.1]
    assert [r.value_mg_dl for r in result.readings] == [round(v * 18.01559) for v in mmol]
    assert result.kinds() == {"cgm": 6}
    # 05-12-2019 16:25 is 5 December (day first, 24-hour clock), CET +01:00
    assert result.readings[0].timestamp.isoformat() == "2019-12-05T15:25:00+00:00"


CHINESE = (
    "葡萄糖数据,生成时间,2024/03/20 10:00 UTC,生成者,测试\n"
    "设备,序列号,设备时间戳,记录类型,历史葡萄糖 mmol/L,扫描葡萄糖 mmol/L,非数字速效胰岛素,"
    "速效胰岛素（单位）,非数字食物,碳水化合物（克）,碳水化合物（份）,非数字长效胰岛素,"
    "长效胰岛素（单位）,备注,试纸葡萄糖 mmol/L,血酮 mmol/L,餐时胰岛素（单位）,"
    "校正胰岛素（单位）,用户更改胰岛素（单位）\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 08:00,0,5.5,,,,,,,,,,,,,,\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 08:15,0,低,,,,,,,,,,,,,,\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 08:20,1,,10.0,,,,,,,,,,,,,\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 08:25,2,,,,,,,,,,,3.9,,,,\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 08:26,3,,,,,,,,,,,,0.4,,,\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 08:30,4,,,,6,,,,,,,,,,,\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 08:31,5,,,,,,45,,,,,,,,,\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 22:00,4,,,,,,,,,18,,,,,,\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 22:05,6,,,,,,,,,,早餐,,,,,\n"
    "FreeStyle Libre 2,SN-1,2024/03/19 23:00,0,高,,,,,,,,,,,,,,\n"
)


def test_it_reads_a_simplified_chinese_mmol_export():
    result = collect(CHINESE.encode("utf-8-sig"), timezone="Asia/Shanghai")
    assert result.format == "libreview"
    assert [(r.kind, r.value_mg_dl, r.flag) for r in result.readings] == [
        ("cgm", 99, ""),
        ("cgm", 40, "low"),
        ("scan", 180, ""),
        ("smbg", 70, ""),
        ("cgm", 500, "high"),
    ]
    assert result.readings[0].timestamp.isoformat() == "2024-03-19T00:00:00+00:00"
    assert [(t.kind, t.amount, t.text) for t in result.treatments] == [
        ("insulin_rapid", 6, ""),
        ("carbs", 45, ""),
        ("insulin_long", 18, ""),
        ("note", None, "早餐"),
    ]
    assert result.errors == []


GERMAN = (
    "Glukose-Werte,Erstellt am,24-03-2024 12:12 UTC,Erstellt von,Test\n"
    "Gerät;Seriennummer;Gerätezeitstempel;Aufzeichnungstyp;Glukosewert-Verlauf mmol/L;"
    "Glukose-Scan mmol/L;Nicht numerisches schnellwirkendes Insulin;"
    "Schnellwirkendes Insulin (Einheiten);Notizen;Glukose-Teststreifen mmol/L\n"
    "FreeStyle Libre 3;X1;13.03.2024 07:00;0;5,4;;;;;\n"
    "FreeStyle Libre 3;X1;13.03.2024 07:15;0;abc;;;;;\n"
    "FreeStyle Libre 3;X1;13.03.2024 07:30;0;70,2;;;;;\n"
    "FreeStyle Libre 3;X1;13.03.2024 07:45;1;;7,1;;;;\n"
    "FreeStyle Libre 3;X1;13.03.2024 07:50;4;;;;2,5;;\n"
)


def test_it_reads_a_german_export_with_decimal_commas_and_reports_bad_rows():
    result = collect(GERMAN.encode("utf-8"), timezone="Europe/Berlin")
    assert [(r.kind, r.value_mg_dl) for r in result.readings] == [("cgm", 97), ("scan", 128)]
    assert result.readings[0].timestamp.isoformat() == "2024-03-13T06:00:00+00:00"
    assert [(e.line, e.reason) for e in result.errors] == [
        (4, "glucose value 'abc' is not a number"),
        (5, "glucose 70.2 mmol/L is impossible (> 55)"),
    ]
    assert [(t.kind, t.amount) for t in result.treatments] == [("insulin_rapid", 2.5)]
