"""The triage queue: per-patient figures kept up to date on write, read with one query.

``triage_refresh(patient_ids=...)`` recomputes the ``TriageEntry`` of some patients from the
daily rollups (and, for a care plan whose range is not 70–180, one bounded raw count), their
care-plan targets, last report and review state. It is called:

- by ``readings.services.readings_ingest`` after new readings or treatments are stored;
- when a care-plan version is saved, or a patient created (``workspace.signals``); a saved
  report only patches the entry's report fields when the rest is current
  (``triage_report_added``: one query instead of the recomputation);
- when a visit is booked, moved, checked in, cancelled, completed or missed (every visit
  write records a ``VisitChange``; ``workspace.signals``);
- by ``triage_mark_reviewed``;
- by the periodic task ``patients: triage window`` (hourly) for every patient whose local
  date has moved on since their entry was computed, or whose data just became 3 days old.

``triage_list`` then sorts, filters and pages those rows in SQL. The ranking rules and their
sources are in ``workspace.ranking``.

Review: "Mark reviewed" stamps the entry with who/when/note. The review holds (the patient
sorts below every unreviewed one) until the picture changes: a flag appears or disappears, or
a new report arrives (``changed_at``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
from django.db import models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from care_plans.models import CarePlanVersion
from care_plans.services import preset_for, targets_from_preset
from common.compiled import CompiledRead
from common.replicas import on_replica
from glycemia.rollups import ROLLUP_FIELDS, metrics_from_rollups
from patients.models import Patient
from readings.models import DailyRollup, Reading
from workspace import ranking
from workspace.models import MonthlySummary, TriageEntry, TriageReview

WINDOW_DAYS = 14
SUMMARY_MONTHS = 13  # the population view's 12 months, and the one before for safety
REFRESH_BATCH = 500

# ordering key -> (field, direction of "worst first"); ``-key`` reverses.
ORDERINGS = {
    "risk": ("triage__risk_rank", "asc"),
    "name": ("name", "asc"),
    "type": ("diabetes_type", "asc"),
    "tir": ("triage__in_range_percent", "asc"),
    "below70": ("triage__below_70_percent", "desc"),
    "below54": ("triage__very_low_percent", "desc"),
    "above180": ("triage__above_180_percent", "desc"),
    "above250": ("triage__very_high_percent", "desc"),
    "mean": ("triage__mean_mg_dl", "desc"),
    "cv": ("triage__cv_percent", "desc"),
    "gmi": ("triage__gmi_percent", "desc"),
    "gri": ("triage__gri", "desc"),
    "active": ("triage__active_percent", "asc"),
    "age": ("triage__last_reading_at", "asc"),
    "change": ("triage__tir_change", "asc"),
    "meter": ("triage__meter_per_day", "asc"),
    "report": ("triage__last_report_at", "desc"),
    "reviewed": ("triage__reviewed_at", "desc"),
    "plan_review": ("triage__plan_review_due", "asc"),
    "visit": ("triage__next_visit_at", "asc"),
}
REVIEWED_CHOICES = ("yes", "no", "week")
MODES = ("cgm", "meter", "none")


# --- Computing entries ----------------------------------------------------------------------


def _local_today(zone: str, now: dt.datetime) -> dt.date:
    return timezone.localdate(now, zoneinfo.ZoneInfo(zone))


def _utc_bounds(zone: str, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = zoneinfo.ZoneInfo(zone)
    first = dt.datetime.combine(start, dt.time.min, tz)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tz)
    return first.astimezone(dt.UTC), after.astimezone(dt.UTC)


def _rollup_figures(
    ids: list[int], today: dict[int, dt.date], zones: dict[int, str]
) -> dict[tuple, dict]:
    """{(patient_id, kind, "now"|"before"): metrics} for the current and previous windows
    (each day its real length in the patient's zone: 23 or 25 hours on DST days)."""
    if not ids:
        return {}
    first = min(today.values()) - dt.timedelta(days=2 * WINDOW_DAYS - 1)
    last = max(today.values())
    columns = ["patient_id", "kind", "date", "interval_minutes", "slots", *ROLLUP_FIELDS]
    records = list(
        DailyRollup.objects.filter(
            patient_id__in=ids, date__gte=first, date__lte=last, kind__in=("cgm", "smbg")
        ).values_list(*columns)
    )
    out: dict[tuple, dict] = {}
    if not records:  # no data in the windows: no frame to build (a millisecond)
        return out
    frame = pd.DataFrame.from_records(records, columns=columns)
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for pid, day in today.items():
        by_day[day].append(pid)
    for day, pids in by_day.items():
        windows = {
            "now": (day - dt.timedelta(days=WINDOW_DAYS - 1), day),
            "before": (
                day - dt.timedelta(days=2 * WINDOW_DAYS - 1),
                day - dt.timedelta(days=WINDOW_DAYS),
            ),
        }
        part = frame[frame["patient_id"].isin(pids)]
        for kind in ("cgm", "smbg"):
            rows = part[part["kind"] == kind]
            if rows.empty:
                continue
            for name, (start, end) in windows.items():
                # exact: stored unrounded, rounded once on the page (glycemia.display).
                result = metrics_from_rollups(rows, start=start, end=end, zones=zones, exact=True)
                result = result.astype(object).where(result.notna(), None)
                for pid, metrics in result.to_dict(orient="index").items():
                    if metrics["readings"]:
                        out[(int(pid), kind, name)] = metrics
    return out


def _range_counts(patients: list[Patient], today: dict[int, dt.date], limits: dict) -> dict:
    """{(pid, kind): (n, below, in, above)} against the plan's own range, from raw readings.

    Only for plans whose range is not the rollups' 70–180 (pregnancy 63–140); bounded by the
    window and served by the (patient, kind, timestamp) index.
    """
    out = {}
    for patient in patients:
        low, high = limits[patient.pk]["range_low"], limits[patient.pk]["range_high"]
        if (low, high) == (70.0, 180.0):
            continue
        day = today[patient.pk]
        start, end = _utc_bounds(patient.timezone, day - dt.timedelta(days=WINDOW_DAYS - 1), day)
        rows = (
            Reading.objects.filter(
                patient_id=patient.pk,
                kind__in=("cgm", "smbg"),
                timestamp__gte=start,
                timestamp__lt=end,
            )
            .values("kind")
            .annotate(
                n=Count("pk"),
                below=Count("pk", filter=Q(value_mg_dl__lt=low)),
                above=Count("pk", filter=Q(value_mg_dl__gt=high)),
            )
        )
        for row in rows:
            n = row["n"]
            out[(patient.pk, row["kind"])] = (
                n,
                100.0 * row["below"] / n,
                100.0 * (n - row["below"] - row["above"]) / n,
                100.0 * row["above"] / n,
            )
    return out


def _plans(ids: list[int]) -> dict[int, CarePlanVersion]:
    latest: dict[int, CarePlanVersion] = {}
    versions = (
        CarePlanVersion.objects.filter(plan__patient_id__in=ids)
        .annotate(patient_id=F("plan__patient_id"))
        .order_by("plan__patient_id", "-number")
        .only("number", "created_at", "review_interval_days", "visit_cadence_days", "content")
    )
    for version in versions:
        latest.setdefault(version.patient_id, version)
    return latest


def _full(value) -> float | None:
    """Stored at full precision: the pages round once (glycemia.display) and the API serves
    the number as computed. ``round(x, 1)`` here made "4.0 %" of a 4.05 % the table showed as
    "4.1 %" (half to even on the binary float, then rounded again)."""
    return None if value is None else float(value)


def _entry(
    patient: Patient,
    *,
    now: dt.datetime,
    today: dt.date,
    figures: dict,
    counts: dict,
    version: CarePlanVersion | None,
    previous: TriageEntry | None,
    visit: tuple[dt.datetime | None, bool, dt.date | None] = (None, False, None),
) -> TriageEntry:
    targets = (
        version.content.get("targets")
        if version is not None
        else targets_from_preset(preset_for(patient, on=today))
    )
    limits = ranking.thresholds(targets)
    standard = (limits["range_low"], limits["range_high"]) == (70.0, 180.0)
    cgm = figures.get((patient.pk, "cgm", "now"))
    meter = figures.get((patient.pk, "smbg", "now"))
    row: dict = {"mode": "cgm" if cgm else "meter" if meter else "none"}
    entry = TriageEntry(
        patient=patient,
        computed_at=now,
        computed_for=today,
        range_low=limits["range_low"],
        range_high=limits["range_high"],
        last_reading_at=patient.last_cgm_at or patient.last_smbg_at,
        last_report_id=patient.last_report_id,
        last_report_at=patient.last_report_at,
    )
    if patient.last_cgm_at and patient.last_smbg_at:
        entry.last_reading_at = max(patient.last_cgm_at, patient.last_smbg_at)
    if cgm:
        below_70 = cgm["very_low_percent"] + cgm["low_percent"]
        in_range, below = cgm["in_range_percent"], below_70
        if not standard and (patient.pk, "cgm") in counts:
            _n, below, in_range, _above = counts[(patient.pk, "cgm")]
        before = figures.get((patient.pk, "cgm", "before"))
        tir_before = None
        if before:
            tir_before = before["in_range_percent"]
            if not standard:
                tir_before = None  # the previous window's own-range TIR is not rolled up
        hypo, hyper = ranking.gri_components(
            cgm["very_low_percent"],
            cgm["low_percent"],
            cgm["high_percent"],
            cgm["very_high_percent"],
        )
        row.update(
            very_low_percent=cgm["very_low_percent"],
            below_percent=below,
            in_range_percent=in_range,
            tir_change=None if tir_before is None else in_range - tir_before,
            gri_zone=cgm["gri_zone"],
            cv_percent=cgm["cv_percent"],
            active_percent=cgm["active_percent"],
        )
        entry.readings = cgm["readings"]
        entry.active_percent = cgm["active_percent"]
        entry.mean_mg_dl = cgm["mean_mg_dl"]
        entry.cv_percent = cgm["cv_percent"]
        entry.gmi_percent = cgm["gmi_percent"]
        entry.in_range_percent = _full(in_range)
        entry.below_percent = _full(below)
        entry.below_70_percent = _full(below_70)
        entry.very_low_percent = cgm["very_low_percent"]
        entry.above_180_percent = _full(cgm["high_percent"] + cgm["very_high_percent"])
        entry.very_high_percent = cgm["very_high_percent"]
        entry.gri = cgm["gri"]
        entry.gri_zone = cgm["gri_zone"] or ""
        entry.gri_hypo, entry.gri_hyper = hypo, hyper
        entry.tir_previous = _full(tir_before)
        entry.tir_change = _full(row["tir_change"])
    if meter:
        n = meter["readings"]
        very_low = meter["very_low_percent"]
        below = very_low + meter["low_percent"]
        if not standard and (patient.pk, "smbg") in counts:
            below = counts[(patient.pk, "smbg")][1]
        entry.meter_per_day = n / WINDOW_DAYS
        entry.meter_mean_mg_dl = meter["mean_mg_dl"]
        entry.meter_below_percent = _full(below)
        entry.meter_very_low_percent = very_low
        if row["mode"] == "meter":
            row.update(
                meter_very_low_percent=very_low,
                meter_below_percent=below,
                meter_mean_mg_dl=meter["mean_mg_dl"],
                meter_per_day=n / WINDOW_DAYS,
            )
    goal_per_day = None
    review_overdue = False
    if version is not None:
        goal_per_day = (version.content.get("monitoring") or {}).get("smbg_readings_per_day")
        written = timezone.localdate(version.created_at, patient.tzinfo)
        entry.plan_review_due = written + dt.timedelta(days=version.review_interval_days)
        review_overdue = entry.plan_review_due < today
        entry.plan_version = version.number
        entry.plan_preset = (targets or {}).get("preset", "")
    if goal_per_day and entry.meter_per_day is not None:
        entry.meter_adherence_percent = 100.0 * entry.meter_per_day / goal_per_day
    entry.mode = row["mode"]
    entry.next_visit_at, visit_overdue, entry.visit_due = visit
    age = None
    if entry.last_reading_at is not None:
        age = (now - entry.last_reading_at).total_seconds() / 86400
    flags = ranking.triage_flags(
        row,
        limits,
        data_age_days=age,
        meter_readings_goal=goal_per_day,
        review_overdue=review_overdue,
        visit_overdue=visit_overdue,
    )
    entry.flags = flags
    entry.flag_list = "," + ",".join(flags) + ","
    entry.tier = ranking.tier(flags)
    changed = (
        previous is None
        or set(previous.flags) != set(flags)
        or previous.last_report_id != entry.last_report_id
    )
    entry.changed_at = now if changed else previous.changed_at
    if previous is not None:
        entry.reviewed_at = previous.reviewed_at
        entry.reviewed_by_id = previous.reviewed_by_id
        entry.review_note = previous.review_note
    entry.reviewed = entry.reviewed_at is not None and entry.reviewed_at >= entry.changed_at
    entry.risk_rank = ranking.risk_rank(entry.tier, entry.gri, reviewed=entry.reviewed)
    return entry


_UPDATE_FIELDS = [f.name for f in TriageEntry._meta.concrete_fields if f.name not in ("patient",)]


def triage_refresh(*, patient_ids, now: dt.datetime | None = None, replica: bool = False) -> int:
    """Recompute the triage entries of ``patient_ids`` (in batches); returns how many.

    A constant number of queries per batch of ``REFRESH_BATCH`` patients, plus one bounded
    count per patient whose plan's range is not 70–180.

    ``replica``: each batch reads from a read replica (``common.replicas``) that has replayed
    everything the primary held when the batch began — what the primary would have answered
    then — and writes to the primary. For the periodic refresh of many patients; the refresh
    on write runs inside the writer's transaction, where reads stay on the primary anyway.
    """
    now = now or timezone.now()
    ids = sorted(set(patient_ids))
    done = 0
    for i in range(0, len(ids), REFRESH_BATCH):
        batch = ids[i : i + REFRESH_BATCH]
        if replica:
            computed = on_replica(_compute_batch, batch, now, barrier=True)
        else:
            computed = _compute_batch(batch, now)
        done += _write_batch(*computed)
    return done


def _last(kind: str):
    return Subquery(
        Reading.objects.filter(patient_id=OuterRef("pk"), kind=kind)
        .order_by("-timestamp")
        .values("timestamp")[:1]
    )


def _compute_batch(ids: list[int], now: dt.datetime) -> tuple[list, list, list, list]:
    """The batch's patients' ids, new entries and monthly summaries (reads only), and the ids
    of those that have monthly summaries stored."""
    from reports.models import Report
    from visits.services import next_visit_start  # visits imports patients

    last_report = Report.objects.filter(patient_id=OuterRef("pk")).order_by("-created_at", "-pk")
    # One statement for the patients, their last readings and report, next visit, previous
    # entry (the join) and whether they have monthly rows to replace: each round trip counts
    # inside an import's transaction (#23).
    patients = list(
        Patient.objects.filter(pk__in=ids)
        .select_related("triage")
        .only("pk", "timezone", "diabetes_type", "birth_date", "triage")
        .annotate(
            last_cgm_at=_last("cgm"),
            last_smbg_at=_last("smbg"),
            last_report_id=Subquery(last_report.values("pk")[:1]),
            last_report_at=Subquery(last_report.values("created_at")[:1]),
            has_months=Exists(MonthlySummary.objects.filter(patient_id=OuterRef("pk"))),
            next_visit_at=next_visit_start(),
        )
    )
    if not patients:
        return [], [], [], []
    ids = [p.pk for p in patients]
    previous = {p.pk: getattr(p, "triage", None) for p in patients}  # before _entry sets it
    today = {p.pk: _local_today(p.timezone, now) for p in patients}
    plans = _plans(ids)
    limits = {}
    for p in patients:
        version = plans.get(p.pk)
        targets = (
            version.content.get("targets")
            if version
            else targets_from_preset(preset_for(p, on=today[p.pk]))
        )
        limits[p.pk] = ranking.thresholds(targets)
    figures = _rollup_figures(ids, today, {p.pk: p.timezone for p in patients})
    counts = _range_counts(patients, today, limits)
    visits = _visits(patients, plans)
    entries = [
        _entry(
            p,
            now=now,
            today=today[p.pk],
            figures=figures,
            counts=counts,
            version=plans.get(p.pk),
            previous=previous.get(p.pk),
            visit=visits.get(p.pk, (None, False, None)),
        )
        for p in patients
    ]
    months = _month_rows(ids, max(today.values()))
    # Whose stored rows to replace: those that had some or get some (a concurrent refresh
    # may have added rows since the read: the DELETE, after the entry's row lock, finds them).
    with_months = sorted({p.pk for p in patients if p.has_months} | {m.patient_id for m in months})
    return ids, entries, months, with_months


def _write_batch(
    ids: list[int], entries: list[TriageEntry], months: list, with_months: list[int]
) -> int:
    """Write the entries and replace the monthly rows of ``with_months`` (the patients that
    had or get some: no DELETE that can only find nothing)."""
    if not ids:
        return 0
    # The entries and their months together, the write lock briefly. Inside a caller's
    # transaction (an import) that transaction is enough: no savepoint's two round trips.
    with transaction.atomic(savepoint=False):
        TriageEntry.objects.bulk_create(
            entries, update_conflicts=True, unique_fields=["patient"], update_fields=_UPDATE_FIELDS
        )
        if with_months:
            MonthlySummary.objects.filter(patient_id__in=with_months).delete()
        MonthlySummary.objects.bulk_create(months, batch_size=1000)
    return len(entries)


def _visits(patients: list[Patient], plans: dict[int, CarePlanVersion]) -> dict[int, tuple]:
    """{pid: (next open visit's start or None, follow-up overdue, follow-up due date)}."""
    from visits.services import due_dates, next_visit_by_patient  # visits imports patients

    due = due_dates(patients, versions=plans)
    upcoming = {p.pk: p.next_visit_at for p in patients if p.next_visit_at is not None}
    found = next_visit_by_patient(
        [p.pk for p in patients], patients=patients, due=due, upcoming=upcoming
    )
    return {pid: (start, overdue, due.get(pid)) for pid, (start, overdue) in found.items()}


def _month_rows(ids: list[int], today: dt.date) -> list[MonthlySummary]:
    """The ``MonthlySummary`` rows of ``ids`` from their CGM rollups (one query; written with
    the entries: at most two more)."""
    first = today.replace(day=1)
    for _i in range(SUMMARY_MONTHS - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    sums = (
        DailyRollup.objects.filter(patient_id__in=ids, kind="cgm", date__gte=first)
        .annotate(month=TruncMonth("date"))
        .values_list("patient_id", "month")
        .annotate(
            n=Sum("count"),
            s=Sum("sum"),
            ss=Sum("sum_sq"),
            vl=Sum("n_very_low"),
            lo=Sum("n_low"),
            hi=Sum("n_high"),
            vh=Sum("n_very_high"),
        )
        .order_by()
    )
    rows = []
    for pid, month, n, s, ss, vl, lo, hi, vh in sums:
        if not n:
            continue
        if isinstance(month, dt.datetime):
            month = month.date()
        below_70, above_180 = 100.0 * (vl + lo) / n, 100.0 * (hi + vh) / n
        cv = None
        if n > 1 and s:
            variance = max(ss - s * s / n, 0.0) / (n - 1)
            cv = 100.0 * variance**0.5 / (s / n)
        rows.append(
            MonthlySummary(
                patient_id=pid,
                month=month,
                readings=n,
                in_range_percent=100.0 - below_70 - above_180,
                below_70_percent=below_70,
                very_low_percent=100.0 * vl / n,
                above_180_percent=above_180,
                very_high_percent=100.0 * vh / n,
                cv_percent=cv,
            )
        )
    return rows


def _current(
    *, computed_for, last_reading_at, flag_list: str, next_visit_at, zone: str, now: dt.datetime
) -> bool:
    """Would a full refresh at ``now`` compute everything but the report fields as stored
    (an entry's ``computed_for``, ``last_reading_at``, ``flag_list`` and ``next_visit_at``;
    plain values: building a TriageEntry for them cost a report a quarter millisecond)?

    Everything else an entry summarises refreshes it when it changes (readings, plans, visits,
    the patient); what moves by itself is the clock: the local date (the 14-day window, plan
    and follow-up due dates), the data age crossing ``NO_DATA_DAYS``, and the next visit
    passing (its end; a visit that has not started yet has not ended)."""
    if _local_today(zone, now) != computed_for:
        return False
    aged = now - dt.timedelta(days=ranking.NO_DATA_DAYS)
    if last_reading_at is not None and last_reading_at <= aged:
        if f",{ranking.FLAG_NO_DATA}," not in flag_list:
            return False
    return next_visit_at is None or next_visit_at > now


def _entry_with_last_report(pk):
    """The entry as the plain values ``triage_report_added`` reads (building a model instance
    cost more than the query), with the id of the patient's last report (a subquery)."""
    from reports.models import Report

    last = Report.objects.filter(patient_id=OuterRef("pk")).order_by("-created_at", "-pk")
    return TriageEntry.objects.filter(pk=pk).values_list(
        "computed_for",
        "last_reading_at",
        "flag_list",
        "next_visit_at",
        "last_report_id",
        "reviewed_at",
        "tier",
        "gri",
        "patient__timezone",
        Subquery(last.values("pk")[:1]),
    )[:1]


# Compiled once (``common.compiled``): a query of this shape cost twice as much to build and
# compile as to run for one entry (#23).
_ENTRY_WITH_LAST_REPORT = CompiledRead(_entry_with_last_report)


def triage_report_added(*, patient_id: int, now: dt.datetime | None = None, report=None) -> int:
    """A report was saved: bring the entry's last report (and so its review state) up to date.

    A report changes only ``last_report_*``, ``changed_at`` and what follows from them (the
    review holds until the picture changes, so ``reviewed`` and ``risk_rank``). When the entry
    is otherwise current (``_current``) those fields are written with one query instead of the
    full recomputation (which was 74 % of ``report_generate``, #23); the result is the one
    ``triage_refresh`` gives. A stale or missing entry is refreshed in full.

    The entry and the id of the patient's last report are read in one statement (a
    subquery), then written with one UPDATE: two round trips inside the report's transaction.
    ``report``: the report just saved. When it is the last one (it usually is) its own
    ``created_at`` is the last report's time; else one more query reads it.
    """
    from reports.models import Report

    now = now or timezone.now()
    found = _ENTRY_WITH_LAST_REPORT.all(patient_id)
    if not found:
        return triage_refresh(patient_ids=[patient_id], now=now)
    (computed_for, last_reading_at, flag_list, next_visit_at, last_report_id, reviewed_at, tier,
     gri, zone, last_id) = found[0]  # fmt: skip
    current = _current(
        computed_for=computed_for,
        last_reading_at=last_reading_at,
        flag_list=flag_list,
        next_visit_at=next_visit_at,
        zone=zone,
        now=now,
    )
    if not current:
        return triage_refresh(patient_ids=[patient_id], now=now)
    last_at = None
    if report is not None and last_id == report.pk:
        last_at = report.created_at
    elif last_id is not None:
        last_at = Report.objects.filter(pk=last_id).values_list("created_at", flat=True).first()
    fields = {"computed_at": now, "last_report_id": last_id, "last_report_at": last_at}
    if last_id != last_report_id:
        reviewed = reviewed_at is not None and reviewed_at >= now
        fields.update(
            changed_at=now,
            reviewed=reviewed,
            risk_rank=ranking.risk_rank(tier, gri, reviewed=reviewed),
        )
    return TriageEntry.objects.filter(pk=patient_id).update(**fields)


def triage_refresh_stale(*, now: dt.datetime | None = None) -> int:
    """The periodic job: refresh entries whose window moved or whose data just aged.

    An entry is stale when the patient's local date is past ``computed_for`` (local midnight
    passed), when its last reading became ``NO_DATA_DAYS`` old without the flag yet, or when
    a patient has no entry at all. Safe to run twice: the second run finds nothing stale.
    """
    now = now or timezone.now()
    stale = on_replica(_stale_ids, now, barrier=True)
    return triage_refresh(patient_ids=stale, now=now, replica=True) if stale else 0


def _stale_ids(now: dt.datetime) -> list[int]:
    aged = now - dt.timedelta(days=ranking.NO_DATA_DAYS)
    stale = list(Patient.objects.filter(triage__isnull=True).values_list("pk", flat=True))
    rows = TriageEntry.objects.values_list(
        "patient_id", "patient__timezone", "computed_for", "last_reading_at", "flag_list"
    )
    for pid, zone, computed_for, last_reading_at, flag_list in rows:
        if _local_today(zone, now) != computed_for:
            stale.append(pid)
        elif last_reading_at is not None and last_reading_at <= aged:
            if f",{ranking.FLAG_NO_DATA}," not in flag_list:
                stale.append(pid)
    return stale


def triage_mark_reviewed(*, patient: Patient, by, note: str = "") -> TriageEntry:
    """Record that ``by`` reviewed ``patient`` now; the patient drops below unreviewed ones."""
    with transaction.atomic():
        review = TriageReview.objects.create(patient=patient, by=by, note=note.strip())
        if not TriageEntry.objects.filter(pk=patient.pk).exists():
            triage_refresh(patient_ids=[patient.pk])
        entry = TriageEntry.objects.select_for_update().get(pk=patient.pk)
        entry.reviewed_at = review.at
        entry.reviewed_by = by
        entry.review_note = review.note
        entry.reviewed = True
        entry.risk_rank = ranking.risk_rank(entry.tier, entry.gri, reviewed=True)
        entry.save(
            update_fields=["reviewed_at", "reviewed_by", "review_note", "reviewed", "risk_rank"]
        )
    return entry


# --- Reading the queue --------------------------------------------------------------------


@dataclass
class TriageQuery:
    """What the page and the API were asked for (already cleaned)."""

    ordering: str = "risk"
    flag: str = ""
    diabetes_type: str = ""
    mode: str = ""
    center: int | None = None
    reviewed: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params) -> TriageQuery:
        ordering = params.get("ordering", "risk") or "risk"
        if ordering.lstrip("-") not in ORDERINGS:
            ordering = "risk"
        center = params.get("center", "")
        return cls(
            ordering=ordering,
            flag=params.get("flag", "") if params.get("flag", "") in ranking.FLAGS else "",
            diabetes_type=params.get("type", "")
            if params.get("type", "") in Patient.DiabetesType.values
            else "",
            mode=params.get("mode", "") if params.get("mode", "") in MODES else "",
            center=int(center) if str(center).isdigit() and len(str(center)) <= 18 else None,
            reviewed=params.get("reviewed", "")
            if params.get("reviewed", "") in REVIEWED_CHOICES
            else "",
            q=(params.get("q", "") or "").strip()[:100],
        )

    def as_params(self, **override) -> dict:
        values = {
            "ordering": self.ordering,
            "flag": self.flag,
            "type": self.diabetes_type,
            "mode": self.mode,
            "center": self.center or "",
            "reviewed": self.reviewed,
            "q": self.q,
        }
        values.update(override)
        return {k: v for k, v in values.items() if v not in ("", None)}


def week_start(now: dt.datetime, zone) -> dt.datetime:
    """Monday 00:00 of ``now``'s week in ``zone`` (the viewer's), for "reviewed this week"."""
    local = timezone.localtime(now, zone)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time.min, local.tzinfo)


