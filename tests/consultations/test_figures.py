"""The population view's consultation figures: pure arithmetic checked by hand, and the page
per center and clinician (issue #24 §4)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from consultations import services
from consultations.figures import summarize
from consultations.measures import consultation_measures


def test_it_summarizes_by_hand():
    # Answered after 1, 2, 3, 4 and 10 business hours; one still in time, one overdue.
    figures = summarize(
        [1.0, 2.0, 3.0, 4.0, 10.0, None, None],
        [True, True, True, True, False, None, False],
        weeks=7,
    )
    assert figures["questions"] == 7 and figures["per_week"] == 1.0
    assert figures["answered"] == 5
    assert figures["median_hours"] == 3.0
    # Type 7: position 0.9 × 4 = 3.6 → 4 + 0.6 × (10 − 4) = 7.6.
    assert figures["p90_hours"] == pytest.approx(7.6)
    assert figures["within_percent"] == pytest.approx(100 * 4 / 6)


def test_nothing_to_summarize():
    assert summarize([], [], weeks=12) == {
        "questions": 0,
        "per_week": 0.0,
        "answered": 0,
        "median_hours": None,
        "p90_hours": None,
        "within_percent": None,
    }


@pytest.mark.django_db
def test_the_population_view_shows_them_per_center_and_clinician(client, patient, alice):
    # Asked Monday 9 March 2026 10:00 (London = GMT), answered 13:00: 3 business hours,
    # within glucose's 8.
    with time_machine.travel(dt.datetime(2026, 3, 9, 10, tzinfo=dt.UTC), tick=False):
        consultation = services.consultation_ask(
            patient=patient, by=patient.user, category="glucose", text="?"
        )
    with time_machine.travel(dt.datetime(2026, 3, 9, 13, tzinfo=dt.UTC), tick=False):
        services.consultation_post(consultation=consultation, by=alice, text="!")
    with time_machine.travel(dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC), tick=False):
        figures = consultation_measures(alice)
        (center,) = figures["centers"]
        assert center["name"] == "North Clinic"
        assert center["median_hours"] == 3.0 and center["within_percent"] == 100.0
        (clinician,) = figures["clinicians"]
        assert clinician["name"] == str(alice) and clinician["answered"] == 1
        client.force_login(alice)
        page = client.get(reverse("patients-population")).content.decode()
        assert 'id="consultation-figures"' in page and "North Clinic" in page
