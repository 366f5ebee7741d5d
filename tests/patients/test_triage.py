"""Triage: rollup-based 14-day figures, flags and order, the same on the page and the API."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from readings.parsers import Reading
from readings.services import readings_ingest
from tests.conftest import make_patient


def load(patient, values, *, count=3600, interval=5):
    """`count` readings every `interval` minutes back from now (12.5 days: inside the 14-day
    window), cycling through `values`."""
    end = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    items = [
        Reading(
            line=i + 1,
            timestamp=end - dt.timedelta(minutes=interval * i),
            value_mg_dl=float(values[i % len(values)]),
            kind="cgm",
            device="test cgm",
        )
        for i in range(count)
    ]
    readings_ingest(patient=patient, items=items)


def test_it_orders_the_riskiest_first_and_flags_them(client, alice, center):
    steady = make_patient("A1", center=center, endocrinologists=[alice], name="Steady")
    # 10 % of readings at 50 mg/dL: very low 10 % → GRI 3.0·10 = 30 (zone B), flags very_low+low.
    lows = make_patient("A2", center=center, endocrinologists=[alice], name="Lows")
    make_patient("A3", center=center, endocrinologists=[alice], name="No data")
    load(steady, [110, 120, 130])
    load(lows, [50] + [120] * 9)
    client.force_login(alice)
    body = client.get(reverse("api-triage")).json()
    names = [row["name"] for row in body["results"]]
    assert names == ["Lows", "Steady", "No data"]
    rows = {row["name"]: row for row in body["results"]}
    assert rows["Lows"]["very_low_percent"] == 10.0
    assert rows["Lows"]["gri"] == 30.0 and rows["Lows"]["gri_zone"] == "B"
    assert {"very_low", "low"} <= set(rows["Lows"]["flags"])
    assert rows["Steady"]["in_range_percent"] == 100.0 and rows["Steady"]["flags"] == []
    assert rows["No data"]["flags"] == ["insufficient_data"]
    page = client.get(reverse("patients-list")).content.decode()
    assert page.index("Lows") < page.index("Steady") < page.index("No data")


def test_it_filters_by_flag_and_sorts_by_name(client, alice, center):
    lows = make_patient("B1", center=center, endocrinologists=[alice], name="Zed Lows")
    steady = make_patient("B2", center=center, endocrinologists=[alice], name="Amy Steady")
    load(lows, [50] + [120] * 9)
    load(steady, [120])
    client.force_login(alice)
    flagged = client.get(reverse("api-triage"), {"flag": "very_low"}).json()["results"]
    assert [row["name"] for row in flagged] == ["Zed Lows"]
    by_name = client.get(reverse("api-triage"), {"ordering": "name"}).json()["results"]
    assert [row["name"] for row in by_name] == ["Amy Steady", "Zed Lows"]


def test_it_refuses_triage_to_patients_and_staff(client, patient, staff):
    client.force_login(patient.user)
    assert client.get(reverse("api-triage")).status_code == 403
    client.force_login(staff)
    assert client.get(reverse("api-triage")).status_code == 403


def test_it_shows_only_my_patients(client, alice, patient, other_patient):
    client.force_login(alice)
    ids = [row["id"] for row in client.get(reverse("api-triage")).json()["results"]]
    assert ids == [patient.pk]


def test_it_shows_the_audit_trail_to_admins_only(client, admin_user, alice, patient):
    client.force_login(alice)
    client.get(reverse("patients-detail", args=[patient.pk]))
    assert client.get(reverse("api-audit")).status_code == 403
    client.force_login(admin_user)
    rows = client.get(reverse("api-audit"), {"patient": patient.pk}).json()["results"]
    assert [(row["user"], row["action"]) for row in rows] == [("alice", "view")]
    assert AuditEvent.objects.filter(patient=patient).count() == 1
    assert client.get(reverse("api-audit"), {"patient": "x"}).status_code == 400


def test_it_shows_meter_only_patients_with_their_mean_not_cgm_figures(client, alice, center):
    meter = make_patient("M1", center=center, endocrinologists=[alice], name="Meter Only")
    now = timezone.now()
    readings_ingest(
        patient=meter,
        items=[
            Reading(
                line=i + 1,
                timestamp=now - dt.timedelta(hours=8 * i + 1),
                value_mg_dl=value,
                kind="smbg",
                device="meter",
                meal_tag="fasting",
            )
            for i, value in enumerate([100.0, 140.0, 120.0])
        ],
    )
    client.force_login(alice)
    (row,) = client.get(reverse("api-triage")).json()["results"]
    assert row["flags"] == ["meter_only"]
    assert row["mean_mg_dl"] == 120.0 and row["readings"] == 3
    assert row["in_range_percent"] is None


def test_it_flags_patients_whose_plan_review_is_overdue(client, alice, center):
    from care_plans.models import CarePlanVersion
    from care_plans.services import care_plan_default_content, care_plan_revise

    due = make_patient("P1", center=center, endocrinologists=[alice], name="Review Due")
    fresh = make_patient("P2", center=center, endocrinologists=[alice], name="Fresh Plan")
    for patient in (due, fresh):
        care_plan_revise(
            patient=patient,
            by=alice,
            reason="Initial plan",
            content=care_plan_default_content(patient=patient),
        )
    # The default review interval is 90 days: a version written 91 days ago is overdue.
    CarePlanVersion.objects.filter(plan__patient=due).update(
        created_at=timezone.now() - dt.timedelta(days=91)
    )
    client.force_login(alice)
    rows = {row["name"]: row for row in client.get(reverse("api-triage")).json()["results"]}
    assert "review_overdue" in rows["Review Due"]["flags"]
    assert "review_overdue" not in rows["Fresh Plan"]["flags"]
    flagged = client.get(reverse("api-triage"), {"flag": "review_overdue"}).json()["results"]
    assert [row["name"] for row in flagged] == ["Review Due"]
