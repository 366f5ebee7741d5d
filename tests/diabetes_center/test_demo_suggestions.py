"""The demo's plan-suggestion patients (issue #21 §4): each case's rule fires on its report,
and the night-time lows block the increase that fasting glucose alone would earn."""

import datetime as dt

import pytest
import time_machine

from diabetes_center.demo_suggestions import CASES, case_for, seed_case
from reports.services import report_generate
from tests.conftest import make_patient

pytestmark = pytest.mark.django_db

EXPECTED = [
    {"basal_increase"},
    {"basal_decrease", "basal_increase"},
    {"bolus_decrease"},
    {"sulfonylurea_decrease"},
    {"basal_review"},
    {"meal_review"},
    {"no_change"},
    {"not_for_pregnancy"},
]


@time_machine.travel(dt.datetime(2026, 4, 20, 9, 30, tzinfo=dt.UTC), tick=False)
@pytest.mark.parametrize("index", range(len(CASES)))
def test_each_case_gets_its_rules_suggestion(center, alice, index):
    case = CASES[index]
    patient = make_patient(
        f"CASE{index}",
        center=center,
        endocrinologists=[alice],
        diabetes_type=case.diabetes_type,
        timezone="Europe/London",
    )
    seed_case(case, patient, author=alice, start=dt.date(2026, 4, 4), days=17, seed=index)
    report = report_generate(patient_id=patient.pk, notify=False)
    suggestions = list(report.suggestions.all())
    assert {s.kind for s in suggestions} == EXPECTED[index], case.label
    if index == 1:  # the low blocks the increase: no number, the blocking rule named
        increase = next(s for s in suggestions if s.kind == "basal_increase")
        assert increase.proposed_change is None
        assert increase.blocked_by == ["hypoglycaemia_first"]


def test_only_a_big_enough_demo_gets_the_cases():
    assert case_for(0, 5) is None and case_for(4, 5) is None
    assert case_for(63, 64) is CASES[-1] and case_for(56, 64) is CASES[0]
    assert case_for(55, 64) is None
