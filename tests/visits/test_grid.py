"""The time-grid schedule (issue #19 §4): the layout arithmetic without a database, then the
day and week grid, moving a visit by drag (its POST), the printable day list. Clock and clinic
as the front desk's (``tests/visits/conftest.py``: Friday 26 February 2027, London on GMT)."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from visits import grid
from visits.models import AvailabilityException, ClosedDay, Visit

ROOT = Path(__file__).resolve().parents[2]
MONDAY = dt.date(2027, 3, 1)


def at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


# --- pure --------------------------------------------------------------------------------------


def test_it_imports_no_django():
    code = "import sys, visits.grid; assert not [m for m in sys.modules if 'django' in m]"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_it_spans_the_working_day_in_whole_half_hours():
    assert grid.bounds([(9 * 60, 17 * 60)]) == (540, 1020)
    assert grid.bounds([(9 * 60 + 15, 12 * 60 + 40), (13 * 60, 16 * 60 + 50)]) == (540, 1020)
    assert grid.bounds([]) == (480, 1080)
    assert grid.bounds([(0, 10)]) == (0, 30)


def test_it_sizes_blocks_by_duration():
    # 1.6 px a minute: a 30-minute visit at 10:00 in a grid from 09:00 sits 96 px down, 48 tall.
    assert grid.to_px(600, 540) == 96.0
    assert grid.to_px(630, 540) - grid.to_px(600, 540) == 48.0


def test_it_gives_overlapping_blocks_their_own_lanes():
    blocks = grid.place([("a", 540, 600), ("b", 550, 580), ("c", 570, 630), ("d", 700, 720)])
    lanes = {b.key: (b.lane, b.lanes) for b in blocks}
    assert lanes == {"a": (0, 3), "b": (1, 3), "c": (2, 3), "d": (0, 1)}
    # b ends at 580, so a block from 590 reuses its lane
    blocks = grid.place([("a", 540, 600), ("b", 550, 580), ("c", 590, 620)])
    assert {b.key: b.lane for b in blocks} == {"a": 0, "b": 1, "c": 1}


def test_it_shows_free_time_between_visits():
    assert grid.free_spans([(540, 720), (780, 1020)], [(540, 570), (600, 630), (1000, 1030)]) == [
        (570, 600),
        (630, 720),
        (780, 1000),
    ]
    assert grid.free_spans([(540, 600)], [(540, 597)]) == []  # 3 minutes is no free time


def test_it_snaps_a_drop_to_a_quarter_hour():
    assert grid.minute_at(0, 540) == 540
    assert grid.minute_at(23 * 1.6, 540) == 540 + 30  # 23 minutes down rounds to :30
    assert grid.minute_at(22 * 1.6, 540) == 540 + 15


# --- pages -------------------------------------------------------------------------------------


@pytest.fixture
def visit(desk, patient, alice, follow_up):
    return Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=desk,
        start_at=at(MONDAY, 10),
        end_at=at(MONDAY, 10, 30),
    )


@pytest.fixture
def staff_client(clock, client, staff):
    client.force_login(staff)
    return client


def test_the_day_grid_has_a_column_per_clinician_and_sized_blocks(staff_client, visit, alice, bob):
    page = staff_client.get(reverse("visits:grid"), {"date": MONDAY.isoformat()}).content.decode()
    assert page.count('class="tgrid-col"') == 2
    assert "Alice" in page and "Bob" in page
    # 09:00–17:00 grid: the 10:00 visit 96 px down, 48 px tall
    assert f'data-visit="{visit.pk}"' in page
    assert "top:96.0px;height:48.0px" in page
    assert reverse("patients-detail", args=[visit.patient.pk]) in page
    assert "tgrid-free" in page and "In person" in page and "Booked" in page


def test_the_week_grid_shows_one_clinicians_days_and_marks_closed_days_and_leave(
    staff_client, visit, alice, desk
):
    ClosedDay.objects.create(center=desk, date=MONDAY, reason="Holiday")
    AvailabilityException.objects.create(
        clinician=alice, center=desk, date=MONDAY + dt.timedelta(days=1), kind="leave"
    )
    page = staff_client.get(
        reverse("visits:grid"), {"date": MONDAY.isoformat(), "view": "week", "clinician": alice.pk}
    ).content.decode()
    assert page.count('class="tgrid-col"') == 7
    assert "Closed: Holiday" in page and "is-closed" in page
    assert "leave-tag" in page


def test_a_drag_moves_the_visit_and_a_taken_time_answers_409(
    staff_client, visit, alice, bob, other_patient, follow_up, desk
):
    url = reverse("visits:grid_move")
    headers = {"HTTP_ACCEPT": "application/json"}
    data = {"visit": visit.pk, "clinician": bob.pk, "date": MONDAY.isoformat(), "minute": 11 * 60}
    response = staff_client.post(url, data, **headers)
    assert response.status_code == 200, response.content
    visit.refresh_from_db()
    assert (visit.clinician, visit.start_at) == (bob, at(MONDAY, 11))
    Visit.objects.create(
        patient=other_patient,
        clinician=alice,
        visit_type=follow_up,
        center=desk,
        start_at=at(MONDAY, 14),
        end_at=at(MONDAY, 14, 30),
    )
    taken = {**data, "clinician": alice.pk, "minute": 14 * 60}
    response = staff_client.post(url, taken, **headers)
    assert response.status_code == 409
    assert "already has a visit" in json.loads(response.content)["detail"]
    visit.refresh_from_db()
    assert (visit.clinician, visit.start_at) == (bob, at(MONDAY, 11))
    outside = {**data, "minute": 20 * 60}
    assert staff_client.post(url, outside, **headers).status_code == 400


def test_a_drop_without_javascript_redirects_back_with_the_reason(staff_client, visit, alice):
    response = staff_client.post(
        reverse("visits:grid_move"),
        {"visit": visit.pk, "clinician": alice.pk, "date": MONDAY.isoformat(), "minute": 20 * 60},
    )
    assert response.status_code == 302 and reverse("visits:grid") in response["Location"]


@pytest.mark.parametrize(
    "data",
    [
        {"minute": "\x00"},
        {"minute": "9" * 400},
        {"minute": "1440"},
        {"date": "99999-01-01", "minute": "600"},
        {"clinician": "1" * 50, "minute": "600"},
        {"visit": "x" * 100_000},
    ],
)
def test_it_answers_hostile_moves_with_4xx(staff_client, visit, alice, data):
    body = {"visit": visit.pk, "clinician": alice.pk, "date": MONDAY.isoformat(), **data}
    response = staff_client.post(reverse("visits:grid_move"), body, HTTP_ACCEPT="application/json")
    assert 400 <= response.status_code < 500
    visit.refresh_from_db()
    assert visit.start_at == at(MONDAY, 10)


def test_patients_and_other_centers_cannot_move(
    client, clock, visit, alice, patient_user, other_staff
):
    body = {"visit": visit.pk, "clinician": alice.pk, "date": MONDAY.isoformat(), "minute": 660}
    client.force_login(patient_user)
    assert client.post(reverse("visits:grid_move"), body).status_code == 403
    assert client.get(reverse("visits:grid")).status_code == 403
    client.force_login(other_staff)
    assert client.post(reverse("visits:grid_move"), body).status_code == 404


def test_the_day_list_prints_each_clinicians_visits(staff_client, visit, alice):
    page = staff_client.get(
        reverse("visits:day_list"), {"date": MONDAY.isoformat()}
    ).content.decode()
    assert "Alice" in page and visit.patient.name in page and "10:00" in page
    assert "css/grid.css" in page
    page = staff_client.get(
        reverse("visits:day_list"), {"date": MONDAY.isoformat(), "clinician": 999}
    ).content.decode()
    assert visit.patient.name not in page


# --- one column per room ---------------------------------------------------------------------


def test_it_joins_a_rooms_overlapping_hours():
    assert grid.merge([(540, 600), (570, 660), (700, 720), (660, 680)]) == [(540, 680), (700, 720)]
    assert grid.merge([]) == []


def test_the_day_grid_by_room_has_a_column_per_room_and_one_without(
    staff_client, visit, alice, bob, other_patient, follow_up, desk
):
    from visits.models import Room

    room1, room2 = Room.objects.filter(center=desk).order_by("name")
    Visit.objects.filter(pk=visit.pk).update(room=room1)
    in_room2 = Visit.objects.create(
        patient=other_patient,
        clinician=bob,
        visit_type=follow_up,
        center=desk,
        room=room2,
        start_at=at(MONDAY, 11),
        end_at=at(MONDAY, 11, 30),
    )
    response = staff_client.get(reverse("visits:grid"), {"date": MONDAY.isoformat(), "by": "room"})
    page = response.content.decode()
    columns = response.context["columns"]
    assert [c["title"] for c in columns] == ["Room 1", "Room 2", "No room"]
    assert [[b["visit"].pk for b in c["blocks"]] for c in columns] == [
        [visit.pk],
        [in_room2.pk],
        [],
    ]
    # Each room's free time is the hours held there (09:00–17:00), less its visits.
    assert columns[0]["free"] == [(540, 600), (630, 1020)]
    assert columns[2]["free"] == []
    assert f'data-room="{room1.pk}"' in page and 'data-clinician="' in page
    assert "Alice" in page and "Bob" in page  # the clinician is on each block
    assert 'id="grid-by-clinician"' in page
    # Dropped on a room column, the visit keeps its clinician (the script sends the block's).
    url = reverse("visits:grid_move")
    data = {"visit": visit.pk, "clinician": alice.pk, "date": MONDAY.isoformat(), "minute": 780}
    assert staff_client.post(url, data, HTTP_ACCEPT="application/json").status_code == 200
    visit.refresh_from_db()
    assert (visit.clinician, visit.start_at, visit.room) == (alice, at(MONDAY, 13), room1)


def test_the_room_view_ignores_garbage_and_the_week_view_stays_per_clinician(
    staff_client, visit, alice
):
    for by in ("room\x00", "x" * 5000, "ROOM"):
        response = staff_client.get(reverse("visits:grid"), {"date": MONDAY.isoformat(), "by": by})
        assert response.status_code in (200, 400)
    week = staff_client.get(
        reverse("visits:grid"),
        {"date": MONDAY.isoformat(), "view": "week", "clinician": alice.pk, "by": "room"},
    )
    assert len(week.context["columns"]) == 7 and not week.context["by_room"]
