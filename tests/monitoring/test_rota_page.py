"""The on-call rota page (issue #20 §3): the center's staff and admins set who covers when and
who leads; its clinicians read it; times are the center's wall clock; every change audited;
bad input answers 400, never a 500."""

import datetime as dt

import pytest
import time_machine

from accounts.models import AuditEvent
from monitoring.models import CenterLead, OnCallShift
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)  # London: GMT until 29 March


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _shift(clinician, start="2026-03-20", start_time="18:00", end="2026-03-21", end_time="08:00"):
    return {
        "part": "shift",
        "shift-clinician": clinician.pk,
        "shift-start_date": start,
        "shift-start_time": start_time,
        "shift-end_date": end,
        "shift-end_time": end_time,
    }


def test_staff_add_a_shift_in_the_centers_zone_and_it_is_audited(client, staff, alice):
    client.force_login(staff)
    response = client.post("/monitoring/rota/", _shift(alice, "2026-04-01", "18:00", "2026-04-02"))
    assert response.status_code == 302
    (shift,) = OnCallShift.objects.all()
    # London is on BST (UTC+1) in April: 18:00 local is 17:00 UTC.
    assert shift.start == dt.datetime(2026, 4, 1, 17, 0, tzinfo=dt.UTC)
    assert shift.end == dt.datetime(2026, 4, 2, 7, 0, tzinfo=dt.UTC)
    assert AuditEvent.objects.filter(
        username="sam", action="change", what__startswith="on-call rota, North Clinic: added shift"
    ).exists()
    page = client.get("/monitoring/rota/").content.decode()
    assert f'id="shift-{shift.pk}"' in page and "18:00" in page


def test_it_refuses_an_overlap_with_the_same_clinicians_shift_and_warns_of_another(
    client, staff, alice, bob
):
    client.force_login(staff)
    assert client.post("/monitoring/rota/", _shift(alice)).status_code == 302
    again = client.post("/monitoring/rota/", _shift(alice, start_time="20:00"))
    assert again.status_code == 400
    assert "already on call during part of that time" in again.content.decode()
    other = client.post("/monitoring/rota/", _shift(bob, start_time="20:00"), follow=True)
    assert "both are told of an alert then" in other.content.decode()
    assert OnCallShift.objects.count() == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"shift-end_date": "2026-03-20", "shift-end_time": "17:00"}, "must end after it starts"),
        ({"shift-start_date": "2026-03-19", "shift-start_time": "08:00",
          "shift-end_date": "2026-03-19", "shift-end_time": "10:00"}, "already over"),
        ({"shift-end_date": "2026-04-20"}, "at most 14 days"),
        # 01:30 on 29 March does not happen in London (the clocks go from 01:00 to 02:00).
        ({"shift-start_date": "2026-03-29", "shift-start_time": "01:30",
          "shift-end_date": "2026-03-29", "shift-end_time": "08:00"}, "does not exist"),
    ],
)  # fmt: skip
def test_it_refuses_impossible_shifts_with_a_reason(client, staff, alice, fields, message):
    client.force_login(staff)
    response = client.post("/monitoring/rota/", {**_shift(alice), **fields})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not OnCallShift.objects.exists()


def test_only_the_centers_endocrinologists_can_be_on_call_or_lead(client, staff, other_center):
    stranger = make_user("sid", "endocrinologist", other_center)
    client.force_login(staff)
    assert client.post("/monitoring/rota/", _shift(stranger)).status_code == 400
    lead = client.post("/monitoring/rota/", {"part": "lead", "lead-lead": stranger.pk})
    assert lead.status_code == 400
    assert not OnCallShift.objects.exists() and not CenterLead.objects.exists()


def test_staff_set_and_clear_the_lead(client, staff, alice):
    client.force_login(staff)
    assert (
        client.post("/monitoring/rota/", {"part": "lead", "lead-lead": alice.pk}).status_code == 302
    )
    assert CenterLead.objects.get().lead == alice
    assert f'data-lead="{alice.pk}"' in client.get("/monitoring/rota/").content.decode()
    assert client.post("/monitoring/rota/", {"part": "lead", "lead-lead": ""}).status_code == 302
    assert not CenterLead.objects.exists()
    assert AuditEvent.objects.filter(what="on-call rota, North Clinic: lead removed").exists()


def test_clinicians_read_it_and_may_not_change_it(client, staff, alice):
    client.force_login(staff)
    client.post("/monitoring/rota/", _shift(alice))
    shift = OnCallShift.objects.get()
    client.force_login(alice)
    page = client.get("/monitoring/rota/")
    assert page.status_code == 200 and f'id="shift-{shift.pk}"' in page.content.decode()
    assert 'name="part"' not in page.content.decode()
    assert client.post("/monitoring/rota/", _shift(alice, start="2026-03-25")).status_code == 403
    assert client.post(f"/monitoring/rota/shifts/{shift.pk}/remove/").status_code == 403
    assert OnCallShift.objects.count() == 1


def test_patients_are_refused_and_other_centers_do_not_see_the_shift(
    client, staff, other_staff, alice, patient_user
):
    client.force_login(staff)
    client.post("/monitoring/rota/", _shift(alice))
    shift = OnCallShift.objects.get()
    client.force_login(patient_user)
    assert client.get("/monitoring/rota/").status_code == 403
    client.force_login(other_staff)
    assert f'id="shift-{shift.pk}"' not in client.get("/monitoring/rota/").content.decode()
    assert client.post(f"/monitoring/rota/shifts/{shift.pk}/remove/").status_code == 404
    assert OnCallShift.objects.count() == 1


def test_staff_remove_a_shift_and_it_is_audited(client, staff, alice):
    client.force_login(staff)
    client.post("/monitoring/rota/", _shift(alice))
    shift = OnCallShift.objects.get()
    assert client.post(f"/monitoring/rota/shifts/{shift.pk}/remove/").status_code == 302
    assert not OnCallShift.objects.exists()
    assert AuditEvent.objects.filter(what__contains="removed shift alice").exists()


def test_admins_pick_the_center(client, admin_user, alice, center, other_center):
    client.force_login(admin_user)
    url = f"/monitoring/rota/?center={center.pk}"
    assert client.post(url, _shift(alice)).status_code == 302
    assert OnCallShift.objects.get().center == center
    assert client.get("/monitoring/rota/?center=999999").status_code == 404
    assert client.get("/monitoring/rota/?center=abc").status_code == 404


@pytest.mark.parametrize(
    "garbage",
    [
        {"part": "shift", "shift-clinician": "1\x00", "shift-start_date": "\x00"},
        {"part": "shift", "shift-clinician": str(10**400), "shift-start_date": "9" * 5000},
        "part=shift&shift-clinician=%ED%A0%80&shift-start_time=25%3A99",  # a lone surrogate
        {"part": "lead", "lead-lead": str(10**400)},
        {"part": "lead", "lead-lead": "\x00"},
        {"part": "nonsense"},
        {},
    ],
)
def test_garbage_answers_400_never_500(client, staff, alice, garbage):
    client.force_login(staff)
    if isinstance(garbage, str):
        form = "application/x-www-form-urlencoded"
        response = client.post("/monitoring/rota/", garbage, content_type=form)
    else:
        response = client.post("/monitoring/rota/", garbage)
    assert response.status_code == 400
    assert not OnCallShift.objects.exists()


def test_the_page_is_in_chinese_for_a_chinese_reader(client, staff):
    staff.language = "zh-hans"
    staff.save()
    client.force_login(staff)
    page = client.get("/monitoring/rota/").content.decode()
    assert "值班表" in page
