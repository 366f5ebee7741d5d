"""reports.demo.seed_reports: two periods per patient, quickly, once."""

import datetime as dt

import pytest

from reports.demo import seed_reports
from reports.models import Report
from tests.conftest import make_patient

pytestmark = pytest.mark.django_db


def test_it_makes_the_current_and_previous_reports_once(center, alice, load_simulated):
    patients = [make_patient(f"DEMO{i}", center=center, endocrinologists=[alice]) for i in range(3)]
    for i, p in enumerate(patients):
        load_simulated(p, start=dt.date.today() - dt.timedelta(days=30), days=31, seed=i)
    assert seed_reports([p.pk for p in patients]) == 6
    assert seed_reports([p.pk for p in patients]) == 0
    current = Report.objects.filter(patient=patients[0]).order_by("-period_end").first()
    assert current.previous is not None and current.comparison
    assert Report.objects.filter(notifications__user=alice).count() == 3
