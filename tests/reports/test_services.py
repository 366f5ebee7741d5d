"""report_generate and reports_due: idempotency, content against independent numbers, the
previous-report comparison, patterns, notifications and the due-check."""

import datetime as dt

import numpy as np
import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from reports.models import Report, ReportNotification
from reports.services import report_generate, reports_due
from tests.conftest import make_patient
from tests.reports.conftest import PERIOD_END, PERIOD_START, grid, known_day_values, load

pytestmark = pytest.mark.django_db


def load_known(patient, *, start=PERIOD_START, days=14):
    t = grid(start, days)
    v = np.tile(known_day_values(), days)
    load(patient, t, v)
    return v


def test_it_makes_one_report_when_run_twice(patient, load_simulated):
    load_simulated(patient)
    first = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    second = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    assert first.pk == second.pk
    assert (first.was_created, second.was_created) == (True, False)
    assert Report.objects.filter(patient=patient).count() == 1


def test_it_absorbs_a_concurrent_insert_of_the_same_period(patient, load_simulated, monkeypatch):
    """A second worker that passed the existence check before the first committed: its insert
    hits the unique constraint and it returns the first worker's report."""
    load_simulated(patient)
    first = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    real_filter, real_create = Report.objects.filter, Report.objects.create

    class NotYetVisible:
        def order_by(self, *fields):
            return self

        def first(self, *values):
            return None

    def filter_hiding_existing(*args, **kwargs):
        # The existence check by the period's dates.
        if "period_start" in kwargs and "kind" not in kwargs:
            return NotYetVisible()
        return real_filter(*args, **kwargs)

    inserts = []

    def create(**kwargs):
        inserts.append(kwargs["period_end"])
        return real_create(**kwargs)

    monkeypatch.setattr(Report.objects, "filter", filter_hiding_existing)
    # The other existence check: the patient's newest report (a compiled read).
    monkeypatch.setattr("reports.services._NEWEST_REPORT", NotYetVisible())
    monkeypatch.setattr(Report.objects, "create", create)
    again = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    assert inserts == [PERIOD_END]  # it did try to insert, and the constraint refused it
    assert again.pk == first.pk and again.was_created is False
    assert real_filter(patient=patient).count() == 1


def test_it_makes_an_earlier_periods_report_once_after_a_later_one(patient):
    """The newest report ends after the period asked for: the period's own report is looked
    up by its dates, and the previous one is not the newest."""
    load_known(patient, start=PERIOD_START - dt.timedelta(days=14), days=28)
    later = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    earlier = report_generate(patient_id=patient.pk, period_end=PERIOD_START - dt.timedelta(1))
    again = report_generate(patient_id=patient.pk, period_end=PERIOD_START - dt.timedelta(1))
    assert (later.was_created, earlier.was_created, again.was_created) == (True, True, False)
    assert again.pk == earlier.pk and earlier.pk != later.pk
    assert earlier.previous_id is None and earlier.comparison == []
    assert Report.objects.filter(patient=patient).count() == 2


