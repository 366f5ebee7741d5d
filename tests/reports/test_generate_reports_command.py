"""manage.py generate_reports [--patient MRN] [--due]."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from reports.models import Report

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("generate_reports", *args, stdout=out)
    return out.getvalue()


def test_it_generates_for_one_patient_and_is_idempotent(patient, load_simulated):
    load_simulated(patient, start=dt.date.today() - dt.timedelta(days=15), days=16)
    assert "created: report" in run("--patient", patient.mrn)
    assert "exists: report" in run("--patient", patient.mrn)
    assert Report.objects.count() == 1


def test_it_generates_due_reports_once(patient, load_simulated):
    load_simulated(patient, start=dt.date.today() - dt.timedelta(days=15), days=16)
    assert "1 report(s) created." in run("--due")
    assert "0 report(s) created." in run("--due")


def test_it_fails_for_an_unknown_mrn(db):
    with pytest.raises(CommandError):
        run("--patient", "NOPE")
