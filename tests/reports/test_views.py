"""Report pages: the report, its PDF, the note, Generate now, the unread list, the panel."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from reports.models import Report, ReportNotification
from reports.services import report_generate
from tests.reports.conftest import PERIOD_END

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(patient, load_simulated):
    load_simulated(patient)
    return report_generate(patient_id=patient.pk, period_end=PERIOD_END)


def test_it_shows_the_report_to_the_patients_endocrinologist(client, alice, report):
    client.force_login(alice)
    response = client.get(reverse("reports-detail", args=[report.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Time in range (TIR)" in body and "Ambulatory glucose profile (AGP)" in body
    assert 'id="fig-agp"' in body and "vendor/plotly.min.js" in body
    assert f"{report.metrics['in_range_percent']:.1f} %" in body
    assert AuditEvent.objects.filter(user=alice, what=f"report {report.pk}").exists()


def test_it_shows_the_report_in_mmol(client, alice, report):
    client.force_login(alice)
    body = client.get(reverse("reports-detail", args=[report.pk]) + "?unit=mmol/L").content
    assert "3.9–10.0 mmol/L".encode() in body


@pytest.mark.parametrize("who", ["alice", "admin_user"])
@pytest.mark.parametrize("pk", [0, 2**63 - 1, 2**63, 10**400])
def test_a_report_that_is_not_there_is_a_404_for_its_own_clinician(
    client, request, report, who, pk
):
    """The care team's lookup (compiled once) and an admin's answer an absent or huge id
    as the queryset does: not found, never a server error."""
    client.force_login(request.getfixturevalue(who))
    for name in ("reports-detail", "reports-pdf", "reports-mark-read"):
        method = client.post if name == "reports-mark-read" else client.get
        assert method(reverse(name, args=[pk])).status_code == 404
    assert client.get(reverse("reports-detail", args=[report.pk])).status_code == 200


def test_it_shows_the_patient_their_own_report(client, patient_user, report):
    client.force_login(patient_user)
    assert client.get(reverse("reports-detail", args=[report.pk])).status_code == 200


@pytest.mark.parametrize("who", ["bob", "staff", "other_patient_user"])
def test_it_refuses_outsiders(client, request, report, who):
    client.force_login(request.getfixturevalue(who))
    for name in ("reports-detail", "reports-pdf"):
        assert client.get(reverse(name, args=[report.pk])).status_code == 404
    response = client.post(reverse("reports-note", args=[report.pk]), {"note": "x"})
    assert response.status_code == 404
    response = client.post(reverse("reports-generate", args=[report.patient_id]))
    assert response.status_code == 404
    assert client.post(reverse("reports-mark-read", args=[report.pk])).status_code == 404


def test_it_refuses_anonymous_visitors(client, report):
    response = client.get(reverse("reports-detail", args=[report.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_lets_the_endocrinologist_write_the_note_with_htmx(client, alice, report):
    client.force_login(alice)
    response = client.post(
        reverse("reports-note", args=[report.pk]),
        {"note": "Lower basal 10 %"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and b"Lower basal 10 %" in response.content
    assert b"<html" not in response.content  # the fragment only
    report.refresh_from_db()
    assert report.clinician_note == "Lower basal 10 %" and report.note_by == alice


def test_it_refuses_the_note_from_the_patient(client, patient_user, report):
    client.force_login(patient_user)
    response = client.post(reverse("reports-note", args=[report.pk]), {"note": "mine"})
    assert response.status_code == 403


def test_it_generates_now_for_a_clinician(client, alice, patient, load_simulated):
    load_simulated(patient, start=PERIOD_END)  # any data; the period ends yesterday
    client.force_login(alice)
    response = client.post(reverse("reports-generate", args=[patient.pk]))
    assert response.status_code == 302
    assert Report.objects.filter(patient=patient).count() <= 1


def test_it_does_not_let_a_patient_generate(client, patient_user, patient):
    client.force_login(patient_user)
    assert client.post(reverse("reports-generate", args=[patient.pk])).status_code == 403


def test_it_lists_unread_reports_and_marks_them_read(client, alice, report):
    client.force_login(alice)
    body = client.get(reverse("reports-unread")).content.decode()
    assert reverse("reports-detail", args=[report.pk]) in body
    page = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    # Reading the report changes nothing (GET is safe); marking it read is a POST.
    assert ReportNotification.objects.filter(user=alice, read_at__isnull=True).exists()
    assert reverse("reports-mark-read", args=[report.pk]) in page
    response = client.post(reverse("reports-mark-read", args=[report.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Marked as read" in response.content
    assert not ReportNotification.objects.filter(user=alice, read_at__isnull=True).exists()
    assert b"No unread reports." in client.get(reverse("reports-unread")).content
    assert client.get(reverse("reports-mark-read", args=[report.pk])).status_code == 405


def test_it_shows_the_menus_unread_count_and_this_reports_state_from_one_count(
    client, alice, report
):
    earlier = Report.objects.create(
        patient_id=report.patient_id,
        period_start=report.period_start - dt.timedelta(days=14),
        period_end=report.period_end - dt.timedelta(days=14),
        kind=report.kind,
        metrics=report.metrics,
        goals=report.goals,
        targets=report.targets,
    )
    ReportNotification.objects.create(report=earlier, user=alice)
    client.force_login(alice)

    def page(pk) -> str:
        return client.get(reverse("reports-detail", args=[pk])).content.decode()

    def badge(body: str) -> str:
        return re.search(r'<span class="badge"[^>]*>(\d+)</span>', body).group(1)

    body = page(report.pk)
    assert badge(body) == "2" and reverse("reports-mark-read", args=[report.pk]) in body
    client.post(reverse("reports-mark-read", args=[report.pk]))
    body = page(report.pk)
    assert badge(body) == "1" and reverse("reports-mark-read", args=[report.pk]) not in body
    assert reverse("reports-mark-read", args=[earlier.pk]) in page(earlier.pk)


def test_it_audits_each_patient_on_the_unread_list(client, alice, report):
    client.force_login(alice)
    client.get(reverse("reports-unread"))
    event = AuditEvent.objects.get(what="unread reports list")
    assert (event.username, event.patient_id) == ("alice", report.patient_id)


def test_it_counts_unread_reports_in_a_template_tag(rf, alice, report):
    from django.template import Context, Template

    template = Template("{% load reports_tags %}{% unread_reports_count %}")
    assert template.render(Context({"user": alice})) == "1"


def test_it_shows_reports_and_the_generate_button_on_the_patient_workspace(client, alice, report):
    client.force_login(alice)
    body = client.get(reverse("patients-reports", args=[report.patient_id])).content.decode()
    assert reverse("reports-detail", args=[report.pk]) in body
    assert reverse("reports-generate", args=[report.patient_id]) in body


def test_it_shows_an_empty_state_and_no_button_to_the_patient(client, patient_user, patient):
    client.force_login(patient_user)
    response = client.get(reverse("patients-reports", args=[patient.pk]), follow=True)
    body = response.content.decode()
    assert response.redirect_chain == [(reverse("my-glucose") + "#reports", 302)]
    assert "No reports yet." in body
    assert reverse("reports-generate", args=[patient.pk]) not in body


def test_it_serves_a_pdf(client, alice, report):
    client.force_login(alice)
    response = client.get(reverse("reports-pdf", args=[report.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_it_shows_a_meter_report(client, alice, patient, load_meter):
    load_meter(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    client.force_login(alice)
    body = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert "Finger-stick glucose (SMBG)" in body and 'id="fig-meter"' in body


def test_it_draws_figures_that_plotly_accepts(report, patient, load_meter, other_patient):
    import plotly.graph_objects as go

    from reports.figures import report_figures

    for unit in ("mg/dL", "mmol/L"):
        for figure in report_figures(report, unit=unit).values():
            go.Figure(figure)  # raises on any invalid property
    load_meter(other_patient)
    meter = report_generate(patient_id=other_patient.pk, period_end=PERIOD_END)
    go.Figure(report_figures(meter, unit="mg/dL")["meter"])


def test_it_keeps_the_internal_note_from_the_patient(client, alice, patient_user, report):
    client.force_login(alice)
    page = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert "care team only" in page and "The patient reads this" in page  # the form says who
    client.post(
        reverse("reports-note", args=[report.pk]),
        {"note": "Suspect basal too high", "message": "Well done on the sensor wear"},
    )
    client.force_login(patient_user)
    page = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert "Well done on the sensor wear" in page and "Suspect basal too high" not in page
    data = client.get(f"/api/v1/reports/{report.pk}/").json()
    assert (
        "clinician_note" not in data and data["patient_message"] == "Well done on the sensor wear"
    )
    client.force_login(alice)
    data = client.get(f"/api/v1/reports/{report.pk}/").json()
    assert data["clinician_note"] == "Suspect basal too high"


def test_it_rounds_rather_than_truncates(client, alice, patient):
    """12 of 288 readings a day below 54: 4.1667 % shows as 4.2 % (truncation said 4.1 %),
    and "< 1 %" is not met."""
    import numpy as np

    from tests.reports.conftest import PERIOD_START, grid, load

    t = grid(PERIOD_START, 14)
    v = np.full(t.size, 120.0)
    v[np.arange(t.size) % 288 < 12] = 50.0
    load(patient, t, v)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    client.force_login(alice)
    body = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    row = body.split('data-goal="very_low_percent"')[1].split("</tr>")[0]
    assert "4.2 %" in row and "not-met" in row
    assert "4.1 %" not in body


def test_it_warns_of_an_up_titration_rule_with_too_many_lows(client, alice, patient):
    import numpy as np

    from care_plans.services import care_plan_default_content, care_plan_revise
    from tests.reports.conftest import PERIOD_START, grid, load

    content = care_plan_default_content(patient=patient)
    content["medications"] = [
        {
            "kind": "insulin_basal",
            "product": "Insulin glargine",
            "dose": 18,
            "dose_unit": "U",
            "timing": "bedtime",
            "frequency": "once daily",
            "carb_ratio_g_per_u": None,
            "correction_factor_mg_dl_per_u": None,
            "titration_rule": "+2 U every 3 days while fasting > 130",
        }
    ]
    care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    t = grid(PERIOD_START, 14)
    v = np.full(t.size, 120.0)
    v[np.arange(t.size) % 288 < 20] = 60.0  # 6.9 % below 70: above the < 4 % goal
    load(patient, t, v)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    client.force_login(alice)
    body = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert "up-titration rule" in body and "Insulin glargine" in body


def test_it_shows_a_meter_report_against_the_plans_schedule_and_targets(
    client, alice, patient, load_meter
):
    load_meter(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    client.force_login(alice)
    body = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert 'data-goal="fasting_mean_mg_dl"' in body and "80–130 mg/dL" in body
    assert 'data-metric="below_70_percent"' in body
    assert "No CGM" not in body


def test_it_hides_unread_reports_of_patients_taken_off_the_care_team(client, alice, report):
    report.patient.endocrinologists.remove(alice)
    client.force_login(alice)
    body = client.get(reverse("reports-unread")).content.decode()
    assert report.patient.mrn not in body and report.patient.name not in body
    assert b"No unread reports." in client.get(reverse("reports-unread")).content
    from django.template import Context, Template

    template = Template("{% load reports_tags %}{% unread_reports_count %}")
    assert template.render(Context({"user": alice})) == "0"


def test_it_counts_only_unread_reports_of_patients_the_user_still_sees(
    alice, bob, staff, admin_user, report, other_patient
):
    """The badge and the unread list (``notifications_unread``) for every role: notification
    rows of a patient the user no longer sees (taken off the team) or never saw (another
    team's patient) are left out; an admin's and staff's rows follow ``patients_visible_to``."""
    from accounts.access import patients_visible_to
    from reports.services import notifications_unread, unread_counts

    def other_report(patient, days):
        return Report.objects.create(
            patient=patient,
            period_start=report.period_start - dt.timedelta(days=days),
            period_end=report.period_end - dt.timedelta(days=days),
            kind=report.kind,
        )

    removed = other_report(report.patient, 14)  # alice's patient, before she is taken off
    foreign = other_report(other_patient, 28)  # bob's patient: alice never was on the team
    for user in (alice, bob, staff, admin_user):
        for r in (report, removed, foreign):
            ReportNotification.objects.get_or_create(report=r, user=user)
    assert {n.report for n in notifications_unread(alice)} == {report, removed}
    report.patient.endocrinologists.remove(alice)
    assert list(notifications_unread(alice)) == []
    report.patient.endocrinologists.add(alice)
    assert {n.report for n in notifications_unread(alice)} == {report, removed}
    assert {n.report for n in notifications_unread(bob)} == {foreign}
    assert {n.report for n in notifications_unread(admin_user)} == {report, removed, foreign}
    for user in (alice, bob, staff, admin_user):
        rule = ReportNotification.objects.filter(
            user=user, read_at__isnull=True, report__patient__in=patients_visible_to(user)
        )
        assert set(notifications_unread(user)) == set(rule), user
        assert notifications_unread(user).count() == rule.count()
    # The page's count (compiled for an endocrinologist) is the rule's, for every role,
    # before and after one is read; nothing unread is (0, 0).
    ReportNotification.objects.filter(user=bob, report=foreign).update(read_at=report.created_at)
    for user in (alice, bob, staff, admin_user):
        rule = ReportNotification.objects.filter(
            user=user, read_at__isnull=True, report__patient__in=patients_visible_to(user)
        )
        for r in (report, removed, foreign):
            this = int(rule.filter(report=r).exists())
            assert unread_counts(user, r.pk) == (rule.count(), this), (user, r)
    assert unread_counts(bob, foreign.pk) == (0, 0)


def test_it_asks_each_thing_once_and_counts_the_badge_by_the_care_team(client, alice, report):
    """The report page repeats no query, and the badge's count asks the care-team table per
    notification, not a subquery of every patient of the clinician (#23)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(alice)
    url = reverse("reports-detail", args=[report.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == len(set(sql))
    (count,) = [s for s in sql if "reports_reportnotification" in s]
    assert "patients_patient_endocrinologists" in count and '"patients_patient"' not in count


def _images(pdf: bytes) -> int:
    return pdf.count(b"/Subtype /Image")


def test_it_prints_user_text_in_the_pdf_as_text_not_markup(client, alice, report, tmp_path):
    client.force_login(alice)
    plain = client.get(reverse("reports-pdf", args=[report.pk])).content
    import matplotlib.pyplot as plt

    secret_image = tmp_path / "server-local.png"
    plt.imsave(secret_image, [[0.0, 1.0], [1.0, 0.0]])
    patient = report.patient
    patient.name = f'Eve <img src="{secret_image}" width="90" height="90"/> <b>bold & co'
    patient.save()
    report.note_set(text=f'<img src="{secret_image}"/>\n<font name="nope">x</para>', by=alice)
    response = client.get(reverse("reports-pdf", args=[report.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert _images(response.content) == _images(plain)  # no file from the server embedded
    fhir = client.get(reverse("api-reports-fhir", args=[report.pk]))
    assert fhir.status_code == 200


def test_it_orders_the_unread_list_by_risk(client, alice, center):
    """Time below range first, then time below 54, then goals not met; newest among equals.
    Expected order worked out by hand from each report's figures."""
    from tests.conftest import make_patient

    def unread(mrn, *, low, very_low, missed=0):
        patient = make_patient(mrn, center=center, endocrinologists=[alice])
        goals = [
            {"key": "in_range_percent", "comparison": ">", "target": 70.0, "value": 50.0}
        ] * missed
        report = Report.objects.create(
            patient=patient,
            period_start=dt.date(2026, 3, 1),
            period_end=dt.date(2026, 3, 14),
            kind="cgm",
            metrics={"very_low_percent": very_low, "low_percent": low, "in_range_percent": 60},
            goals=goals,
        )
        ReportNotification.objects.create(report=report, user=alice)
        return report.pk

    highs_only = unread("HIGH", low=0.0, very_low=0.0, missed=3)  # many goals missed, no lows
    mild = unread("MILD", low=3.0, very_low=0.5)  # below range 3.5 %
    severe = unread("SEVERE", low=8.6, very_low=1.2)  # below range 9.8 %
    same_below_more_54 = unread("SAME54", low=1.5, very_low=2.0)  # 3.5 %, more below 54
    newer_equal = unread("NEWER", low=3.0, very_low=0.5)  # equal to MILD, made later
    client.force_login(alice)
    body = client.get(reverse("reports-unread")).content.decode()
    shown = [int(pk) for pk in re.findall(r'data-report="(\d+)"', body)]
    assert shown == [severe, same_below_more_54, newer_equal, mild, highs_only]


def test_it_says_first_that_the_period_is_worse_when_time_below_range_rose_above_goal(
    client, alice, patient
):
    """Issue #17: mean 118 -> 85 mg/dL and TIR up, while time below 70 rose 1.0 -> 4.9 %
    (goal < 4 %). Per day, before: 3 × 60, 26 × 200, 259 × 110 (below 70 = 3/288 = 1.04 %,
    mean 117.6); now: 14 × 60, 274 × 86 (14/288 = 4.86 %, mean 84.7, TIR 89.9 -> 95.1 %).
    The page and the PDF say "worse" before the table, and the lower mean is not "better"."""
    import numpy as np

    from tests.reports.conftest import PERIOD_START, grid, load
    from tests.reports.test_consistency import pdf_text, squash

    def day(counts):
        return np.concatenate([np.full(n, v, dtype=float) for v, n in counts])

    before_start = PERIOD_START - dt.timedelta(days=14)
    load(patient, grid(before_start, 14), np.tile(day([(60, 3), (200, 26), (110, 259)]), 14))
    load(patient, grid(PERIOD_START, 14), np.tile(day([(60, 14), (86, 274)]), 14))
    report_generate(patient_id=patient.pk, period_end=PERIOD_START - dt.timedelta(days=1))
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    statement = (
        "Worse overall: time below 70 mg/dL rose from 1.0 % to 4.9 %, above its goal "
        "(&lt; 4 %), whatever else improved."
    )
    client.force_login(alice)
    body = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    section = body.split('id="compare-title"')[1]
    assert statement in section
    assert section.index(statement) < section.index('id="comparison-table"')
    mean = section.split('data-metric="mean_mg_dl"')[1].split("</tr>")[0]
    assert "not judged" in mean and "better" not in mean
    tir = section.split('data-metric="in_range_percent"')[1].split("</tr>")[0]
    assert "better" in tir
    pdf = squash(pdf_text(client.get(reverse("reports-pdf", args=[report.pk])).content))
    plain = statement.replace("&lt;", "<")
    assert plain in pdf
    assert pdf.index(plain) < pdf.index("Metric Previous Now Change")
