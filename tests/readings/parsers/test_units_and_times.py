import ast
from datetime import datetime
from pathlib import Path

import pytest

import readings.parsers
from readings.parsers._times import DateOrder, LocalClock, parse_wall_time
from readings.parsers._units import MG_DL_PER_MMOL_L, mmol_to_mg_dl, parse_number


def test_it_imports_no_django():
    folder = Path(readings.parsers.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "django" for n in names), path.name


def test_it_uses_the_nightscout_tidepool_factor():
    assert MG_DL_PER_MMOL_L == 18.01559


@pytest.mark.parametrize(
    "mmol, mg_dl, band",
    [
        (2.9, 52, "very low"),
        (3.0, 54, "low"),
        (3.8, 68, "low"),
        (3.9, 70, "in range"),
        (10.0, 180, "in range"),
        (10.1, 182, "high"),
        (13.9, 250, "high"),
        (14.0, 252, "very high"),
    ],
)
def test_it_converts_mmol_band_edges_into_the_same_mg_dl_band(mmol, mg_dl, band):
    value = mmol_to_mg_dl(mmol)
    assert value == mg_dl
    # DESIGN.md §5 bands, written out independently of the code under test.
    expected = (
        "very low"
        if value < 54
        else "low"
        if value < 70
        else "in range"
        if value <= 180
        else "high"
        if value <= 250
        else "very high"
    )
    assert expected == band


def test_it_parses_decimal_commas_and_thousands():
    assert parse_number("5,4") == 5.4
    assert parse_number("2746,00000") == 2746.0
    assert parse_number("1.234,5") == 1234.5
    assert parse_number("1,234.5") == 1234.5
    with pytest.raises(ValueError, match="'abc' is not a number"):
        parse_number("abc")


def test_it_learns_day_first_and_month_first_dates():
    order = DateOrder()
    for text in ("05-12-2019 16:25", "13-12-2019 08:00"):
        order.feed(text)
    assert order.resolved() == "dmy"
    order = DateOrder()
    order.feed("05-30-2021 04:59 PM")
    assert order.resolved() == "mdy"
    ambiguous = DateOrder()
    ambiguous.feed("05-06-2021 04:59 PM")
    assert ambiguous.resolved() == "mdy"  # 12-hour clock: US form
    assert parse_wall_time("2021年7月20日 下午2:05", "ymd") == datetime(2021, 7, 20, 14, 5)
    assert parse_wall_time("4/11/15 13:59:37", "mdy") == datetime(2015, 4, 11, 13, 59, 37)


def test_it_reads_a_dst_gap_with_the_offset_before_the_change():
    clock = LocalClock("Europe/Bucharest")
    # 2024-03-31 03:30 never happened in Bucharest (03:00 EET -> 04:00 EEST).
    instant = clock.to_utc(datetime(2024, 3, 31, 3, 30))
    assert instant.isoformat() == "2024-03-31T01:30:00+00:00"  # read as +02:00


def test_it_maps_the_second_pass_of_a_repeated_hour_to_the_later_instant():
    clock = LocalClock("Europe/Bucharest")
    walls = ["02:50", "03:10", "03:50", "03:10", "03:50", "04:10"]
    instants = [clock.to_utc(datetime.fromisoformat(f"2019-10-27T{w}")) for w in walls]
    assert instants == sorted(instants)
    assert len(set(instants)) == len(instants)


def test_it_mirrors_the_repeat_rule_for_newest_first_files():
    clock = LocalClock("Europe/Bucharest")
    walls = ["05:00", "04:40", "04:10", "03:50", "03:10", "03:50", "03:10", "02:50"]
    instants = [clock.to_utc(datetime.fromisoformat(f"2019-10-27T{w}")) for w in walls]
    assert instants == sorted(instants, reverse=True)
    assert len(set(instants)) == len(instants)


def test_it_does_not_remember_free_text_cells_across_files():
    from readings.parsers import dexcom
    from readings.parsers._text import _role_finder, match_columns

    match_columns(["Zelda Fitzgerald", "2024-01-01", "Glucose Value (mg/dL)"], dexcom.COLUMNS)
    finder = _role_finder(tuple(dexcom.COLUMNS))
    memo = finder.__closure__[finder.__code__.co_freevars.index("memo")].cell_contents
    assert "zelda fitzgerald" not in memo  # a patient's name must not outlive the upload
    assert "2024-01-01" in memo  # letter-free cells are remembered (they dominate data rows)
