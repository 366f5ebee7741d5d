"""The "alerting is degraded" banner (issue #20 §5) in chromium: shown to a clinician and an
admin while an incident is open, in English and Chinese, WCAG 2 AA clean, no sideways
scrolling at a phone's 390 px; gone once the incident closes."""

import pytest
from django.utils import timezone

from outbox.models import Incident
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def banner_text(page) -> str:
    banner = page.locator("main .degraded")
    return banner.inner_text() if banner.count() else ""


@pytest.mark.parametrize("username", ["alice", "ada"])
def test_it_shows_the_banner_while_alerting_is_degraded(
    page, live_server, alice, admin_user, username
):
    incident = Incident.objects.create(opened_at=timezone.now(), reasons=["worker_heartbeat"])
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, username, PASSWORD)
    page.goto(f"{live_server.url}/accounts/preferences/")
    assert banner_text(page).startswith("Alerting is degraded.")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page)
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    assert banner_text(page).startswith("告警功能降级。")
    assert_accessible(page)
    Incident.objects.filter(pk=incident.pk).update(is_open=False, closed_at=timezone.now())
    page.reload()
    assert banner_text(page) == ""
