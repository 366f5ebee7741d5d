"""Free-slot search over 50 clinicians × 90 days on PostgreSQL, against a per-slot query loop.

    python -m bench slots [--clinicians 50] [--days 90] [--booked 0.6] [--repeat 50] [--json]

Builds a database of its own (``bench_slots_<uuid>`` on the server of DATABASE_URL, default
postgres://postgres@127.0.0.1:5432, dropped at the end), one center open Monday–Friday with
holidays, N clinicians with two sessions a day and some leave, and about ``--booked`` of their
time already booked (inserted through the exclusion constraints). Then measures, in the same run:

- all free slots of a 30-minute visit type for every clinician over the days
  (``visits.services.visit_slots``, "first available" across all clinicians): median and p95;
- the next five free slots from now (what the booking page's conflict answer computes);
- baseline: the naive way, one ``EXISTS`` query per candidate slot, on a sample of clinicians,
  scaled to all of them; the sample's slots must equal ours (same answer, checked).
Target: the full search under 100 ms. ``--json``: the last line is
``{"median_ms", "p95_ms", "next_five_median_ms", "next_five_p95_ms", "ratio_naive"}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import uuid

from bench._common import MIN_SAMPLES, add_common_arguments, emit, percentile, run_database

TARGET_MS = 100


def _setup(bench_url: str) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diabetes_center.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "0"  # no query log
    os.environ.setdefault("SECRET_KEY", "bench-only-" + uuid.uuid4().hex)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _load(clinicians: int, days: int, booked: float):
    from django.utils import timezone

    from accounts.models import CareCenter, User
    from patients.models import Patient
    from visits import services
    from visits.models import (
        Availability,
        AvailabilityException,
        ClosedDay,
        OpeningHours,
        Visit,
        VisitType,
    )

    T = dt.time
    center = CareCenter.objects.create(name="Bench clinic", timezone="Europe/London")
    for weekday in range(5):
        OpeningHours.objects.create(center=center, weekday=weekday, opens=T(8), closes=T(18))
    today = timezone.localdate()
    for offset in (10, 40, 70):
        ClosedDay.objects.create(center=center, date=today + dt.timedelta(days=offset))
    people = [
        User(username=f"c{i}", role="endocrinologist", care_center=center)
        for i in range(clinicians)
    ]
    User.objects.bulk_create(people)
    people = list(User.objects.filter(care_center=center).order_by("pk"))
    Availability.objects.bulk_create(
        Availability(clinician=c, center=center, weekday=w, starts=a, ends=b)
        for c in people
        for w in range(5)
        for a, b in ((T(9), T(12, 30)), (T(13, 30), T(17)))
    )
    AvailabilityException.objects.bulk_create(
        AvailabilityException(
            clinician=c, center=center, date=today + dt.timedelta(days=7 + i % 60), kind="leave"
        )
        for i, c in enumerate(people)
    )
    visit_type = VisitType.objects.create(code="follow_up", name="Follow-up", duration_minutes=30)
    patients = Patient.objects.bulk_create(
        Patient(
            mrn=f"B{i:05d}",
            name=f"P{i}",
            birth_date=dt.date(1980, 1, 1),
            diabetes_type="T1",
            care_center=center,
        )
        for i in range(2000)
    )
    # Book about `booked` of each clinician's 30-minute grid (deterministic pattern).
    rows, n = [], 0
    for c in people:
        slots = services.visit_slots(
            visit_type=visit_type,
            center=center,
            first=today,
            days=days,
            clinician=c,
        )
        free_from = None
        for k, slot in enumerate(slots):
            if free_from and slot.start < free_from:
                continue
            if (k * 7919) % 100 < booked * 100:
                rows.append(
                    Visit(
                        patient=patients[n % len(patients)],
                        clinician=c,
                        visit_type=visit_type,
                        center=center,
                        start_at=slot.start,
                        end_at=slot.end,
                    )
                )
                n += 1
                free_from = slot.end
    # One patient per (clinician, time) can still overlap across clinicians: spread patients.
    for i, row in enumerate(rows):
        row.patient = patients[(i * 37) % len(patients)]
    try:
        Visit.objects.bulk_create(rows, batch_size=2000)
    except Exception:  # a patient double-booked by the spread: insert one by one, skip those
        from django.db import IntegrityError, transaction

        for row in rows:
            try:
                with transaction.atomic():
                    row.pk = None
                    row.save()
            except IntegrityError:
                pass
    return center, people, visit_type, Visit.objects.count()


def _naive(center, clinicians, visit_type, first: dt.date, days: int, not_before):
    """The obvious way: per day, load the day's setup; per candidate slot, one EXISTS query."""
    from visits import scheduling
    from visits.models import (
        Availability,
        AvailabilityException,
        ClosedDay,
        OpeningHours,
        Visit,
    )
    from visits.services import SLOT_STEP, center_zone

    tz = center_zone(center)
    duration = dt.timedelta(minutes=visit_type.duration_minutes)
    out = []
    for c in clinicians:
        for d in range(days):
            day = first + dt.timedelta(days=d)
            if ClosedDay.objects.filter(center=center, date=day).exists():
                continue
            exceptions = list(AvailabilityException.objects.filter(clinician=c, date=day))
            if any(e.kind != "extra" and e.starts is None for e in exceptions):
                continue
            opening = [
                (h.opens, h.closes)
                for h in OpeningHours.objects.filter(center=center, weekday=day.weekday())
            ]
            sessions = [
                (a.starts, a.ends, a.room_id)
                for a in Availability.objects.filter(clinician=c, weekday=day.weekday())
            ]
            windows = scheduling.bookable_windows(
                day,
                tz,
                opening=opening,
                sessions=sessions,
                blocked=[(e.starts, e.ends) for e in exceptions if e.kind != "extra"],
            )
            for window in windows:
                start = window.start
                while start + duration <= window.end:
                    if (
                        start >= not_before
                        and not Visit.objects.filter(
                            clinician=c, start_at__lt=start + duration, end_at__gt=start
                        )
                        .exclude(status="cancelled")
                        .exists()
                    ):
                        out.append((start, c.pk))
                    start += SLOT_STEP
    return sorted(out)


