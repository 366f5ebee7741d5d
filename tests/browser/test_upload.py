"""A patient uploads a real device export in the browser, then the same file again."""

from pathlib import Path

import pytest

from readings.models import Reading
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEXCOM = (
    Path(__file__).resolve().parent.parent
    / "fixtures/devices/dexcom_clarity/cgmquantify__test_file.csv"
)


def upload(page, path):
    page.set_input_files("input[type=file]", str(path))
    page.click("form[data-upload-form] button[type=submit]")
    page.wait_for_selector("#upload-result dl.figures")
    return page.locator("#upload-result dl.figures").inner_text()


def test_it_imports_a_dexcom_export_once(page, live_server, patient):
    sign_in(page, live_server, "pat", PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/upload/")
    first = upload(page, DEXCOM)
    assert "Accepted\n2148" in first and "Duplicates\n0" in first
    page.goto(f"{live_server.url}/patients/{patient.pk}/upload/")
    again = upload(page, DEXCOM)
    assert "Accepted\n0" in again and "Duplicates\n2148" in again
    assert Reading.objects.filter(patient=patient, kind="cgm").count() == 2148


def test_it_lists_bad_rows_by_line(page, live_server, patient, tmp_path):
    bad = tmp_path / "readings.csv"
    bad.write_text(
        "timestamp,value,unit\n"
        "2026-03-01T08:00:00+00:00,120,mg/dL\n"
        "2026-03-01T08:05:00+00:00,abc,mg/dL\n"
        "2026-03-01T08:10:00+00:00,130,mg/dL\n"
    )
    sign_in(page, live_server, "pat", PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/upload/")
    summary = upload(page, bad)
    assert "Accepted\n2" in summary and "Could not be read\n1" in summary
    assert "readings.csv" in page.locator("#recent-uploads").inner_text()  # the list follows
    page.click("text=See the rows")
    page.wait_for_load_state("networkidle")
    body = page.content()
    assert "abc" in body and ">3<" in body.replace(" ", "")
