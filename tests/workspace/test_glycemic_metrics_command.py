"""``manage.py glycemic_metrics``: a real Dexcom Clarity export against R iglu's numbers."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from readings.parsers import parse
from readings.services import readings_ingest
from tests.conftest import make_patient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLARITY = FIXTURES / "devices" / "dexcom_clarity" / "cgmquantify__test_file.csv"
IGLU = FIXTURES / "reference_metrics" / "cgmquantify__test_file.iglu_expected_metrics.json"

DESIGN_KEYS = {
    "readings",
    "days",
    "active_percent",
    "mean_mg_dl",
    "sd_mg_dl",
    "cv_percent",
    "gmi_percent",
    "very_low_percent",
    "low_percent",
    "in_range_percent",
    "high_percent",
    "very_high_percent",
    "tight_range_percent",
    "gri",
    "gri_zone",
    "lbgi",
    "hbgi",
    "mage",
    "hypo_events",
    "hyper_events",
    "agp",
}

# our key -> (iglu key, decimals the command prints)
IGLU_KEYS = {
    "mean_mg_dl": ("mean", 1),
    "sd_mg_dl": ("sd", 1),
    "cv_percent": ("cv", 2),
    "gmi_percent": ("gmi", 2),
    "very_low_percent": ("band_very_low_lt54", 2),
    "low_percent": ("band_low_54_70", 2),
    "in_range_percent": ("band_in_range_70_180", 2),
    "high_percent": ("band_high_180_250", 2),
    "very_high_percent": ("band_very_high_gt250", 2),
    "tight_range_percent": ("in_range_70_140", 2),
    "gri": ("gri", 2),
    "lbgi": ("lbgi", 2),
    "hbgi": ("hbgi", 2),
    "mage": ("mage", 1),
}


@pytest.fixture
def dexcom_patient(db):
    """The Clarity file's wall clock has no zone: a UTC patient keeps its local days (iglu's)."""
    patient = make_patient("DEX1", timezone="UTC")
    with transaction.atomic():
        result = readings_ingest(patient=patient, items=parse(CLARITY, timezone="UTC").items())
    assert result.accepted >= 2148 and not result.rejected
    return patient


def run(*args) -> str:
    out = io.StringIO()
    call_command("glycemic_metrics", *args, stdout=out)
    return out.getvalue()


def iglu():
    doc = json.loads(IGLU.read_text())
    return doc["subjects"]["cgmquantify_test_file"], doc["metric_definitions"]


def test_it_matches_iglu_on_a_real_dexcom_export(dexcom_patient):
    output = run("--patient", "DEX1", "--start", "2016-10-24", "--end", "2016-11-01", "--json")
    metrics = json.loads(output)  # exactly one JSON object
    expected, definitions = iglu()
    assert DESIGN_KEYS <= set(metrics)
    assert metrics["kind"] == "cgm"
    assert (metrics["start"], metrics["end"], metrics["days"]) == ("2016-10-24", "2016-11-01", 9)
    assert metrics["readings"] == expected["n_readings"] == 2148
    assert metrics["gri_zone"] == expected["gri_zone"] == "A"
    for ours, (theirs, decimals) in IGLU_KEYS.items():
        # iglu's value rounded as the command prints it: at most half a printed unit away,
        # plus iglu's strict tolerance.
        strict = definitions[theirs]["tolerance"]["strict"]
        limit = 0.5 * 10**-decimals + strict["abs"] + strict["rel"] * abs(expected[theirs])
        assert abs(metrics[ours] - expected[theirs]) <= limit, (ours, metrics[ours])


def test_it_reports_active_percent_over_whole_local_days(dexcom_patient):
    metrics = json.loads(
        run("--patient", "DEX1", "--start", "2016-10-24", "--end", "2016-11-01", "--json")
    )
    # DESIGN §5: readings present / readings expected at 5 minutes over 9 whole days (2592).
    # iglu's 94.21 % covers only first-to-last reading (7.9 days), so it is not comparable.
    assert metrics["interval_minutes"] == 5
    assert abs(metrics["active_percent"] - 100 * 2148 / 2592) <= 0.1
    assert metrics["sufficient"] is False  # 9 days < 14


def test_it_defaults_to_the_last_14_days_of_data(dexcom_patient):
    metrics = json.loads(run("--patient", "DEX1", "--json"))
    assert (metrics["start"], metrics["end"], metrics["days"]) == ("2016-10-19", "2016-11-01", 14)
    assert metrics["readings"] == 2148


def test_it_evaluates_the_standard_goals(dexcom_patient):
    metrics = json.loads(run("--patient", "DEX1", "--json"))
    goals = {goal["key"]: goal["met"] for goal in metrics["goals"]}
    # iglu: TIR 93.99 > 70, < 70 1.63 < 4, < 54 0.37 < 1, > 180 4.38 < 25, CV 25.74 <= 36.
    assert goals == {
        "in_range_percent": True,
        "below_70_percent": True,
        "very_low_percent": True,
        "above_180_percent": True,
        "very_high_percent": True,
        "cv_percent": True,
    }


def test_it_prints_a_readable_summary(dexcom_patient):
    output = run("--patient", "DEX1", "--start", "2016-10-24", "--end", "2016-11-01")
    assert "Patient DEX1 (DEX1), 2016-10-24 to 2016-11-01, CGM" in output
    assert "In range (70-180)      93.99 %" in output
    assert "GRI zone               A" in output


def test_it_refuses_an_unknown_mrn(db):
    with pytest.raises(CommandError, match="No patient"):
        run("--patient", "NOPE", "--json")


def test_it_refuses_a_bad_date(dexcom_patient):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("--patient", "DEX1", "--start", "2016-13-01")


def test_it_has_help():
    from workspace.management.commands.glycemic_metrics import Command

    text = Command().create_parser("manage.py", "glycemic_metrics").format_help()
    assert "--patient" in text and "--json" in text and "--start" in text


def test_it_accepts_a_window_of_several_years(dexcom_patient):
    out = io.StringIO()
    call_command(
        "glycemic_metrics",
        "--patient",
        dexcom_patient.mrn,
        "--start",
        "2014-01-01",
        "--end",
        "2019-12-31",
        "--json",
        stdout=out,
    )
    metrics = json.loads(out.getvalue())
    assert metrics["days"] == 2191 and metrics["readings"] == 2148
