"""The plan fields the plan suggestions read (issue #21): wake time, bedtime, meal times and
the one basal titration table — validation, defaults for older plans, editor, page and API."""

import pytest
from django.urls import reverse

from care_plans.models import CarePlan, CarePlanVersion
from care_plans.services import (
    care_plan_clean,
    care_plan_default_content,
    care_plan_diff,
    care_plan_revise,
)
from tests.care_plans.test_views import form_data, page


def test_it_defaults_the_schedule_and_names_no_titration_table(patient):
    content = care_plan_default_content(patient=patient)
    assert content["wake_time"] == "07:00" and content["bedtime"] == "22:00"
    assert content["meal_times"] == ["07:00", "12:00", "18:00"]
    assert content["titration_algorithm"] == ""
    assert care_plan_clean(content)[1] == {}


@pytest.mark.parametrize(
    "field, value",
    [
        ("wake_time", "24:00"),
        ("wake_time", "7"),
        ("wake_time", "07:60"),
        ("wake_time", 700),
        ("bedtime", "\x00"),
        ("bedtime", "\ud800"),
        ("meal_times", ["12:00", "noon"]),
        ("meal_times", ["07:00"] * 7),
        ("meal_times", {"a": 1}),
        ("meal_times", [10**400]),
        ("titration_algorithm", "double_it"),
        ("titration_algorithm", ["treat_to_target"]),
    ],
)
def test_it_refuses_what_is_not_a_time_or_a_known_table(patient, field, value):
    content = {**care_plan_default_content(patient=patient), field: value}
    assert field in care_plan_clean(content)[1]


def test_it_normalizes_times_and_the_short_table_name(patient):
    content = {
        **care_plan_default_content(patient=patient),
        "wake_time": "6:30",
        "meal_times": "18:30, 7:15 12:00",
        "titration_algorithm": "ada_2u_3d",
    }
    clean, errors = care_plan_clean(content)
    assert errors == {}
    assert clean["wake_time"] == "06:30"
    assert clean["meal_times"] == ["07:15", "12:00", "18:30"]
    assert clean["titration_algorithm"] == "ada_2_units_every_3_days"


def test_a_plan_saved_before_the_fields_existed_reads_them_as_defaults(patient, alice):
    old = care_plan_default_content(patient=patient)
    for key in ("wake_time", "bedtime", "meal_times", "titration_algorithm"):
        del old[key]
    plan = CarePlan.objects.create(patient=patient)
    CarePlanVersion.objects.create(plan=plan, number=1, created_by=alice, reason="x", content=old)
    new = care_plan_clean(old)[0]
    assert care_plan_diff(old=old, new=new) == []  # nothing a clinician changed
    later = {**new, "titration_algorithm": "treat_to_target"}
    [change] = care_plan_diff(old=old, new=later)
    assert (change["field"], change["old"], change["new"]) == (
        "titration_algorithm",
        "",
        "treat_to_target",
    )


def test_the_editor_saves_and_the_page_shows_the_schedule(client, alice, patient):
    client.force_login(alice)
    data = form_data(
        wake_time="06:15", bedtime="23:00", meal_times="7:00, 13:00", titration_algorithm=""
    )
    data["titration_algorithm"] = "treat_to_target"
    preview = client.post(page(patient), data)
    assert preview.status_code == 200
    saved = client.post(
        page(patient),
        {"content_json": preview.context["content_json"], "reason": "x", "confirm": "1"},
    )
    assert saved.status_code == 302
    content = CarePlanVersion.objects.get().content
    assert (content["wake_time"], content["bedtime"]) == ("06:15", "23:00")
    assert content["meal_times"] == ["07:00", "13:00"]
    assert content["titration_algorithm"] == "treat_to_target"
    body = client.get(page(patient)).content.decode()
    assert "Wakes at 06:15, goes to bed at 23:00." in body
    assert "07:00, 13:00" in body and "Treat-to-Target (Riddle 2003)" in body


def test_the_editor_puts_a_bad_time_next_to_its_field(client, alice, patient):
    client.force_login(alice)
    response = client.post(page(patient), form_data(wake_time="25:00"))
    assert response.status_code == 200
    assert "Enter a time of day as HH:MM" in str(response.context["form"].errors["wake_time"])
    assert not CarePlanVersion.objects.exists()


def test_the_api_round_trips_the_schedule_and_refuses_a_bad_one(client, alice, patient):
    client.force_login(alice)
    url = reverse("api-patients-care-plan", args=[patient.pk])
    body = {"reason": "Schedule", "wake_time": "05:45", "titration_algorithm": "ada_2u_3d"}
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["wake_time"] == "05:45" and data["bedtime"] == "22:00"
    assert data["titration_algorithm"] == "ada_2_units_every_3_days"
    assert data["meal_times"] == ["07:00", "12:00", "18:00"]
    bad = {"reason": "x", "meal_times": ["lunch"]}
    response = client.post(url, bad, content_type="application/json")
    assert response.status_code == 400 and "meal_times" in response.json()["detail"]


def test_the_api_shows_defaults_for_a_version_without_the_fields(client, alice, patient):
    old = care_plan_default_content(patient=patient)
    del old["wake_time"], old["titration_algorithm"]
    plan = CarePlan.objects.create(patient=patient)
    CarePlanVersion.objects.create(plan=plan, number=1, created_by=alice, reason="x", content=old)
    client.force_login(alice)
    data = client.get(reverse("api-patients-care-plan", args=[patient.pk])).json()
    assert (data["wake_time"], data["titration_algorithm"]) == ("07:00", "")


def test_revise_keeps_the_fields(patient, alice):
    content = {**care_plan_default_content(patient=patient), "bedtime": "21:30"}
    version = care_plan_revise(patient=patient, by=alice, reason="x", content=content)
    assert version.content["bedtime"] == "21:30"
