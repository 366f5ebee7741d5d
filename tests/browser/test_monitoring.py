"""Issue #20 §6 in chromium: a falling trace arrives through the Nightscout API while the
clinician's alert inbox is open; the urgent-low alert appears without a reload (htmx polling),
she acknowledges it with a note, and the patient's Alerts tab shows who acknowledged and what
was done. axe-core checks every page; the inbox fits a 390 px phone."""

import datetime as dt
import hashlib
import json

import pytest
from django.test import Client
from django.utils import timezone

from monitoring.models import Alert
from readings.services import nightscout_link_ensure
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD
from tests.monitoring.conftest import enrol

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FALL = [120, 110, 100, 90, 80, 70, 62, 56, 52, 50]


def post_trace(patient):
    """xDrip+-shaped entries, 5 minutes apart, the last one now."""
    link = nightscout_link_ensure(patient=patient)
    now = timezone.now().replace(microsecond=0)
    entries = [
        {
            "type": "sgv",
            "sgv": value,
            "date": int((now - dt.timedelta(minutes=5 * (len(FALL) - 1 - i))).timestamp() * 1000),
            "direction": "SingleDown",
            "device": "xDrip-DexcomG6",
        }
        for i, value in enumerate(FALL)
    ]
    response = Client().post(
        f"/ns/{link.key}/api/v1/entries",
        json.dumps(entries),
        content_type="application/json",
        HTTP_API_SECRET=hashlib.sha1(link.api_secret.encode()).hexdigest(),
    )
    assert response.status_code == 200, response.content


def test_it_shows_a_new_alert_without_reloading_and_acknowledges_it(
    page, live_server, alice, patient
):
    enrol(patient, alice)
    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/monitoring/alerts/")
    page.wait_for_selector("#no-alerts")
    assert_accessible(page)
    page.evaluate("window.notReloaded = true")

    post_trace(patient)
    alert = Alert.objects.get(kind="urgent_low")
    page.wait_for_selector(f"#alert-{alert.pk}", timeout=20_000)  # the 5-second poll
    assert page.evaluate("window.notReloaded === true")  # the same page, not a reload
    assert_accessible(page)

    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= 390")
    page.set_viewport_size({"width": 1280, "height": 800})

    with page.expect_navigation():
        page.click(f"#alert-{alert.pk} a")
    assert_accessible(page)
    page.select_option("#ack-outcome", "advised_treatment")
    page.fill("#ack-note-input", "Spoke to her: 15 g glucose, recheck in 15 minutes.")
    with page.expect_navigation():
        page.click("#ack-form button[type=submit]")
    page.wait_for_selector("#no-alerts")
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by_id) == ("acknowledged", alice.pk)

    page.goto(f"{live_server.url}/patients/{patient.pk}/alerts/")
    row = page.locator(f"#episode-{alert.pk}")
    assert "15 g glucose" in row.inner_text()
    assert "Alice" in row.inner_text() or "alice" in row.inner_text()
    assert_accessible(page)
