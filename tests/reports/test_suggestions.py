"""Plan suggestions stored with reports (issue #21 §2): computed at generation, the API,
dismissing, accepting through the plan version that names one, and who may see them."""

import datetime as dt
import json

import numpy as np
import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise
from reports.models import ImmutableReportError, Suggestion
from reports.services import report_generate
from tests.reports.conftest import PERIOD_END, PERIOD_START, grid, load

pytestmark = pytest.mark.django_db

GLARGINE = {
    "kind": "insulin_basal",
    "product": "Insulin glargine",
    "dose": 20,
    "dose_unit": "U",
    "timing": "bedtime",
    "frequency": "once daily",
}


def t2_plan(patient, alice, *, algorithm="treat_to_target", meds=(GLARGINE,)):
    content = care_plan_default_content(patient=patient)
    content.update(medications=[dict(m) for m in meds], titration_algorithm=algorithm)
    # The version predates the report period: no dose change is still settling.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.utils.timezone.now", lambda: dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
        return care_plan_revise(patient=patient, by=alice, reason="Basal", content=content)


def fasting_trace(patient, fasting: float, *, other=150.0, lows_at_night=None):
    """14 days every 5 min (UTC patient): `fasting` in 06:00-07:00, `other` elsewhere;
    ``lows_at_night`` mg/dL 02:00-03:00 on every night when given."""
    t = grid(PERIOD_START, 14)
    minute = (t // 60) % 1440
    v = np.where((minute >= 360) & (minute < 420), fasting, other).astype(float)
    if lows_at_night is not None:
        v = np.where((minute >= 120) & (minute < 180), lows_at_night, v)
    load(patient, t, v)


@pytest.fixture
def t2(patient):
    patient.diabetes_type = "T2"
    patient.save(update_fields=["diabetes_type"])
    return patient


def generate(patient):
    return report_generate(patient_id=patient.pk, period_end=PERIOD_END, notify=False)


def test_it_stores_a_treat_to_target_increase_with_the_report(t2, alice):
    t2_plan(t2, alice)
    fasting_trace(t2, 180)  # mean fasting exactly 180 -> +8 U (Riddle 2003)
    report = generate(t2)
    [s] = report.suggestions.all()
    assert (s.rule, s.kind, s.state) == ("basal_titration", "basal_increase", "open")
    assert s.proposed_change == {"medications.0.dose": {"from": 20, "to": 28}}
    assert s.patient_id == t2.pk and "Riddle" in s.source
    assert s.days == ["2026-03-13", "2026-03-14"]


def test_a_patient_with_time_below_54_over_goal_never_gets_an_increase(t2, alice):
    t2_plan(t2, alice)
    # Fasting 200 would earn +8 U; an hour at 45 mg/dL every night is ~4 % below 54.
    fasting_trace(t2, 200, lows_at_night=45)
    report = generate(t2)
    kinds = {s.kind: s for s in report.suggestions.all()}
    assert "basal_decrease" in kinds
    assert kinds["basal_decrease"].proposed_change == {
        "medications.0.dose": {"from": 20, "to": 16}  # 20 % lower: < 54 over its goal
    }
    increases = [s for s in report.suggestions.all() if s.kind == "basal_increase"]
    assert all(s.proposed_change is None and s.blocked_by for s in increases)


def test_a_report_with_no_plan_still_gets_its_suggestions_shape(patient):
    fasting_trace(patient, 110, other=120)
    report = generate(patient)
    assert report is not None
    assert [s.kind for s in report.suggestions.all()] in ([], ["no_change"])


def test_a_suggestion_is_immutable_but_its_decision(t2, alice):
    t2_plan(t2, alice)
    fasting_trace(t2, 180)
    s = generate(t2).suggestions.get()
    s.kind = "no_change"
    with pytest.raises(ImmutableReportError):
        s.save()


def test_plan_change_applies_the_diff_and_skips_a_stale_one(t2, alice):
    version = t2_plan(t2, alice)
    fasting_trace(t2, 180)
    s = generate(t2).suggestions.get()
    changed = s.plan_change(version.content)
    assert changed["medications"][0]["dose"] == 28
    assert version.content["medications"][0]["dose"] == 20  # a copy
    stale = {**version.content, "medications": [{**GLARGINE, "dose": 24}]}
    assert s.plan_change(stale)["medications"][0]["dose"] == 24
    assert not s.applies_to(stale) and s.applies_to(version.content)
    stop = Suggestion(proposed_change={"medications.1": {"from": {"x": 1}, "to": None}})
    content = {"medications": [{"a": 1}, {"x": 1}, {"b": 2}]}
    assert stop.plan_change(content) == {"medications": [{"a": 1}, {"b": 2}]}
    for garbage in ({"medications.9.dose": {"from": 1, "to": 2}}, {"x.y.z": 3}, {"": {}}):
        assert Suggestion(proposed_change=garbage).plan_change(content) == content


# --- API ----------------------------------------------------------------------------------


def api(report):
    return reverse("api-reports-suggestions", args=[report.pk])


def dismiss_url(s):
    return reverse("api-suggestions-dismiss", args=[s.pk])


def test_the_api_lists_them_in_the_documented_shape(client, t2, alice):
    t2_plan(t2, alice)
    fasting_trace(t2, 180)
    report = generate(t2)
    client.force_login(alice)
    [row] = client.get(api(report)).json()
    assert set(row) == {
        "id", "rule", "kind", "source", "evidence", "proposed_change", "blocked_by", "state"
    }  # fmt: skip
    assert row["evidence"] == {
        "days": ["2026-03-13", "2026-03-14"],
        "summary": row["evidence"]["summary"],
    }
    assert row["proposed_change"] == {"medications.0.dose": {"from": 20, "to": 28}}
    assert (row["blocked_by"], row["state"]) == ([], "open")


def test_only_the_clinicians_see_them(client, t2, alice, bob, staff, admin_user):
    t2_plan(t2, alice)
    fasting_trace(t2, 180)
    report = generate(t2)
    s = report.suggestions.get()
    expected = {t2.user: 403, bob: 404, staff: 404, admin_user: 200, alice: 200}
    for user, status in expected.items():
        client.force_login(user)
        assert client.get(api(report)).status_code == status, user
        if status != 200:
            answer = client.post(dismiss_url(s), {"reason": "x"}, content_type="application/json")
            assert answer.status_code == status, user
    client.force_login(t2.user)
    body = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert "Suggested changes" not in body and "Riddle" not in body
    client.logout()
    assert client.get(api(report)).status_code in (401, 403)


def test_dismissing_needs_a_reason_and_happens_once(client, t2, alice):
    t2_plan(t2, alice)
    fasting_trace(t2, 180)
    s = generate(t2).suggestions.get()
    client.force_login(alice)
    url = dismiss_url(s)
    assert client.post(url, {}, content_type="application/json").status_code == 400
    assert client.post(url, {"reason": "  "}, content_type="application/json").status_code == 400
    ok = client.post(url, {"reason": "Seen in clinic"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["state"] == "dismissed"
    again = client.post(url, {"reason": "again"}, content_type="application/json")
    assert again.status_code == 409
    s.refresh_from_db()
    assert (s.decided_by, s.dismiss_reason) == (alice, "Seen in clinic")
    assert AuditEvent.objects.filter(what=f"suggestion {s.pk} dismissed").count() == 1
    assert client.get(url).status_code == 405
    assert client.post(reverse("api-suggestions-dismiss", args=[10**12])).status_code == 404


def test_the_page_dismisses_with_a_reason_and_survives_hostile_text(client, t2, alice):
    t2_plan(t2, alice)
    fasting_trace(t2, 180)
    report = generate(t2)
    s = report.suggestions.get()
    client.force_login(alice)
    url = reverse("reports-suggestion-dismiss", args=[s.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"reason": ""})
    assert response.status_code == 302
    s.refresh_from_db()
    assert s.state == "open"
    form = "application/x-www-form-urlencoded"
    for body in ("reason=no%00+thanks", "reason=%ED%A0%80%FF", "reason=" + "a" * 5000):
        assert client.post(url, body, content_type=form).status_code in (302, 400)
    s.refresh_from_db()
    assert s.state == "dismissed" and "\x00" not in s.dismiss_reason
    assert len(s.dismiss_reason) <= 2000


def test_saving_the_version_that_names_it_accepts_it_and_the_report_links_it(client, t2, alice):
    version = t2_plan(t2, alice)
    fasting_trace(t2, 180)
    report = generate(t2)
    s = report.suggestions.get()
    client.force_login(alice)
    page = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert "Suggested changes" in page and "Use this suggestion" in page
    assert f"?prompt=reports.suggestion:{s.pk}" in page
    new = care_plan_revise(
        patient=t2,
        by=alice,
        reason="Titrate per report",
        content=s.plan_change(version.content),
        prompted_by=s,
    )
    s.refresh_from_db()
    assert (s.state, s.decided_by, s.decided_at) == ("accepted", alice, new.created_at)
    assert new.responds_to_report_id == report.pk
    assert list(CarePlanVersion.objects.prompted_by(s)) == [new]
    assert AuditEvent.objects.filter(what__startswith=f"suggestion {s.pk} accepted").exists()
    page = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert 'id="prompted-versions"' in page and "Titrate per report" in page
    assert "Use this suggestion" not in page
    dismissed = client.post(dismiss_url(s), {"reason": "late"}, content_type="application/json")
    assert dismissed.status_code == 409


def test_the_page_shows_evidence_in_the_readers_unit(client, t2, alice):
    t2_plan(t2, alice)
    fasting_trace(t2, 180)
    report = generate(t2)
    client.force_login(alice)
    page = client.get(reverse("reports-detail", args=[report.pk]), {"unit": "mmol/L"})
    body = page.content.decode()
    assert "Mean fasting glucose 10.0 mmol/L" in body  # 180 mg/dL
    section = body.split('id="suggestions"')[1].split('class="suggestion-source"')[0]
    assert "mg/dL" not in section  # the source is quoted as published; the evidence is not
    # Each evidence day opens the workspace's daily view of that day.
    [suggestion] = [s for s in report.suggestions.all() if s.days][:1]
    day = suggestion.days[-1]
    assert f'href="/patients/{t2.pk}/day/?date={day}"' in section


HOSTILE = ["\x00", "\ud800", "1" + "0" * 400, "a" * 5000, ["x"], {"a": 1}, None, 10**30]


def test_the_api_answers_hostile_input_with_a_4xx(client, t2, alice):
    t2_plan(t2, alice)
    fasting_trace(t2, 180)
    s = generate(t2).suggestions.get()
    client.force_login(alice)
    for value in HOSTILE:
        body = json.dumps({"reason": value}, ensure_ascii=True)
        response = client.post(dismiss_url(s), body, content_type="application/json")
        assert response.status_code in (200, 400, 409), (value, response.status_code)
    for pk in ("1" + "0" * 400, "0"):
        assert client.get(f"/api/v1/reports/{pk}/suggestions/").status_code == 404
        assert client.post(f"/api/v1/suggestions/{pk}/dismiss/").status_code == 404
    assert client.post(dismiss_url(s), "[", content_type="application/json").status_code == 400


def test_use_this_suggestion_prefills_the_editor_and_confirming_accepts_it(client, t2, alice):
    t2_plan(t2, alice)
    fasting_trace(t2, 180)
    report = generate(t2)
    s = report.suggestions.get()
    client.force_login(alice)
    plan_url = reverse("care-plans-detail", args=[t2.pk])
    token = f"reports.suggestion:{s.pk}"
    editor = client.get(plan_url, {"prompt": token})
    assert editor.context["meds"].initial[0]["dose"] == 28  # prefilled, not saved
    assert CarePlanVersion.objects.count() == 1
    s.refresh_from_db()
    assert s.state == "open"
    from tests.care_plans.helpers import form_fields

    data = form_fields(editor.content.decode())
    data.update(reason=["Titrate per report"], prompt=[token])
    preview = client.post(plan_url, data)
    assert preview.status_code == 200 and "Review and save version 2" in preview.content.decode()
    saved = client.post(
        plan_url,
        {
            "content_json": preview.context["content_json"],
            "reason": "Titrate per report",
            "prompt": token,
            "confirm": "1",
        },
    )
    assert saved.status_code == 302
    new = CarePlanVersion.objects.order_by("-number").first()
    assert new.content["medications"][0]["dose"] == 28
    assert new.prompted_by == s and new.responds_to_report_id == report.pk
    s.refresh_from_db()
    assert s.state == "accepted" and s.decided_by == alice


def test_the_pdf_shows_them_to_clinicians_and_never_to_the_patient(client, t2, alice):
    from reports.pdf import report_pdf_bytes
    from tests.reports.test_pdf import text_of

    t2_plan(t2, alice)
    fasting_trace(t2, 180)
    report = generate(t2)
    clinician = text_of(report_pdf_bytes(report, unit="mmol/L"))
    assert "Suggested changes" in clinician and "Raise the basal insulin" in clinician
    assert "Insulin glargine, dose 20 U 28 U" in clinician
    assert "Mean fasting glucose 10.0 mmol/L" in clinician and "Riddle" in clinician
    patient = text_of(report_pdf_bytes(report, for_patient=True))
    assert "Suggested changes" not in patient and "Riddle" not in patient
    client.force_login(t2.user)
    own = client.get(reverse("reports-pdf", args=[report.pk]))
    assert own.status_code == 200 and "Suggested changes" not in text_of(own.content)


def test_the_next_report_shows_the_outcome_and_the_population_view_counts_it(
    client, t2, alice, patient_user
):
    import time_machine

    from tests.reports.conftest import load

    version = t2_plan(t2, alice)
    fasting_trace(t2, 180)
    report = generate(t2)
    s = report.suggestions.get()
    with time_machine.travel(dt.datetime(2026, 3, 15, 10, tzinfo=dt.UTC), tick=False):
        care_plan_revise(
            patient=t2,
            by=alice,
            reason="T2T",
            content=s.plan_change(version.content),
            prompted_by=s,
        )
    # The next 14 days: fasting 120 mg/dL (from 180: -60 mg/dL, now within <= 130).
    t = grid(PERIOD_END + dt.timedelta(days=1), 14)
    minute = (t // 60) % 1440
    load(t2, t, np.where((minute >= 360) & (minute < 420), 120.0, 150.0))
    after = report_generate(
        patient_id=t2.pk, period_end=PERIOD_END + dt.timedelta(days=14), notify=False
    )
    client.force_login(alice)
    body = client.get(reverse("reports-detail", args=[after.pk])).content.decode()
    table = body.split('id="suggestion-outcomes"')[1].split("</table>")[0]
    assert "Raise the basal insulin" in table and "Fasting glucose" in table
    assert "180 mg/dL" in table and "120 mg/dL" in table and "≤ 130 mg/dL" in table
    before_page = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert 'id="suggestion-outcomes"' not in before_page
    population = client.get(reverse("patients-population")).content.decode()
    row = population.split('data-rule="basal_titration"')[1].split("</tr>")[0]
    cells = [c.split(">", 1)[1].split("<")[0] for c in row.split("<td")[1:]]
    assert cells[:4] == ["Basal insulin titration", "1", "1", "0"]
    assert "−60 mg/dL" in row and "(n = 1)" in row


def test_the_sources_are_said_in_the_readers_unit_too():
    from glycemia.suggestions import basal, lows
    from reports.suggestion_wording import in_unit

    text = in_unit(basal.SOURCE_TREAT_TO_TARGET + lows.SOURCE_HYPO, "mmol/L")
    assert "mg/dL" not in text
    # 180 mg/dL = 10.0 mmol/L, 140–180 = 7.8–10.0, 72 = 4.0 (18.01559 mg/dL per mmol/L)
    assert "≥ 10.0 mmol/L +8 U, 7.8–10.0 mmol/L +6 U" in text and "< 4.0 mmol/L" in text
    assert "3080–3086" in text and "10–20 %" in text  # pages and percentages as written
    assert in_unit(basal.SOURCE_TREAT_TO_TARGET, "mg/dL") == basal.SOURCE_TREAT_TO_TARGET


def test_a_change_the_plan_no_longer_holds_is_not_offered(client, t2, alice):
    version = t2_plan(t2, alice)
    fasting_trace(t2, 180)
    report = generate(t2)
    content = {**version.content, "medications": [{**GLARGINE, "dose": 22}]}
    care_plan_revise(patient=t2, by=alice, reason="Changed at a visit", content=content)
    client.force_login(alice)
    body = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert "Use this suggestion" not in body
    assert "The plan has changed since this report" in body


def test_the_fasting_outcome_is_read_in_the_hour_before_the_plans_wake_time(patient, alice):
    """Fasting glucose for the titration outcome: the profile's hour before the wake time of
    the plan the report was made under (06:00 here), not a fixed 07:00."""
    import datetime as dt

    from care_plans.services import care_plan_default_content, care_plan_revise
    from reports.models import Report
    from reports.outcomes import metric_value

    content = care_plan_default_content(patient=patient)
    content["wake_time"] = "06:00"
    version = care_plan_revise(patient=patient, by=alice, reason="Early riser", content=content)
    day = [None] * 96  # 15-minute slots
    for slot in range(20, 24):  # 05:00-06:00
        day[slot] = 120.0
    for slot in range(24, 28):  # 06:00-07:00: breakfast already
        day[slot] = 200.0
    report = Report.objects.create(
        patient=patient,
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 14),
        care_plan_version_id=version.pk,
        metrics={"profile": {"step_minutes": 15, "days": {"2026-11-02": day, "2026-11-03": day}}},
    )
    assert metric_value(report, "fasting_mg_dl") == 120.0
    report.care_plan_version_id = None  # no plan known: the default 07:00
    assert metric_value(report, "fasting_mg_dl") == 200.0


def test_it_gives_the_rules_the_reports_own_window_metrics(patient, load_simulated, monkeypatch):
    """The rules take the metrics the report computed (the same readings, window and zone)
    instead of computing them a second time, and store what they would have computed."""
    import glycemia.suggestions.case as case

    load_simulated(patient)
    computed = []
    own = case.window_metrics

    def counted(*args, **kwargs):
        computed.append(args)
        return own(*args, **kwargs)

    monkeypatch.setattr(case, "window_metrics", counted)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    assert report.kind == "cgm" and not computed
    stored = list(report.suggestions.order_by("position").values("rule", "kind", "evidence"))
    assert stored

    # The same report with the rules computing their own metrics stores the same suggestions.
    monkeypatch.setattr(case, "without_mage_and_agp", lambda m: pytest.fail("reused"))
    import reports.suggestions as rs

    compute = rs.suggestions_compute
    monkeypatch.setattr(
        rs, "suggestions_compute", lambda **kw: compute(**{**kw, "window_metrics": None})
    )
    report.delete()
    again = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    assert len(computed) == 1
    assert list(again.suggestions.order_by("position").values("rule", "kind", "evidence")) == (
        stored
    )
