"""Care-plan pages through the test client: editing with a diff confirmation, the htmx
fragments, history and compare, and what each role sees."""

import json

import pytest
from django.urls import reverse

from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise
from glycemia.targets import PRESETS

HTMX = {"HTTP_HX_REQUEST": "true"}


def page(patient, name="care-plans-detail"):
    return reverse(name, args=[patient.pk])


def form_data(**overrides):
    data = {
        "reason": "Start basal insulin",
        "unit": "mg/dL",
        "preset": "standard",
        "range_low": "70",
        "range_high": "180",
        "hba1c_goal_percent": "7.0",
        "exercise_minutes_per_week": "150",
        "monitoring_mode": "cgm",
        "cgm_wear_goal_percent": "70",
        "report_cadence_days": "14",
        "visit_cadence_days": "90",
        "review_interval_days": "90",
        "check_hba1c_days": "90",
        "check_eyes_days": "365",
        "check_kidneys_days": "365",
        "check_feet_days": "365",
        "med-TOTAL_FORMS": "2",
        "med-INITIAL_FORMS": "0",
        "med-MIN_NUM_FORMS": "0",
        "med-MAX_NUM_FORMS": "1000",
        "med-0-kind": "insulin_basal",
        "med-0-product": "Insulin glargine",
        "med-0-dose": "18",
        "med-0-dose_unit": "U",
        "med-0-timing": "bedtime",
        "med-0-frequency": "once daily",
        # med-1 is the empty extra row the page always shows: ignored.
    }
    goals = PRESETS["standard"]["goals"]
    data.update(
        {
            "goal-TOTAL_FORMS": str(len(goals)),
            "goal-INITIAL_FORMS": str(len(goals)),
            "goal-MIN_NUM_FORMS": "0",
            "goal-MAX_NUM_FORMS": "1000",
        }
    )
    for i, goal in enumerate(goals):
        data[f"goal-{i}-key"] = goal["key"]
        data[f"goal-{i}-label"] = goal["label"]
        data[f"goal-{i}-comparison"] = goal["comparison"]
        data[f"goal-{i}-target"] = str(goal["target"])
    data.update(overrides)
    return data


@pytest.fixture
def version(patient, alice):
    content = care_plan_default_content(patient=patient)
    content["medications"] = [
        {"kind": "metformin", "product": "Metformin", "dose": 1000, "dose_unit": "mg"}
    ]
    return care_plan_revise(patient=patient, by=alice, reason="First plan", content=content)


# --- editing ------------------------------------------------------------------------------


def test_it_links_the_new_version_to_the_report_in_the_url(client, alice, patient, make_report):
    report_id = make_report(patient).pk
    client.force_login(alice)
    body = client.get(page(patient), {"report": report_id}).content.decode()
    assert f'name="report" value="{report_id}"' in body
    assert f"responds to report #{report_id}" in body


def test_it_shows_the_editor_and_empty_state_to_the_endocrinologist(client, alice, patient):
    client.force_login(alice)
    response = client.get(page(patient))
    assert response.status_code == 200
    body = response.content.decode()
    assert "No care plan yet." in body
    assert 'id="care-plan-editor"' in body
    assert 'name="range_low"' in body and 'value="70.0"' in body or 'value="70"' in body


def test_it_previews_the_diff_before_saving(client, alice, patient, make_report):
    report_id = make_report(patient).pk
    client.force_login(alice)
    response = client.post(page(patient), form_data(report=str(report_id)))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Review and save version 1" in body
    assert "Insulin glargine" in body and "added" in body
    assert not CarePlanVersion.objects.exists()
    content_json = response.context["content_json"]
    saved = client.post(
        page(patient),
        {
            "content_json": content_json,
            "reason": "Start basal insulin",
            "report": str(report_id),
            "confirm": "1",
        },
    )
    assert saved.status_code == 302
    version = CarePlanVersion.objects.get()
    assert (version.number, version.created_by, version.responds_to_report_id) == (
        1,
        alice,
        report_id,
    )
    assert version.content["medications"][0]["product"] == "Insulin glargine"
    assert version.content["targets"]["preset"] == "standard"