def triage_list(patients: models.QuerySet, query: TriageQuery, *, now=None):
    """Visible patients with their triage entry, filtered and sorted in SQL (page it lazily).

    ``patients`` must come from ``accounts.access.patients_visible_to``. Only patients with an
    entry are listed (every patient gets one when saved), so the join is an inner one and the
    database walks the entry index of the sort key and stops after a page. Each row carries
    ``triage``; call ``with_unread`` on the rows of a page for ``report_unread``.
    """
    from monitoring.models import Alert

    now = now or timezone.now()
    rows = patients.filter(triage__isnull=False).select_related(
        "triage", "triage__reviewed_by", "care_center"
    )
    # Patients with an alert that needs someone (remote monitoring, issue #20) come first.
    # Only while one exists: otherwise the order stays an index walk that stops after a page.
    needs_someone = {"live": True, "closed_at": None, "acknowledged_at": None, "muted": False}
    alerts_first = Alert.objects.filter(patient__in=patients, **needs_someone).exists()
    if alerts_first:
        rows = rows.annotate(
            open_alert=Exists(Alert.objects.filter(patient_id=OuterRef("pk"), **needs_someone))
        )
    if query.q:
        rows = rows.filter(Q(name__icontains=query.q) | Q(mrn__icontains=query.q))
    if query.flag:
        rows = rows.filter(triage__flag_list__contains=f",{query.flag},")
    if query.diabetes_type:
        rows = rows.filter(diabetes_type=query.diabetes_type)
    if query.mode:
        rows = rows.filter(triage__mode=query.mode)
    if query.center:
        rows = rows.filter(care_center_id=query.center)
    if query.reviewed == "yes":
        rows = rows.filter(triage__reviewed=True)
    elif query.reviewed == "no":
        rows = rows.filter(triage__reviewed=False)
    elif query.reviewed == "week":
        monday = week_start(now, timezone.get_current_timezone())
        rows = rows.filter(triage__reviewed_at__gte=monday)
    key = query.ordering.lstrip("-")
    field, direction = ORDERINGS[key]
    if query.ordering.startswith("-"):
        direction = "desc" if direction == "asc" else "asc"
    expression = (
        F(field).asc(nulls_last=True) if direction == "asc" else F(field).desc(nulls_last=True)
    )
    order = [F("open_alert").desc(), expression] if alerts_first else [expression]
    if key != "risk":
        order.append(F("triage__risk_rank").asc())
    return rows.order_by(*order, "triage__patient_id")


def with_unread(rows, *, user) -> list:
    """Set ``report_unread`` on these rows (a page's) with one query: is their last report
    still unread by ``user``?"""
    from reports.models import ReportNotification

    rows = list(rows)
    report_ids = [r.triage.last_report_id for r in rows if r.triage.last_report_id]
    unread = set()
    if report_ids:
        unread = set(
            ReportNotification.objects.filter(
                user=user, report_id__in=report_ids, read_at__isnull=True
            ).values_list("report_id", flat=True)
        )
    for row in rows:
        row.report_unread = row.triage.last_report_id in unread
    return rows


def with_unread_chunked(rows, *, user, size: int = 500):
    """``with_unread`` over an iterator of rows, ``size`` at a time (the CSV export)."""
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield from with_unread(chunk, user=user)
            chunk = []
    yield from with_unread(chunk, user=user)
