"""The dashboard in a real browser: sign-in by role, triage, workspace, language, access."""

import datetime as dt

import pytest
from django.utils import timezone

from readings.parsers import Reading
from readings.services import readings_ingest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, make_patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def load(patient, values, count=3000):
    end = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    readings_ingest(
        patient=patient,
        items=[
            Reading(
                line=i + 1,
                timestamp=end - dt.timedelta(minutes=5 * i),
                value_mg_dl=float(values[i % len(values)]),
                kind="cgm",
                device="cgm",
            )
            for i in range(count)
        ],
    )


def test_it_takes_an_endocrinologist_from_triage_to_a_patient(page, live_server, alice, center):
    risky = make_patient("R1", center=center, endocrinologists=[alice], name="Rita Risky")
    calm = make_patient("C1", center=center, endocrinologists=[alice], name="Carl Calm")
    load(risky, [45, 60, 120, 200, 300])
    load(calm, [100, 120, 140])
    sign_in(page, live_server, "alice", PASSWORD)
    assert page.locator("h1").inner_text().startswith("Triage")
    rows = page.locator("table.data tbody tr")
    assert rows.count() == 2
    assert "Rita Risky" in rows.nth(0).inner_text()
    page.get_by_role("link", name="Rita Risky").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Rita Risky"
    figures = page.locator("dl.figures").inner_text()
    assert "Time in range (TIR)" in figures and "20.0 %" in figures


def test_it_filters_triage_with_htmx(page, live_server, alice, center):
    risky = make_patient("R2", center=center, endocrinologists=[alice], name="Rita Risky")
    calm = make_patient("C2", center=center, endocrinologists=[alice], name="Carl Calm")
    load(risky, [45, 120])
    load(calm, [120])
    sign_in(page, live_server, "alice", PASSWORD)
    page.select_option("#flag", "very_low")
    page.wait_for_function("document.querySelectorAll('table.data tbody tr').length === 1")
    assert "Rita Risky" in page.locator("table.data tbody").inner_text()
    assert "flag=very_low" in page.url


def test_it_switches_to_simplified_chinese(page, live_server, patient):
    sign_in(page, live_server, "pat", PASSWORD)
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "最近 14 天" in page.content()


def test_it_keeps_a_patient_out_of_another_patients_page(page, live_server, patient, other_patient):
    sign_in(page, live_server, "pat", PASSWORD)
    assert page.url.endswith(f"/patients/{patient.pk}/")
    response = page.goto(f"{live_server.url}/patients/{other_patient.pk}/")
    assert response.status == 404
    assert other_patient.name not in page.content()
