"""The display layer: one rule for visit times (center's zone for staff and clinicians, the
patient's own zone on the patient's pages, the zone named where it is not the viewer's)."""

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from accounts import display
from visits.models import Visit, VisitType
from workspace.triage import triage_refresh

LONDON = zoneinfo.ZoneInfo("Europe/London")
# A winter Monday: 09:00 in London is 09:00 UTC and 17:00 in Shanghai.
NOW = dt.datetime(2027, 1, 4, 8, tzinfo=dt.UTC)
NINE = dt.datetime(2027, 1, 11, 9, tzinfo=LONDON)


@pytest.fixture
def visit(patient, alice, center):
    patient.timezone = "Asia/Shanghai"
    patient.save()
    kind = VisitType.objects.create(code="follow_up", name="Follow-up", duration_minutes=30)
    with time_machine.travel(NOW, tick=False):
        booked = Visit.objects.create(
            patient=patient,
            clinician=alice,
            visit_type=kind,
            center=center,
            start_at=NINE,
            end_at=NINE + dt.timedelta(minutes=30),
        )
        triage_refresh(patient_ids=[patient.pk])
    return booked


def test_it_names_a_zone_only_when_it_is_not_the_viewers():
    with translation.override("en"):
        assert display.when_text(NINE, "Europe/London", viewer_zone="Europe/London") == (
            "11 Jan 2027 09:00"
        )
        assert display.when_text(NINE, "Asia/Shanghai", viewer_zone="Europe/London") == (
            "11 Jan 2027 17:00 (Asia/Shanghai)"
        )
    with translation.override("zh-hans"):
        assert display.when_text(NINE, "Asia/Shanghai") == "2027年1月11日 17:00"


@time_machine.travel(NOW, tick=False)
def test_it_shows_the_clinician_the_centers_time_on_every_page(client, alice, patient, visit):
    """One 09:00 London visit read 17:00 in the triage list (the patient's zone) and 11:00 on a
    report; every clinician page now says 09:00, the center's time."""
    client.force_login(alice)
    pages = {
        "triage": client.get(reverse("patients-list")).content.decode(),
        "visits tab": client.get(reverse("patients-visits", args=[patient.pk])).content.decode(),
        "overview": client.get(reverse("patients-detail", args=[patient.pk])).content.decode(),
    }
    for name, page in pages.items():
        assert "17:00" not in page, name
    assert "11 Jan 2027 09:00" in pages["triage"]
    assert "09:00" in pages["visits tab"] and "Europe/London" in pages["visits tab"]


@time_machine.travel(NOW, tick=False)
def test_it_shows_the_patient_their_own_time(client, patient_user, patient, visit):
    client.force_login(patient_user)
    # The patient's visits are on their home page (the workspace tab sends them there).
    page = client.get(reverse("home")).content.decode()
    assert "17:00" in page and not re.search(r"\b09:00\b", page)


@time_machine.travel(NOW, tick=False)
def test_it_names_the_centers_zone_for_a_viewer_elsewhere(admin_user, patient, visit):
    with translation.override("en"):
        text = display.visit_when(visit.start_at, user=admin_user, patient=patient)
    # The admin has no center: their zone is the server's (UTC), so London is named.
    assert text == "11 Jan 2027 09:00 (Europe/London)"