def test_it_shows_stopped_and_changed_medications_in_the_preview(client, alice, patient, version):
    client.force_login(alice)
    data = form_data(**{"med-0-dose": "20"})
    response = client.post(page(patient), data)
    diff = {(c["label"], c["change"]) for c in response.context["diff"]}
    assert diff == {("Insulin glargine", "added"), ("Metformin", "stopped")}
    body = response.content.decode()
    assert "stopped" in body and "Review and save version 2" in body


def test_it_confirms_through_htmx_with_a_client_redirect(client, alice, patient):
    client.force_login(alice)
    preview = client.post(page(patient), form_data(), **HTMX)
    assert preview.status_code == 200
    assert preview.templates[0].name == "care_plans/_confirm.html"
    saved = client.post(
        page(patient),
        {"content_json": preview.context["content_json"], "reason": "x", "confirm": "1"},
        **HTMX,
    )
    assert saved["HX-Redirect"] == page(patient)
    assert CarePlanVersion.objects.count() == 1


def test_it_goes_back_to_editing_with_the_previewed_values(client, alice, patient):
    client.force_login(alice)
    preview = client.post(page(patient), form_data(**{"med-0-dose": "22"}))
    back = client.post(
        page(patient),
        {"content_json": preview.context["content_json"], "reason": "why", "back": "1"},
    )
    assert back.status_code == 200
    assert back.context["meds"].initial[0]["dose"] == 22
    assert back.context["form"].initial["reason"] == "why"
    assert not CarePlanVersion.objects.exists()


def test_it_shows_validation_messages_next_to_fields(client, alice, patient):
    client.force_login(alice)
    data = form_data(range_low="200", range_high="100", **{"med-0-dose": "900"})
    response = client.post(page(patient), data)
    body = response.content.decode()
    assert "The upper limit must be above the lower limit." in body
    assert "above the plausible maximum of 200 U" in body
    assert response.context["meds"].forms[0].errors["dose"]
    assert "confirm" not in response.context
    assert not CarePlanVersion.objects.exists()


def test_it_requires_a_reason(client, alice, patient):
    client.force_login(alice)
    response = client.post(page(patient), form_data(reason=""))
    assert response.context["form"].errors["reason"]


def test_it_accepts_the_range_in_mmol_per_litre(client, alice, patient):
    client.force_login(alice)
    data = form_data(unit="mmol/L", range_low="3.9", range_high="10.0")
    response = client.post(page(patient), data)
    content = json.loads(response.context["content_json"])
    assert (content["targets"]["range_low"], content["targets"]["range_high"]) == (70, 180)
    assert content["targets"]["preset"] == "standard"


def test_it_marks_edited_targets_as_custom(client, alice, patient):
    client.force_login(alice)
    response = client.post(page(patient), form_data(range_high="160"))
    content = json.loads(response.context["content_json"])
    assert content["targets"]["preset"] == "custom"


def test_it_refuses_a_tampered_confirmation(client, alice, patient):
    client.force_login(alice)
    response = client.post(page(patient), {"content_json": "[]", "confirm": "1", "reason": "x"})
    assert response.status_code == 404
    bad = care_plan_default_content(patient=patient) | {"report_cadence_days": 5}
    response = client.post(
        page(patient), {"content_json": json.dumps(bad), "confirm": "1", "reason": "x"}
    )
    assert response.status_code == 200
    assert not CarePlanVersion.objects.exists()


# --- htmx fragments -----------------------------------------------------------------------