def _times(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(values: list[float]) -> float:
    return percentile(values, 95)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench slots", description=__doc__)
    parser.add_argument("--clinicians", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--booked", type=float, default=0.6)
    parser.add_argument("--repeat", type=int, default=MIN_SAMPLES)
    parser.add_argument("--naive-sample", type=int, default=2, help="clinicians in the baseline")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    with run_database("bench_slots") as (name, bench_url):
        print(f"setting up {name} ...", flush=True)
        _setup(bench_url)
        return _run(args)


def _run(args) -> int:
    from django.utils import timezone

    from visits import services

    center, people, visit_type, visits = _load(args.clinicians, args.days, args.booked)
    today = timezone.localdate()
    now = timezone.now()
    print(
        f"{args.clinicians} clinicians × {args.days} days, {visits} visits booked "
        f"(~{args.booked:.0%} of the grid)"
    )

    def ours():
        return services.visit_slots(
            visit_type=visit_type, center=center, first=today, days=args.days, not_before=now
        )

    def next_five():
        return services.next_free_slots(visit_type=visit_type, center=center, after=now)

    slots = ours()
    full = _times(ours, args.repeat)
    nxt = _times(next_five, args.repeat)
    sample = people[: args.naive_sample]
    started = time.perf_counter()
    naive = _naive(center, sample, visit_type, today, args.days, now)
    naive_ms = (time.perf_counter() - started) * 1000
    mine = sorted(
        (s.start, s.clinician_id) for s in slots if s.clinician_id in {c.pk for c in sample}
    )
    assert mine == naive, "the naive loop and the search disagree"
    naive_all = naive_ms * args.clinicians / len(sample)
    median = statistics.median(full)
    verdict = "met" if median < TARGET_MS else "NOT met"
    print(f"free slots found: {len(slots)} (sample of {len(sample)} clinicians identical to naive)")
    print(
        f"visit_slots, all clinicians × {args.days} days: median {median:.1f} ms, "
        f"p95 {_p95(full):.1f} ms (target < {TARGET_MS} ms: {verdict})"
    )
    print(f"next five free slots: median {statistics.median(nxt):.1f} ms, p95 {_p95(nxt):.1f} ms")
    print(
        f"naive per-slot queries: {naive_ms:.0f} ms for {len(sample)} clinicians → "
        f"~{naive_all:.0f} ms for {args.clinicians}; ratio naive/ours ≈ {naive_all / median:.0f}×"
    )
    emit(
        {
            "median_ms": median,
            "p95_ms": _p95(full),
            "next_five_median_ms": statistics.median(nxt),
            "next_five_p95_ms": _p95(nxt),
            "ratio_naive": naive_all / median,
            "samples": len(full),
        },
        args.json,
    )
    return 0
