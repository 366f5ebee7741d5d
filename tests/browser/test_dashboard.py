"""The endocrinologist's workspace in a real browser: triage (sort, filter, review), the
patient workspace's tabs and days, language, access. Screenshots at 1,366 px go to
``test-output/screenshots/`` (override with SCREENSHOT_DIR)."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

from readings.parsers import Reading
from readings.services import readings_ingest
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD, make_patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(
    os.environ.get(
        "SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
    )
)
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def load(patient, values, count=3000, kind="cgm", interval=5):
    end = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    readings_ingest(
        patient=patient,
        items=[
            Reading(
                line=i + 1,
                timestamp=end - dt.timedelta(minutes=interval * i),
                value_mg_dl=float(values[i % len(values)]),
                kind=kind,
                device=kind,
            )
            for i in range(count)
        ],
    )


@pytest.fixture
def queue(alice, center):
    risky = make_patient("R1", center=center, endocrinologists=[alice], name="Rita Risky")
    calm = make_patient("C1", center=center, endocrinologists=[alice], name="Carl Calm")
    highs = make_patient("H1", center=center, endocrinologists=[alice], name="Hal Highs")
    meter = make_patient("M1", center=center, endocrinologists=[alice], name="Mia Meter")
    load(risky, [45, 60, 120, 200, 300])
    load(calm, [100, 120, 140])
    load(highs, [200, 260, 150])
    load(meter, [209, 190], count=40, kind="smbg", interval=8 * 60)
    return {"risky": risky, "calm": calm, "highs": highs, "meter": meter}


def row_names(page) -> list[str]:
    return [name.strip() for name in page.locator("table.triage tbody td.who a").all_inner_texts()]


def test_it_sorts_filters_and_reviews_the_triage_queue(page, live_server, alice, queue):
    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server, "alice", PASSWORD)
    assert page.locator("h1").inner_text().startswith("Triage")
    assert row_names(page)[0] == "Rita Risky"
    assert_accessible(page)
    assert no_sideways_scroll(page), "the triage table must fit 1,366 px"
    # No number wraps: every numeric cell is one line high.
    heights = page.evaluate(
        "[...document.querySelectorAll('table.triage td.num')]"
        ".map(td => td.getClientRects()[0].height)"
    )
    assert max(heights) < 2 * min(h for h in heights if h)
    shoot(page, "triage-1366")
    # Sort by TIR (worst first), then reverse.
    page.locator("thead a", has_text="TIR %").click()
    page.wait_for_function("location.search.includes('ordering=tir')")
    page.wait_for_load_state("networkidle")
    assert row_names(page)[0] == "Rita Risky" and row_names(page)[-1] == "Mia Meter"
    page.locator("thead a", has_text="TIR %").click()
    page.wait_for_function("location.search.includes('ordering=-tir')")
    page.wait_for_load_state("networkidle")
    assert row_names(page)[0] == "Carl Calm"
    # Filter: meter-only patients get finger-stick columns.
    page.goto(f"{live_server.url}/patients/")
    page.select_option("#mode", "meter")
    page.wait_for_function("document.querySelectorAll('table.triage tbody tr').length === 1")
    assert "mean 209" not in page.content()  # the mean of 209 and 190 alternating
    assert "/day" in page.locator("table.triage tbody").inner_text()
    page.select_option("#mode", "")
    page.wait_for_function("document.querySelectorAll('table.triage tbody tr').length === 4")
    # Mark Rita reviewed: her row is swapped in place, and she drops below the others.
    row_id = f"#triage-row-{queue['risky'].pk}"
    row = page.locator(row_id)
    row.locator("input[name=note]").fill("Phoned")
    row.get_by_role("button", name="Mark reviewed").click()
    page.wait_for_function(f"document.querySelector('{row_id}').classList.contains('reviewed')")
    assert "Alice" in page.locator(row_id).inner_text()
    page.reload()
    assert row_names(page)[-1] == "Rita Risky"
    page.select_option("#reviewed", "week")
    page.wait_for_function("document.querySelectorAll('table.triage tbody tr').length === 1")
    assert row_names(page) == ["Rita Risky"]
    assert_accessible(page)


def test_it_lays_the_queue_out_as_cards_on_a_phone(page, live_server, alice, queue):
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "alice", PASSWORD)
    assert no_sideways_scroll(page), "the triage page must not scroll sideways at 390 px"
    shoot(page, "triage-390")
    page.goto(f"{live_server.url}/patients/{queue['risky'].pk}/")
    page.wait_for_load_state("networkidle")
    assert no_sideways_scroll(page)
    shoot(page, "workspace-overview-390")


def test_it_switches_every_tab_and_steps_through_days(page, live_server, alice, queue):
    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server, "alice", PASSWORD)
    page.get_by_role("link", name="Rita Risky").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Rita Risky"
    assert page.locator("#agp-figure-data").count() == 1
    page.wait_for_selector("[data-figure='agp-figure-data'] .main-svg")
    assert "Level 2 hypoglycaemia" in page.locator("ul.flag-list").inner_text()
    assert_accessible(page)
    shoot(page, "workspace-overview-1366")
    for tab, text in (
        ("Daily view", "Readings"),
        ("Reports", "Health reports"),
        ("Care plan", "Personalized care plan"),
        ("Uploads", "Upload readings"),
        ("Who viewed this record", "Who viewed this record"),
        ("Overview", "Current targets"),
    ):
        page.locator("nav.tabs").get_by_role("link", name=tab).click()
        page.wait_for_selector(f"nav.tabs a[aria-current='page']:text-is('{tab}')")
        page.wait_for_load_state("networkidle")
        assert text in page.locator("#tab-panel").inner_text()
        assert_accessible(page)
        shoot(page, "workspace-" + tab.lower().replace(" ", "-"))
    page.locator("nav.tabs").get_by_role("link", name="Daily view").click()
    page.wait_for_selector("[data-figure='day-figure-data'] .main-svg")
    today = page.url
    page.get_by_role("link", name="← Previous day").click()
    page.wait_for_function(f"location.href !== {today!r}")
    page.wait_for_selector("[data-figure='day-figure-data'] .main-svg")
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert f"date={yesterday}" in page.url
    page.get_by_role("link", name="Next day →").click()
    page.wait_for_function(f"!location.href.includes('date={yesterday}')")
    page.wait_for_selector("[data-figure='day-figure-data'] .main-svg")
    page.get_by_role("link", name="Show the week").click()
    page.wait_for_function("location.href.includes('span=7')")
    page.wait_for_selector("[data-figure='day-figure-data'] .main-svg")
    assert_accessible(page)
    shoot(page, "workspace-week")


def test_it_switches_to_simplified_chinese(page, live_server, patient):
    sign_in(page, live_server, "pat", PASSWORD)
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "最近 14 天" in page.content()


def test_it_shows_a_patient_only_their_own_workspace(page, live_server, patient, other_patient):
    load(patient, [120, 130])
    sign_in(page, live_server, "pat", PASSWORD)
    # A patient opening the clinician's workspace lands on their own page, My glucose (#17).
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    assert page.url.endswith("/my/glucose/") and page.locator("nav.tabs a").count() == 0
    page.wait_for_load_state("networkidle")
    assert_accessible(page)
    for path in ("", "day/", "access/"):
        response = page.goto(f"{live_server.url}/patients/{other_patient.pk}/{path}")
        assert response.status == 404
        assert other_patient.name not in page.content()
    assert page.goto(f"{live_server.url}/patients/").status == 403


def test_it_opens_a_patient_from_the_population_view(page, live_server, alice, queue):
    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server, "alice", PASSWORD)
    page.get_by_role("link", name="Population view").click()
    page.wait_for_selector("#gri-grid .main-svg")
    page.wait_for_load_state("networkidle")
    assert_accessible(page)
    shoot(page, "population-1366")
    # Click Rita's point (GRI zone E, the only red point) on the grid.
    box = page.evaluate(
        """() => {
            const gd = document.getElementById('gri-grid');
            const trace = gd.data.findIndex(t => t.text.includes('Rita Risky'));
            const i = gd.data[trace].text.indexOf('Rita Risky');
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            const r = gd.getBoundingClientRect();
            return {x: r.left + xa._offset + xa.l2p(gd.data[trace].x[i]),
                    y: r.top + ya._offset + ya.l2p(gd.data[trace].y[i])};
        }"""
    )
    with page.expect_navigation():
        page.mouse.click(box["x"], box["y"])
    assert page.url.endswith(f"/patients/{queue['risky'].pk}/")
    assert page.locator("h1").inner_text() == "Rita Risky"
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/patients/population/")
    page.wait_for_load_state("networkidle")
    assert no_sideways_scroll(page)
    shoot(page, "population-390")