def test_it_fills_the_targets_from_a_preset(client, alice, patient):
    client.force_login(alice)
    url = page(patient, "care-plans-targets")
    response = client.get(url, {"preset": "pregnancy_t1", "unit": "mg/dL"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="targets-fields">')
    assert 'value="63"' in body and 'value="140"' in body
    assert 'name="goal-TOTAL_FORMS"' in body and 'value="in_target_percent"' in body


def test_it_fills_the_targets_in_mmol_per_litre(client, alice, patient):
    client.force_login(alice)
    url = page(patient, "care-plans-targets")
    body = client.get(url, {"preset": "standard", "unit": "mmol/L"}, **HTMX).content.decode()
    assert 'value="3.9"' in body and 'value="10.0"' in body


def test_it_redirects_a_plain_preset_request_to_the_page(client, alice, patient):
    client.force_login(alice)
    response = client.get(page(patient, "care-plans-targets"), {"preset": "older_high_risk"})
    assert response.status_code == 302
    followed = client.get(response["Location"])
    assert followed.context["form"].initial["preset"] == "older_high_risk"


def test_it_adds_a_medication_row(client, alice, patient):
    client.force_login(alice)
    url = page(patient, "care-plans-medication-row")
    body = client.get(url, {"med-TOTAL_FORMS": "2"}, **HTMX).content.decode()
    assert 'name="med-2-product"' in body
    assert 'hx-swap-oob="true"' in body and 'value="3"' in body


def test_it_refuses_fragments_to_other_clinicians(client, bob, staff, patient):
    for user in (bob, staff):
        client.force_login(user)
        assert client.get(page(patient, "care-plans-targets"), **HTMX).status_code == 404
        assert client.get(page(patient, "care-plans-medication-row"), **HTMX).status_code == 404


def test_it_refuses_fragments_to_the_patient(client, patient):
    client.force_login(patient.user)
    assert client.get(page(patient, "care-plans-targets"), **HTMX).status_code == 403


# --- who sees what ------------------------------------------------------------------------


def test_it_refuses_another_endocrinologist(client, bob, patient, version):
    client.force_login(bob)
    assert client.get(page(patient)).status_code == 404
    assert client.post(page(patient), form_data()).status_code == 404
    assert client.get(page(patient, "care-plans-history")).status_code == 404


def test_it_shows_staff_only_the_scheduling(client, staff, patient, version):
    client.force_login(staff)
    response = client.get(page(patient))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Follow-up visit every 90 days" in body
    assert "Eye examination" in body
    assert "Metformin" not in body and "First plan" not in body
    assert 'id="care-plan-editor"' not in body
    assert client.post(page(patient), form_data()).status_code == 403
    assert client.get(page(patient, "care-plans-history")).status_code == 404


def test_it_shows_the_patient_a_plain_language_read_only_plan(client, patient, version):
    client.force_login(patient.user)
    response = client.get(page(patient))
    body = response.content.decode()
    assert "Your personalized care plan" in body
    assert "Take Metformin, 1000 mg" in body
    assert "Try to keep your glucose between 70 and 180 mg/dL" in body
    assert 'id="care-plan-editor"' not in body
    assert client.post(page(patient), form_data()).status_code == 403
    assert CarePlanVersion.objects.count() == 1


def test_it_shows_the_patient_glucose_in_their_unit(client, patient, version):
    patient.user.unit = "mmol/L"
    patient.user.save()
    client.force_login(patient.user)
    body = client.get(page(patient)).content.decode()
    assert "between 3.9 and 10.0 mmol/L" in body


def test_it_refuses_an_outsider_patient(client, other_patient, patient, version):
    client.force_login(other_patient.user)
    assert client.get(page(patient)).status_code == 404
    assert client.get(page(patient, "care-plans-history")).status_code == 404
    url = page(patient, "care-plans-compare") + "?a=1&b=1"
    assert client.get(url).status_code == 404


def test_it_sends_anonymous_visitors_to_sign_in(client, patient):
    assert client.get(page(patient)).status_code == 302


# --- history and compare ------------------------------------------------------------------


def test_it_lists_versions_with_reason_and_report(client, alice, patient, version, make_report):
    report_id = make_report(patient).pk
    content = dict(version.content, report_cadence_days=7)
    care_plan_revise(
        patient=patient,
        by=alice,
        reason="Weekly reports",
        content=content,
        responds_to_report_id=report_id,
    )
    client.force_login(alice)
    body = client.get(page(patient, "care-plans-history")).content.decode()
    assert "Weekly reports" in body and "First plan" in body
    assert f"/reports/{report_id}/" in body
    assert "?a=1&amp;b=2" in body


def test_it_compares_any_two_versions(client, alice, patient, version):
    content = dict(version.content, report_cadence_days=7, medications=[])
    care_plan_revise(patient=patient, by=alice, reason="Stop metformin", content=content)
    client.force_login(alice)
    response = client.get(page(patient, "care-plans-compare"), {"a": 1, "b": 2})
    assert response.status_code == 200
    changes = {(c["field"], c["change"]) for c in response.context["diff"]}
    assert changes == {("report_cadence_days", "changed"), ("medications", "stopped")}
    assert "Metformin 1000 mg" in response.content.decode()
    assert client.get(page(patient, "care-plans-compare"), {"a": 1, "b": 9}).status_code == 404
    assert client.get(page(patient, "care-plans-compare"), {"a": "x"}).status_code == 404


def test_the_patient_can_read_the_history(client, patient, version):
    client.force_login(patient.user)
    assert client.get(page(patient, "care-plans-history")).status_code == 200


# --- workspace panel ----------------------------------------------------------------------


def test_it_invites_the_endocrinologist_to_create_a_plan(client, alice, patient):
    client.force_login(alice)
    body = client.get(reverse("patients-plan", args=[patient.pk])).content.decode()
    assert "No care plan yet" in body and "Create plan" in body


def test_it_summarizes_the_current_plan_in_the_workspace(client, alice, patient, version):
    client.force_login(alice)
    body = client.get(reverse("patients-plan", args=[patient.pk])).content.decode()
    assert "Version 1" in body and "Metformin 1000 mg" in body
    assert "Review due" in body
    assert page(patient, "care-plans-history") in body


def test_it_flags_an_overdue_review_in_the_workspace(client, alice, patient, version):
    import datetime as dt

    from django.utils import timezone

    CarePlanVersion.objects.filter(pk=version.pk).update(
        created_at=timezone.now() - dt.timedelta(days=120)
    )
    client.force_login(alice)
    body = client.get(reverse("patients-plan", args=[patient.pk])).content.decode()
    assert "Review overdue since" in body


def test_it_does_not_offer_the_patient_to_create_a_plan(client, patient):
    client.force_login(patient.user)
    # The workspace's plan tab sends the patient to the plan section of their own view.
    response = client.get(reverse("patients-plan", args=[patient.pk]), follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("my-glucose") + "#plan"
    assert "has not written a plan yet" in body and "Create plan" not in body


def test_it_refuses_to_preview_a_link_to_another_patients_report(
    client, alice, patient, other_patient, make_report
):
    client.force_login(alice)
    report_id = make_report(other_patient).pk
    response = client.post(page(patient), form_data(report=str(report_id)))
    assert "confirm" not in response.context
    assert "is not one of this patient" in response.content.decode()


def test_it_speaks_the_patients_language(client, patient, version):
    patient.user.language = "zh-hans"
    patient.user.save()
    client.force_login(patient.user)
    body = client.get(page(patient)).content.decode()
    assert "您的个性化管理方案" in body
    assert "葡萄糖目标范围内时间 (TIR)" in body
    assert "糖化血红蛋白 (HbA1c)" in body
    assert "随访" in body


def test_it_shows_current_values_for_pregnancy_goals_and_warns_of_titration(client, alice, patient):
    """A 63-140 plan's goals get values from the readings (the rollups only know 70-180); an
    up-titration rule with time below range above goal is flagged on the plan page."""
    import numpy as np

    from care_plans.services import care_plan_default_content, care_plan_revise
    from readings.windows import window_dates
    from tests.reports.conftest import grid, load

    patient.diabetes_type = "GDM"
    patient.save()
    content = care_plan_default_content(patient=patient)
    content["medications"] = [
        {
            "kind": "insulin_basal",
            "product": "Insulin detemir",
            "dose": 8,
            "dose_unit": "U",
            "timing": "bedtime",
            "frequency": "once daily",
            "carb_ratio_g_per_u": None,
            "correction_factor_mg_dl_per_u": None,
            "titration_rule": "increase 1 U every 3 days",
        }
    ]
    care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    start, end = window_dates()
    t = grid(start, (end - start).days)  # up to yesterday: no readings in the future
    v = np.full(t.size, 100.0)
    v[np.arange(t.size) % 288 < 29] = 60.0  # 10.1 % below 63 (goal < 4 %)
    load(patient, t, v)
    client.force_login(alice)
    body = client.get(reverse("care-plans-detail", args=[patient.pk])).content.decode()
    row = body.split("Time below", 1)[1].split("</li>")[0]
    assert "10.1 %" in row and "not-met" in row
    assert "up-titration rule" in body and "Insulin detemir" in body


# --- the correction factor follows the editor's unit ---------------------------------------


def test_switching_the_editor_to_mmol_converts_the_correction_factor(client, alice, patient):
    """50 mg/dL per U is 50 / 18.016 = 2.775… → 2.8 mmol/L per U, labelled with its unit."""
    client.force_login(alice)
    query = {
        "preset": "standard",
        "unit": "mmol/L",
        "shown_unit": "mg/dL",
        "med-0-correction_factor": "50",
        "med-1-correction_factor": "",
    }
    body = client.get(page(patient, "care-plans-targets"), query, **HTMX).content.decode()
    assert 'name="med-0-correction_factor"' in body
    assert 'value="2.8"' in body and 'value="50"' not in body
    assert "mmol/L per U" in body
    back = dict(query, unit="mg/dL", shown_unit="mmol/L", **{"med-0-correction_factor": "2.8"})
    body = client.get(page(patient, "care-plans-targets"), back, **HTMX).content.decode()
    assert 'value="50"' in body and "mg/dL per U" in body  # 2.8 × 18.016 = 50.4 → 50


def test_a_correction_factor_typed_in_mmol_is_stored_in_mg_dl(client, alice, patient):
    client.force_login(alice)
    data = form_data(
        unit="mmol/L",
        range_low="3.9",
        range_high="10.0",
        **{
            "med-0-kind": "insulin_bolus",
            "med-0-product": "Insulin aspart",
            "med-0-dose": "6",
            "med-0-correction_factor": "2.5",
        },
    )
    content = json.loads(client.post(page(patient), data).context["content_json"])
    factor = content["medications"][0]["correction_factor_mg_dl_per_u"]
    assert factor == pytest.approx(2.5 * 18.016, abs=0.5)  # 45 mg/dL per U


def test_the_plan_shows_the_correction_factor_in_the_readers_unit(client, alice, patient):
    content = care_plan_default_content(patient=patient)
    content["medications"] = [
        {
            "kind": "insulin_bolus",
            "product": "Insulin aspart",
            "dose": 6,
            "dose_unit": "U",
            "correction_factor_mg_dl_per_u": 54,
        }
    ]
    care_plan_revise(patient=patient, by=alice, reason="Bolus", content=content)
    alice.unit = "mmol/L"
    alice.save()
    client.force_login(alice)
    body = client.get(page(patient)).content.decode()
    assert "1 U / 3.0 mmol/L" in body  # 54 / 18.016 = 2.997
    assert "54 mg/dL" not in body


def test_the_compare_page_says_range_and_factor_changes_in_the_readers_unit(client, alice, patient):
    first = care_plan_default_content(patient=patient)
    bolus = {"kind": "insulin_bolus", "product": "Aspart", "dose": 6, "dose_unit": "U"}
    first["medications"] = [{**bolus, "correction_factor_mg_dl_per_u": 54}]
    care_plan_revise(patient=patient, by=alice, reason="v1", content=first)
    second = json.loads(json.dumps(first))
    second["targets"]["range_low"], second["targets"]["range_high"] = 63, 140
    second["medications"][0]["correction_factor_mg_dl_per_u"] = 36
    care_plan_revise(patient=patient, by=alice, reason="v2", content=second)
    alice.unit = "mmol/L"
    alice.save()
    client.force_login(alice)
    body = client.get(page(patient, "care-plans-compare"), {"a": 1, "b": 2}).content.decode()
    assert "3.9 mmol/L" in body and "3.5 mmol/L" in body  # 70 and 63 mg/dL
    assert "10.0 mmol/L" in body and "7.8 mmol/L" in body  # 180 and 140 mg/dL
    assert "3.0 mmol/L/U" in body and "2.0 mmol/L/U" in body  # 54 and 36 mg/dL per U
    assert "mg/dL" not in body


# --- issue #17 §2: the editor is exact in both units ---------------------------------------


def diff_table(html: str) -> str:
    """The review step's table of changes."""
    return html.split('<table class="data diff">', 1)[1].split("</table>", 1)[0]


def _gdm_plan(alice, center):
    from tests.conftest import make_patient

    patient = make_patient("MRN-GDM", center=center, endocrinologists=[alice], diabetes_type="GDM")
    content = care_plan_default_content(patient=patient)
    first = care_plan_revise(patient=patient, by=alice, reason="First plan", content=content)
    return patient, first


def test_it_keeps_a_pregnancy_plan_exact_when_a_mmol_clinician_changes_only_exercise(
    client, alice, center
):
    """Issue #17 §2 as reported: a mmol/L clinician opens a pregnancy plan (3.5–7.8 mmol/L),
    changes only exercise and saves. 140 mg/dL stays 140 (7.8 × 18.01559 = 140.5 would round
    to 141), the preset stays pregnancy, so the patient keeps the pregnancy finger-stick
    targets (ADA 15.x: fasting < 95, 1 h after meals < 140), and the diff names exercise only.
    """
    from glycemia.targets import meter_targets

    from .helpers import form_fields

    patient, first = _gdm_plan(alice, center)
    assert first.content["targets"]["preset"] == "pregnancy_t1"
    assert (first.content["targets"]["range_low"], first.content["targets"]["range_high"]) == (
        63,
        140,
    )
    alice.unit = "mmol/L"
    alice.save()
    client.force_login(alice)
    data = form_fields(client.get(page(patient)).content.decode())
    assert (data["unit"], data["range_low"], data["range_high"]) == (["mmol/L"], ["3.5"], ["7.8"])
    assert data["exercise_minutes_per_week"] == ["150"]
    data.update(exercise_minutes_per_week=["200"], reason=["More walking"])

    preview = client.post(page(patient), data)
    assert [c["field"] for c in preview.context["diff"]] == ["exercise.minutes_per_week"]
    table = diff_table(preview.content.decode())
    assert "Exercise" in table and "7.8 mmol/L" not in table  # no "7.8 → 7.8 mmol/L" row
    saved = client.post(
        page(patient),
        {"content_json": preview.context["content_json"], "reason": "More walking", "confirm": 1},
    )
    assert saved.status_code == 302

    second = CarePlanVersion.objects.get(plan__patient=patient, number=2)
    assert second.content["targets"] == first.content["targets"]
    assert second.content["targets"]["range_high"] == 140
    assert second.content["targets"]["preset"] == "pregnancy_t1"
    assert meter_targets(second.content["targets"])["fasting"] == (None, 95)
    assert meter_targets(second.content["targets"])["after_meal"] == (None, 140)
    assert second.content["exercise"]["minutes_per_week"] == 200
    changed = {k for k in first.content if first.content[k] != second.content[k]}
    assert changed == {"exercise"}


# Custom targets whose mmol/L display converts back to other mg/dL values: 66 mg/dL is shown
# 3.7 (66 / 18.01559 = 3.663) and 3.7 × 18.01559 = 66.66 -> 67; 145 -> 8.0 -> 144.12 -> 144.
CUSTOM_TARGETS = {
    "preset": "custom",
    "label": "",
    "range_low": 66,
    "range_high": 145,
    "goals": [
        {**goal, "target": {"in_range_percent": 65.0, "cv_percent": 33.0}.get(goal["key"], t)}
        for goal in PRESETS["standard"]["goals"]
        for t in [goal["target"]]
    ],
}
TARGETS = {
    **{preset: {"preset": preset, **PRESETS[preset]} for preset in PRESETS},
    "custom": CUSTOM_TARGETS,
}
UNITS = ("mg/dL", "mmol/L")


def _plan_with(patient, alice, preset):
    import copy

    content = care_plan_default_content(patient=patient)
    content["targets"] = copy.deepcopy(TARGETS[preset])
    return care_plan_revise(patient=patient, by=alice, reason="First plan", content=content)


def _open_editor(client, alice, patient, unit, **query):
    from .helpers import form_fields

    alice.unit = unit
    alice.save()
    client.force_login(alice)
    return form_fields(client.get(page(patient), query).content.decode())


def _mg_dl(typed: str, unit: str):
    """Independently of the code: mmol/L × 18.01559 rounded half up to whole mg/dL."""
    from decimal import ROUND_HALF_UP, Decimal

    if unit == "mg/dL":
        return int(typed)
    return int((Decimal(typed) * Decimal("18.01559")).quantize(Decimal(1), ROUND_HALF_UP))


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("preset", TARGETS)
def test_it_refuses_to_save_a_plan_opened_and_saved_unchanged(client, alice, patient, preset, unit):
    first = _plan_with(patient, alice, preset)
    data = _open_editor(client, alice, patient, unit)
    data["reason"] = ["Reviewed"]
    response = client.post(page(patient), data)
    assert "confirm" not in response.context
    assert response.context["form"].non_field_errors() == [
        "Nothing changed: this is the same as version 1. Change the plan, or leave it as it is."
    ]
    assert "Nothing changed: this is the same as version 1." in response.content.decode()
    # The same through htmx: the form comes back with the error, nothing is saved.
    response = client.post(page(patient), data, **HTMX)
    assert response.templates[0].name == "care_plans/_editor.html"
    assert "Nothing changed" in response.content.decode()
    assert list(CarePlanVersion.objects.values_list("number", flat=True)) == [first.number]


def _target_fields():
    for preset, targets in TARGETS.items():
        for unit in UNITS:
            yield preset, unit, "range_low"
            yield preset, unit, "range_high"
            for i in range(len(targets["goals"])):
                yield preset, unit, f"goal-{i}-target"


@pytest.mark.parametrize(("preset", "unit", "field"), list(_target_fields()))
def test_it_saves_exactly_the_target_that_changed(client, alice, patient, preset, unit, field):
    first = _plan_with(patient, alice, preset)
    data = _open_editor(client, alice, patient, unit)
    (shown,) = data[field]
    if field.startswith("goal-"):
        i = int(field.split("-")[1])
        goal = first.content["targets"]["goals"][i]
        assert float(shown) == goal["target"]
        typed = f"{float(shown) + 1:.1f}"
        path, old, new = "targets.goals", goal["target"], float(typed)
    else:
        step = "0.1" if unit == "mmol/L" else "1"
        typed = str(__import__("decimal").Decimal(shown) + __import__("decimal").Decimal(step))
        path, old, new = f"targets.{field}", first.content["targets"][field], _mg_dl(typed, unit)
        assert new != old
    data.update({field: [typed], "reason": ["Adjust"]})

    preview = client.post(page(patient), data)
    assert "confirm" in preview.context, preview.context["form"].errors
    diff = preview.context["diff"]
    expected = {path} if preset == "custom" else {path, "targets.preset", "targets.label"}
    assert {c["field"] for c in diff} == expected
    (change,) = [c for c in diff if c["field"] == path]
    if path == "targets.goals":
        assert (change["old"]["target"], change["new"]["target"], change["fields"]) == (
            old,
            new,
            ["target"],
        )
    else:
        assert (change["old"], change["new"]) == (old, new)
        table = diff_table(preview.content.decode())
        # The change shows as one: the old value as it was shown, the new one as typed.
        assert f"<td>{shown} {unit}</td>" in table and f"<td>{typed} {unit}</td>" in table
    saved = client.post(
        page(patient),
        {"content_json": preview.context["content_json"], "reason": "Adjust", "confirm": 1},
    )
    assert saved.status_code == 302
    second = CarePlanVersion.objects.get(plan__patient=patient, number=2)
    before, after = first.content, second.content
    assert {k for k in before if before[k] != after[k]} == {"targets"}
    changed = {k for k in before["targets"] if before["targets"][k] != after["targets"][k]}
    key = "goals" if path == "targets.goals" else field
    assert changed == ({key} if preset == "custom" else {key, "preset", "label"})
    if path == "targets.goals":
        assert after["targets"]["goals"][i]["target"] == new
        others = [g for j, g in enumerate(after["targets"]["goals"]) if j != i]
        assert others == [g for j, g in enumerate(before["targets"]["goals"]) if j != i]
    else:
        assert after["targets"][field] == new


def test_it_refuses_a_confirmation_that_changes_nothing(client, alice, patient, version):
    client.force_login(alice)
    response = client.post(
        page(patient),
        {"content_json": json.dumps(version.content), "reason": "Again", "confirm": "1"},
        follow=True,
    )
    assert "Nothing changed: this is the same as version 1." in response.content.decode()
    assert CarePlanVersion.objects.count() == 1


def test_it_keeps_a_report_link_and_saves_a_real_change_from_the_report(
    client, alice, patient, make_report
):
    """The editor opened from a report ("Revise the care plan in response to this report")
    still carries the report; unchanged it is refused, changed it is saved linked."""
    _plan_with(patient, alice, "pregnancy_t1")
    report_id = make_report(patient).pk
    data = _open_editor(client, alice, patient, "mmol/L", report=report_id)
    assert data["report"] == [str(report_id)]
    assert (data["range_low"], data["range_high"]) == (["3.5"], ["7.8"])
    data["reason"] = ["Report reviewed"]
    refused = client.post(page(patient), data)
    assert "confirm" not in refused.context and "Nothing changed" in refused.content.decode()
    data["report_cadence_days"] = ["7"]
    preview = client.post(page(patient), data)
    assert [c["field"] for c in preview.context["diff"]] == ["report_cadence_days"]
    client.post(
        page(patient),
        {
            "content_json": preview.context["content_json"],
            "reason": "Report reviewed",
            "report": str(report_id),
            "confirm": "1",
        },
    )
    second = CarePlanVersion.objects.get(number=2)
    assert second.responds_to_report_id == report_id
    assert (second.content["targets"]["range_high"], second.content["targets"]["preset"]) == (
        140,
        "pregnancy_t1",
    )


def test_it_keeps_labels_and_notes_it_did_not_change(client, alice, patient):
    """Check labels stored in English stay when a Chinese-speaking clinician saves; a note
    stored with LF stays although the browser sends CR LF."""
    content = care_plan_default_content(patient=patient)
    content["patient_instructions"] = "Walk after dinner.\nCall if below 70."
    care_plan_revise(patient=patient, by=alice, reason="First plan", content=content)
    alice.language = "zh-hans"
    alice.save()
    data = _open_editor(client, alice, patient, "mmol/L")
    assert data["patient_instructions"] == ["Walk after dinner.\r\nCall if below 70."]
    data["reason"] = ["Reviewed"]
    response = client.post(page(patient), data)
    assert "confirm" not in response.context
    assert "没有任何修改：与第 1 版相同。" in response.content.decode()
    assert CarePlanVersion.objects.count() == 1


def test_it_says_unchanged_targets_again_in_the_other_unit(client, alice, patient):
    """Switching the editor's unit converts the typed range through the stored values and
    keeps the goals and HbA1c goal: 145 mg/dL -> "8.0" -> 145, never 144; "custom" stays."""
    _plan_with(patient, alice, "custom")
    data = _open_editor(client, alice, patient, "mg/dL")
    query = {k: v[-1] for k, v in data.items() if k != "reason"}
    url = page(patient, "care-plans-targets")
    to_mmol = client.get(url, {**query, "unit": "mmol/L", "shown_unit": "mg/dL"}, **HTMX)
    form = to_mmol.context["form"]
    assert (form.initial["range_low"], form.initial["range_high"]) == (3.7, 8.0)
    assert form.initial["preset"] == "custom"
    assert form.initial["hba1c_goal_percent"] == data["hba1c_goal_percent"][0]
    goals = to_mmol.context["goals"].initial
    assert [g["target"] for g in goals] == [data[f"goal-{i}-target"][0] for i in range(6)]
    back = {**query, "range_low": "3.7", "range_high": "8.0", "unit": "mg/dL"}
    to_mg = client.get(url, {**back, "shown_unit": "mmol/L"}, **HTMX)
    form = to_mg.context["form"]
    assert (form.initial["range_low"], form.initial["range_high"]) == (66, 145)
    garbage = client.get(url, {**back, "range_low": "abc", "shown_unit": "mmol/L"}, **HTMX)
    assert garbage.status_code == 200


def test_choosing_custom_keeps_the_typed_targets(client, alice, patient):
    """ "Custom" used to load the standard preset over what the clinician had typed."""
    _plan_with(patient, alice, "pregnancy_t1")
    data = _open_editor(client, alice, patient, "mmol/L")
    query = {k: v[-1] for k, v in data.items() if k != "reason"}
    query.update(preset="custom", range_high="8.5", **{"goal-0-target": "75.0"})
    response = client.get(page(patient, "care-plans-targets"), query, **HTMX)
    form, goals = response.context["form"], response.context["goals"].initial
    assert (form.initial["range_low"], form.initial["range_high"]) == (3.5, 8.5)
    assert (goals[0]["key"], goals[0]["target"]) == ("in_target_percent", "75.0")