def test_it_enforces_one_report_per_period_in_the_database(patient, load_simulated):
    load_simulated(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(
            patient=patient,
            period_start=report.period_start,
            period_end=report.period_end,
            kind="cgm",
        )


def test_it_stores_metrics_matching_an_independent_count(patient):
    values = load_known(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    m = report.metrics
    # Independent numbers: 288 readings a day in blocks of known size.
    assert m["readings"] == 14 * 288
    assert m["days"] == 14 and m["active_percent"] == 100.0 and m["sufficient"] is True
    assert m["in_range_percent"] == pytest.approx(100 * 173 / 288, abs=0.01)
    assert m["very_low_percent"] == pytest.approx(100 * 14 / 288, abs=0.01)
    assert m["low_percent"] == pytest.approx(100 * 29 / 288, abs=0.01)
    assert m["high_percent"] == pytest.approx(100 * 43 / 288, abs=0.01)
    assert m["very_high_percent"] == pytest.approx(100 * 29 / 288, abs=0.01)
    mean = (50 * 14 + 60 * 29 + 120 * 173 + 200 * 43 + 300 * 29) / 288
    assert m["mean_mg_dl"] == pytest.approx(mean, abs=0.05)
    assert m["gmi_percent"] == pytest.approx(3.31 + 0.02392 * mean, abs=0.005)
    assert m["sd_mg_dl"] == pytest.approx(np.std(values, ddof=1), abs=0.05)
    assert len(m["daily"]) == 14 and len(m["agp"]["p50"]) == 24
    assert set(m["day_night"]) == {"day", "night"}
    assert len(m["profile"]["days"]) == 14
    goals = {g["key"]: g for g in report.goals}
    assert goals["in_range_percent"]["met"] is False  # 60 % < 70 %
    assert goals["below_70_percent"]["value"] == pytest.approx(100 * 43 / 288, abs=0.01)
    assert report.targets["range_low"] == 70 and report.algorithm_version == "glycemia-1"
    assert report.kind == "cgm" and report.period_start == PERIOD_START


def test_it_compares_with_the_previous_report(patient):
    load_known(patient, start=PERIOD_START - dt.timedelta(days=14), days=28)
    previous = report_generate(patient_id=patient.pk, period_end=PERIOD_START - dt.timedelta(1))
    # Make the current period better: 30 more readings a day in range.
    extra = grid(PERIOD_START, 14, step_minutes=5) + 120  # 2 min after each reading
    load(patient, extra, np.full(extra.size, 120.0))
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    assert report.previous_id == previous.pk
    tir = next(row for row in report.comparison if row["key"] == "in_range_percent")
    assert tir["previous"] == pytest.approx(60.07, abs=0.01)
    assert tir["current"] > tir["previous"] and tir["direction"] == "better"
    assert previous.comparison == []


def test_it_finds_patterns_in_the_period(patient):
    t = grid(PERIOD_START, 14)
    minute = (t // 60) % 1440
    day = (t - t[0]) // 86400
    v = np.full(t.size, 130.0)
    v[(day % 3 == 0) & (minute >= 130) & (minute < 200)] = 58.0  # lows 02:10-03:20, 5 nights
    load(patient, t, v)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    codes = [p["code"] for p in report.patterns]
    assert "nocturnal_lows" in codes and "hypo_cluster" in codes
    lows = next(p for p in report.patterns if p["code"] == "nocturnal_lows")
    assert lows["params"]["nights_with_lows"] == 5 and lows["params"]["from"] == "02:00"


def test_it_reports_insufficient_data(patient):
    t = grid(PERIOD_START, 14)[::2]  # every 10 minutes: 50 % of a 5-minute sensor
    load(patient, t, np.full(t.size, 120.0))
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    # The interval is detected as 5 minutes only when readings are 5 minutes apart; at 10 the
    # sensor looks like a 15-minute one or a 5-minute one with gaps: either way the finding
    # must agree with the stored active %.
    if report.metrics["active_percent"] < 70:
        assert report.patterns[0]["code"] == "insufficient_data"


def test_it_makes_a_meter_report_when_there_is_no_cgm(patient, load_meter):
    load_meter(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    assert report.kind == "smbg"
    assert report.metrics["kind"] == "smbg" and report.metrics["readings"] > 14
    assert set(report.metrics["by_meal_tag"]) >= {"fasting", "after_meal"}
    assert report.metrics["points"]
    assert [g["tag"] for g in report.goals] == ["fasting", "before_meal", "after_meal"]


def test_it_makes_no_report_without_data(patient):
    assert report_generate(patient_id=patient.pk, period_end=PERIOD_END) is None
    assert not Report.objects.exists()


def test_it_notifies_the_endocrinologists_once(
    patient, alice, bob, load_simulated, django_capture_on_commit_callbacks
):
    alice.email = "alice@example.org"
    alice.save()
    patient.endocrinologists.add(bob)  # bob has no e-mail address
    load_simulated(patient)
    with django_capture_on_commit_callbacks(execute=True):
        report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
        report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    assert set(ReportNotification.objects.values_list("user__username", flat=True)) == {
        "alice",
        "bob",
    }
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.org"]
    assert f"/reports/{report.pk}/" in mail.outbox[0].body
    assert patient.name not in mail.outbox[0].body  # no health data by e-mail


def test_it_lists_patients_due_for_a_report(center, alice, load_simulated):
    today = dt.date.today()
    never = make_patient("DUE1", center=center, endocrinologists=[alice])
    fresh = make_patient("DUE2", center=center, endocrinologists=[alice])
    old = make_patient("DUE3", center=center, endocrinologists=[alice])
    no_data = make_patient("DUE4", center=center, endocrinologists=[alice])
    recent = today - dt.timedelta(days=13)
    for p in (never, fresh, old):
        load_simulated(p, start=recent, days=12)
    Report.objects.create(
        patient=fresh,
        period_start=today - dt.timedelta(14),
        period_end=today - dt.timedelta(1),
        kind="cgm",
        cadence_days=14,
    )
    Report.objects.create(
        patient=old,
        period_start=today - dt.timedelta(28),
        period_end=today - dt.timedelta(14),
        kind="cgm",
        cadence_days=14,
    )
    assert sorted(reports_due(today=today)) == sorted([never.pk, old.pk])
    assert no_data.pk not in reports_due(today=today)


def test_it_answers_the_due_check_in_one_query(
    center, alice, load_simulated, django_assert_num_queries
):
    for i in range(5):
        load_simulated(
            make_patient(f"Q{i}", center=center), start=dt.date.today() - dt.timedelta(5), days=3
        )
    with django_assert_num_queries(1):
        assert len(reports_due()) == 5


def test_it_makes_each_due_report_once_when_the_due_check_runs_twice(patient, load_simulated):
    load_simulated(patient, start=dt.date.today() - dt.timedelta(days=15), days=15)
    for _ in range(2):
        for patient_id in reports_due():
            report_generate(patient_id=patient_id, only_if_due=True)
    assert Report.objects.filter(patient=patient).count() == 1
    assert reports_due() == []


def test_it_uses_the_care_plan_cadence(patient, load_simulated, monkeypatch):
    monkeypatch.setattr("care_plans.services.report_cadence_days", lambda p: 7)
    load_simulated(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    assert report.period_start == PERIOD_END - dt.timedelta(days=6)
    assert report.cadence_days == 7 and report.metrics["days"] == 7


def test_it_falls_back_to_consensus_targets_without_care_plan_services(
    patient, load_simulated, monkeypatch
):
    monkeypatch.setattr("reports.services._care_plan_function", lambda name: None)
    load_simulated(patient)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    assert report.cadence_days == 14 and report.care_plan_version_id is None
    assert [g["key"] for g in report.goals][0] == "in_range_percent"


def test_it_compares_a_pregnancy_plan_on_its_own_range(center, alice):
    """63-140: per day before, 20 × 60 (6.9 % below 63) and 268 × 100; now 6 × 60 (2.1 %),
    282 × 100. In 70-180 terms both periods would read as "low" changes only; the comparison
    must carry the plan's own bands (in/below/above target) and not the 70-180 ones."""
    pregnant = make_patient("G7", center=center, endocrinologists=[alice], diabetes_type="GDM")
    before_end = PERIOD_START - dt.timedelta(days=1)
    day_before = np.concatenate([np.full(20, 60.0), np.full(268, 100.0)])
    day_now = np.concatenate([np.full(6, 60.0), np.full(282, 100.0)])
    load(pregnant, grid(PERIOD_START - dt.timedelta(days=14), 14), np.tile(day_before, 14))
    load(pregnant, grid(PERIOD_START, 14), np.tile(day_now, 14))
    first = report_generate(patient_id=pregnant.pk, period_end=before_end)
    report = report_generate(patient_id=pregnant.pk, period_end=PERIOD_END)
    assert report.previous_id is not None and report.targets["range_low"] == 63
    assert first.pk != report.pk
    rows = {row["key"]: row for row in report.comparison}
    assert {"in_target_percent", "below_target_percent", "above_target_percent"} <= set(rows)
    assert not {"in_range_percent", "low_percent", "high_percent"} & set(rows)
    below = rows["below_target_percent"]
    assert below["previous"] == pytest.approx(100 * 20 / 288)
    assert below["current"] == pytest.approx(100 * 6 / 288)
    assert below["direction"] == "better"
    assert rows["in_target_percent"]["direction"] == "small"  # 93.1 -> 97.9: +4.9 < 5 points
