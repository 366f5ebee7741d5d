"""The alert inbox, the header count, an alert's page (acknowledge, snooze), muting, the
workspace's Alerts tab, the patient's privacy page and triage order; outsiders are refused."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from monitoring.models import Alert, Mute
from tests.conftest import make_user
from tests.monitoring.conftest import enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(patient):
    now = timezone.now()
    return Alert.objects.create(
        patient=patient,
        kind="urgent_low",
        since=now - dt.timedelta(minutes=5),
        opened_at=now,
        last_at=now,
        last_value=50,
        extreme=48,
        delivered_at=now,
    )


def test_it_lists_the_alert_in_the_inbox_and_counts_it(client, alice, alert):
    client.force_login(alice)
    page = client.get("/monitoring/alerts/")
    assert page.status_code == 200
    assert f'id="alert-{alert.pk}"' in page.content.decode()
    assert 'hx-trigger="every 5s"' in page.content.decode()
    fragment = client.get(
        "/monitoring/alerts/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="alert-list"
    ).content.decode()
    assert "<h1>" not in fragment and f'id="alert-{alert.pk}"' in fragment
    count = client.get("/monitoring/alerts/count/").content.decode()
    assert 'data-alert-count="1"' in count
    home = client.get("/monitoring/alerts/").content.decode()
    assert 'hx-get="/monitoring/alerts/count/"' in home  # the header polls


def test_it_shows_mmol_to_a_clinician_who_reads_mmol(client, alice, alert):
    alice.unit = "mmol/L"
    alice.save()
    client.force_login(alice)
    assert "2.8 mmol/L" in client.get("/monitoring/alerts/").content.decode()  # 50 / 18.016


def test_it_acknowledges_on_the_alert_page_with_a_note(client, alice, alert):
    client.force_login(alice)
    response = client.post(
        f"/monitoring/alerts/{alert.pk}/",
        {"action": "acknowledge", "outcome": "advised_treatment", "note": "15 g glucose"},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.state, alert.outcome, alert.note) == (
        "acknowledged",
        "advised_treatment",
        "15 g glucose",
    )
    assert "data-alert-count" not in client.get("/monitoring/alerts/count/").content.decode()
    again = client.post(
        f"/monitoring/alerts/{alert.pk}/", {"action": "acknowledge", "outcome": "no_action_needed"}
    )
    assert again.status_code == 302
    alert.refresh_from_db()
    assert alert.outcome == "advised_treatment"  # the first acknowledgement stands


def test_it_snoozes_with_a_reason_and_refuses_without(client, alice, alert):
    client.force_login(alice)
    url = f"/monitoring/alerts/{alert.pk}/"
    assert client.post(url, {"action": "snooze", "minutes": "30"}).status_code == 400
    assert client.post(url, {"action": "snooze", "minutes": "7", "reason": "x"}).status_code == 400
    assert client.post(url, {"action": "nonsense"}).status_code == 400
    response = client.post(url, {"action": "snooze", "minutes": "30", "reason": "calling back"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.snooze_reason == "calling back" and alert.snoozed_until > timezone.now()
    assert AuditEvent.objects.filter(what__contains="snoozed: calling back").exists()


def test_it_mutes_non_urgent_kinds_only(client, alice, patient):
    client.force_login(alice)
    url = f"/monitoring/patients/{patient.pk}/mute/"
    bad = client.post(url, {"kinds": ["urgent_low"], "hours": "4", "reason": "travel"})
    assert bad.status_code == 400
    ok = client.post(url, {"kinds": ["high", "no_data"], "hours": "24", "reason": "sensor off"})
    assert ok.status_code == 302
    assert Mute.objects.get().kinds == ["high", "no_data"]


def test_it_shows_the_alerts_tab_with_who_acknowledged(client, alice, alert, patient):
    enrol(patient, alice)
    Alert.objects.filter(pk=alert.pk).update(
        acknowledged_at=timezone.now(),
        acknowledged_by=alice,
        note="Called her",
        outcome="called_patient",
    )
    client.force_login(alice)
    page = client.get(f"/patients/{patient.pk}/alerts/").content.decode()
    assert f'id="episode-{alert.pk}"' in page
    assert "Called her" in page and 'data-enrolled="yes"' in page
    assert 'data-tab="alerts"' in page


def test_it_tells_the_patient_when_the_clinic_watches(client, alice, patient):
    import datetime as dt

    from visits.models import OpeningHours

    OpeningHours.objects.create(
        center=patient.care_center, weekday=0, opens=dt.time(8), closes=dt.time(18)
    )
    enrol(patient, alice)
    client.force_login(patient.user)
    page = client.get(f"/patients/{patient.pk}/privacy/").content.decode()
    assert 'data-monitoring="enrolled"' in page
    assert "08:00–18:00" in page
    assert "first safety net" in page
    assert "nobody is on call" in page
    assert client.get(f"/patients/{patient.pk}/alerts/").status_code == 302


def test_it_lists_patients_with_open_alerts_first_in_triage(client, alice, patient, center):
    from tests.conftest import make_patient

    others = [make_patient(f"MRN-T{n}", center=center, endocrinologists=[alice]) for n in range(3)]
    Alert.objects.create(patient=others[-1], kind="high", opened_at=timezone.now())
    client.force_login(alice)
    body = client.get("/api/v1/triage/").json()
    rows = body["results"] if isinstance(body, dict) else body
    first = rows[0]
    assert first.get("patient", first.get("id")) == others[-1].pk


def test_it_refuses_staff_nurses_patients_and_other_teams(client, alert, bob, staff, center):
    nurse = make_user("nina", "nurse", center)
    for user in (staff, nurse, alert.patient.user):
        client.force_login(user)
        assert client.get("/monitoring/alerts/").status_code == 403
        assert client.get("/monitoring/alerts/count/").status_code == 403
        assert client.get(f"/monitoring/alerts/{alert.pk}/").status_code == 403
    client.force_login(bob)
    assert f"alert-{alert.pk}" not in client.get("/monitoring/alerts/").content.decode()
    assert client.get(f"/monitoring/alerts/{alert.pk}/").status_code == 404
    assert client.get(f"/patients/{alert.patient_id}/alerts/").status_code == 404
    url = f"/monitoring/patients/{alert.patient_id}/mute/"
    assert client.post(url, {"kinds": ["high"], "hours": "4", "reason": "x"}).status_code == 404


def test_it_tells_an_enrolled_patient_on_their_home_page(client, alice, patient):
    client.force_login(patient.user)
    assert 'data-monitoring="enrolled"' not in client.get("/").content.decode()
    enrol(patient, alice)
    page = client.get("/").content.decode()
    assert 'data-monitoring="enrolled"' in page and "first safety net" in page


def test_it_keeps_the_promise_text_for_the_patient_alone(client, alice, patient, staff):
    enrol(patient, alice)
    client.force_login(staff)
    page = client.get(f"/patients/{patient.pk}/privacy/").content.decode()
    assert 'id="monitoring"' not in page  # staff see the consent, nothing of the monitoring


@pytest.mark.parametrize(
    ("nights", "said"),
    [
        (0, ("nobody is on call", "never")),
        (3, ("on call only at some times", "sometimes")),
        (8, ("a clinician is on call, but may not see an alert at once", "always")),
    ],
)
def test_it_tells_the_patient_how_the_rota_covers_the_time_outside_hours(
    client, alice, patient, nights, said
):
    """The page promises no more than the rota covers in the coming week: every night on
    call ("always"), some nights ("sometimes") or none ("never"). Open every day 08–18."""
    import time_machine

    from monitoring.models import OnCallShift
    from visits.models import OpeningHours

    monday = dt.datetime(2027, 1, 4, 12, 0, tzinfo=dt.UTC)  # London = UTC in January
    for weekday in range(7):
        OpeningHours.objects.create(
            center=patient.care_center, weekday=weekday, opens=dt.time(8), closes=dt.time(18)
        )
    for night in range(nights):
        start = monday.replace(hour=18) + dt.timedelta(days=night - 1)
        OnCallShift.objects.create(
            center=patient.care_center, clinician=alice, start=start,
            end=start + dt.timedelta(hours=14),
        )  # fmt: skip
    with time_machine.travel(monday, tick=False):
        enrol(patient, alice)
        client.force_login(patient.user)
        page = client.get(f"/patients/{patient.pk}/privacy/").content.decode()
    text, state = said
    assert text in page and f'data-on-call="{state}"' in page
    assert "first safety net" in page


def test_it_tells_the_patient_of_a_clinic_without_hours_or_rota_who_gets_an_alert(
    client, alice, patient
):
    """No service hours and nobody on call: routing sends to the lead or the care team at
    once, and the page says so (not "waits until the clinic opens"); in Chinese too."""
    enrol(patient, alice)
    client.force_login(patient.user)
    page = client.get(f"/patients/{patient.pk}/privacy/").content.decode()
    assert "goes at once to a clinician of your clinic" in page
    assert "waits until the clinic opens" not in page
    patient.user.language = "zh-hans"
    patient.user.save()
    page = client.get(f"/patients/{patient.pk}/privacy/").content.decode()
    assert "警报会立即发送给您所在诊所的一位医生" in page and "第一道安全防线" in page
