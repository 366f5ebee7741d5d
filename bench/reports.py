"""Report throughput on PostgreSQL + Redis with real Celery workers, and the due-check.

    python -m bench reports [--patients 1000] [--due-patients 10000] [--pdf-patients 200]
                            [--rounds 4] [--debug] [--json]

Builds a database of its own (``bench_reports_<uuid>`` on the server of DATABASE_URL, default
postgres://postgres@127.0.0.1:5432; dropped at the end), loads N patients × 14 days of simulated
CGM with COPY, then measures, each against a baseline measured in the same run:

- HTML: report_generate + rendering the report page (the real view), 2 prefork workers;
  baseline: the same work in this one process, serially, on a sample.
- PDF: the PDF of each report, 2 workers; baseline: serial in this process on a sample, warm
  (one PDF made first, untimed: imports and font loading are not a PDF's cost; the workers
  are warm too, having made the HTML reports).
- due-check: ``reports_due`` over --due-patients patients; baseline: a per-patient loop.

Serial and parallel phases are interleaved (``--rounds`` slices of each, alternating), so
both see the same machine load. ``--json``: the last line holds ``html_per_s``, ``pdf_per_s``,
``html_1000_s`` and ``pdf_1000_s`` (1,000 reports at the measured parallel rate), the serial
rates and the due-check's times.

Runs as production does, with DEBUG=0 (no query log, cached templates, hashed static files:
it runs ``collectstatic`` into STATIC_ROOT first); ``--debug`` measures with DEBUG=1.

Workers load this module (``--include bench.reports``) for the two bench tasks below; each
task increments a Redis counter so the run knows when all are done.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from celery import shared_task

from bench._common import add_common_arguments, emit, unique_name

ROOT = Path(__file__).resolve().parent.parent

DB_NAME = unique_name("bench_reports")  # this run's own database
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_BROKER = "redis://127.0.0.1:6379/14"
COUNTER = "bench:reports:done"


# --- tasks run by the workers ---------------------------------------------------------------


def _render_html(report_id: int, user_id: int) -> int:
    from django.test import RequestFactory

    from accounts.models import User
    from reports.views import report_detail

    request = RequestFactory().get(f"/reports/{report_id}/")
    request.user = User.objects.get(pk=user_id)
    response = report_detail(request, report_id)
    return len(response.content)


_counter_client = None  # one Redis connection per worker process, made at its first task


def _count_done() -> None:
    """The harness's "one more done". It keeps one connection per worker process: a new one
    per task (as before session 9) cost about 6 % of a worker's task in py-spy, harness time
    counted against the app that the serial baseline, which counts nothing, never paid."""
    global _counter_client
    if _counter_client is None:
        import redis

        _counter_client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    _counter_client.incr(COUNTER)


@shared_task(name="bench.reports.html", acks_late=True, ignore_result=True)
def html_task(patient_id: int, period_end: str, user_id: int) -> None:
    from reports.services import report_generate

    report = report_generate(patient_id=patient_id, period_end=dt.date.fromisoformat(period_end))
    _render_html(report.pk, user_id)
    _count_done()


@shared_task(name="bench.reports.pdf", acks_late=True, ignore_result=True)
def pdf_task(report_id: int) -> None:
    from reports.models import Report
    from reports.pdf import report_pdf_bytes

    report_pdf_bytes(Report.objects.select_related("patient").get(pk=report_id))
    _count_done()


# --- setup ----------------------------------------------------------------------------------


def _database_urls() -> tuple[str, str]:
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        server = DEFAULT_SERVER
    base = server.rsplit("/", 1)[0]
    return base + "/postgres", base + "/" + DB_NAME


def _create_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def _drop_database(admin_url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def _setup_django(bench_url: str, broker: str, *, debug: bool = True) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ["DEBUG"] = "1" if debug else "0"
    if not debug:  # production mode requires these; the workers inherit them
        os.environ.setdefault("SECRET_KEY", "bench-only-" + uuid.uuid4().hex)
        os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diabetes_center.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.conf import settings

    if settings.configured and "default" in getattr(settings, "DATABASES", {}):
        settings.DATABASES["default"]["NAME"] = DB_NAME
    django.setup()
    from django.db import connections

    connections["default"].settings_dict["NAME"] = DB_NAME
    connections.close_all()


def _load(patients: int, days: int, end: dt.date, extra: int) -> tuple[list[int], int]:
    """Patients with CGM data (COPY), plus `extra` patients with only a rollup row (for the
    due-check); half of those have an old report. Returns (ids with data, clinician id)."""
    import numpy as np
    from django.db import connection

    from accounts.models import CareCenter, User
    from patients.models import Patient
    from readings.models import DailyRollup, Device
    from readings.simulate import CgmProfile, cgm_trace
    from reports.models import Report

    center = CareCenter.objects.create(name="Bench")
    doctor = User.objects.create(
        username="bench.doctor", role="endocrinologist", care_center=center
    )
    total = patients + extra
    Patient.objects.bulk_create(
        Patient(
            mrn=f"B{i:06d}",
            name=f"Bench {i}",
            birth_date=dt.date(1970, 1, 1),
            diabetes_type="T1",
            timezone="UTC",
            care_center=center,
        )
        for i in range(total)
    )
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    through = Patient.endocrinologists.through
    through.objects.bulk_create(through(patient_id=pid, user_id=doctor.pk) for pid in ids)
    Device.objects.bulk_create(
        Device(patient_id=pid, identity="cgm", kind="cgm") for pid in ids[:patients]
    )
    devices = dict(Device.objects.values_list("patient_id", "pk"))
    start = end - dt.timedelta(days=days - 1)
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY readings_reading (patient_id, device_id, timestamp, value_mg_dl, kind, flag,"
            " meal_tag) FROM STDIN"
        ) as copy,
    ):
        for n, pid in enumerate(ids[:patients]):
            profile = CgmProfile(
                mean=float(130 + n % 60), swing=0.7 + (n % 9) / 10, nocturnal_lows=n % 4 == 0
            )
            t, v, _ = cgm_trace(profile, start=start, days=days, tz="UTC", seed=n)
            stamps = np.datetime_as_string(t.astype("datetime64[s]"), unit="s")
            buf = io.StringIO()
            for s, x in zip(stamps.tolist(), v.tolist(), strict=True):
                buf.write(f"{pid}\t{devices[pid]}\t{s}+00\t{x}\tcgm\t\t\n")
            copy.write(buf.getvalue())
    rollups = [
        DailyRollup(patient_id=pid, date=end - dt.timedelta(days=d), kind="cgm", count=288)
        for pid in ids
        for d in range(2)
    ]
    DailyRollup.objects.bulk_create(rollups, batch_size=5000)
    Report.objects.bulk_create(
        Report(
            patient_id=pid,
            period_start=end - dt.timedelta(days=40 + (i % 30)),
            period_end=end - dt.timedelta(days=27 + (i % 30)),
            kind="cgm",
        )
        for i, pid in enumerate(ids[patients::2])
    )
    # Every patient has a triage entry in production (made when the patient is saved; the
    # bulk insert above sends no signals): make them, untimed, so a report meets the state it
    # meets in production.
    from workspace.triage import triage_refresh

    triage_refresh(patient_ids=ids)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return ids[:patients], doctor.pk


class Workers:
    def __init__(self, count: int, queue: str):
        env = {**os.environ, "LOG_LEVEL": "WARNING"}
        self.log = open(f"/tmp/bench-reports-workers-{queue}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "diabetes_center",
                "worker",
                "--include",
                "bench.reports",
                "--pool=prefork",
                "-c",
                str(count),
                "-Q",
                queue,
                "-n",
                f"bench-{queue}@%h",
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        time.sleep(4)  # boot: Django setup and the pool

    def stop(self) -> None:
        import signal

        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)
        self.log.close()


def _run_tasks(redis_client, signatures, queue: str, timeout: float) -> float:
    redis_client.set(COUNTER, 0)
    started = time.perf_counter()
    for sig in signatures:
        sig.apply_async(queue=queue)
    deadline = started + timeout
    while int(redis_client.get(COUNTER) or 0) < len(signatures):
        if time.perf_counter() > deadline:
            raise SystemExit(f"timed out: {redis_client.get(COUNTER)} of {len(signatures)} done")
        time.sleep(0.05)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench reports", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--due-patients", type=int, default=10_000)
    parser.add_argument("--pdf-patients", type=int, default=200, help="PDFs to make (default 200)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-sample", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=4, help="serial/parallel alternations")
    parser.add_argument("--debug", action="store_true", help="run with DEBUG=1 (default 0)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    admin_url, _bench_url = _database_urls()
    try:
        figures = _bench(args)
    finally:
        _drop_database(admin_url)
    emit(figures, args.json)
    return 0


def _bench(args) -> dict:

    admin_url, bench_url = _database_urls()
    broker = os.environ.get("CELERY_BROKER_URL", "")
    broker = broker if broker.startswith("redis") else DEFAULT_BROKER
    _create_database(admin_url)
    _setup_django(bench_url, broker, debug=args.debug)
    import redis
    from celery import signature
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not args.debug:  # the page's {% static %} needs the manifest, as after a deploy
        call_command("collectstatic", interactive=False, verbosity=0)
    print(f"DEBUG={int(args.debug)}")
    end = dt.date.today() - dt.timedelta(days=1)
    t0 = time.perf_counter()
    ids, doctor = _load(args.patients, args.days, end, max(0, args.due_patients - args.patients))
    print(
        f"setup: {len(ids)} patients × {args.days} days of CGM (+ due-check patients) "
        f"in {time.perf_counter() - t0:.1f} s on {DB_NAME}"
    )

    from reports.models import Report
    from reports.pdf import report_pdf_bytes
    from reports.services import report_generate, reports_due

    def slices(items: list, rounds: int) -> list[list]:
        size = -(-len(items) // rounds)
        return [items[i * size : (i + 1) * size] for i in range(rounds)]

    sample = ids[: args.baseline_sample]
    parallel_ids = ids[args.baseline_sample :] or ids  # the workers' patients
    client = redis.Redis.from_url(broker)
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    workers = Workers(args.workers, queue)
    figures: dict = {}
    try:
        # HTML, interleaved: a slice serially here, then a slice on the workers, and again.
        serial_s = parallel_s = 0.0
        serial_n = parallel_n = 0
        for own, theirs in zip(
            slices(sample, args.rounds), slices(parallel_ids, args.rounds), strict=True
        ):
            t0 = time.perf_counter()
            for pid in own:
                report = report_generate(patient_id=pid, period_end=end, notify=False)
                _render_html(report.pk, doctor)
            serial_s += time.perf_counter() - t0
            serial_n += len(own)
            html = [
                signature("bench.reports.html", args=(pid, end.isoformat(), doctor))
                for pid in theirs
            ]
            parallel_s += _run_tasks(client, html, queue, timeout=1800)
            parallel_n += len(theirs)
        serial_html, html_rate = serial_n / serial_s, parallel_n / parallel_s
        print(
            f"HTML: {parallel_n} reports (generate + page) in {parallel_s:.1f} s = "
            f"{html_rate:.1f}/s with {args.workers} workers; serial baseline {serial_html:.1f}/s "
            f"({serial_n} reports); ratio {html_rate / serial_html:.2f}× "
            f"(goal: 1,000 in < 20 s)"
        )
        report_ids = list(
            Report.objects.filter(patient_id__in=parallel_ids).values_list("pk", flat=True)
        )
        pdf_ids = report_ids[: args.pdf_patients]
        own_pdfs = list(Report.objects.filter(patient_id__in=sample).values_list("pk", flat=True))[
            : max(5, args.baseline_sample // 4)
        ]
        report_pdf_bytes(Report.objects.select_related("patient").get(pk=own_pdfs[0]))  # warm
        serial_s = parallel_s = 0.0
        serial_n = parallel_n = 0
        for own, theirs in zip(
            slices(own_pdfs, args.rounds), slices(pdf_ids, args.rounds), strict=True
        ):
            t0 = time.perf_counter()
            for rid in own:
                report_pdf_bytes(Report.objects.select_related("patient").get(pk=rid))
            serial_s += time.perf_counter() - t0
            serial_n += len(own)
            parallel_s += _run_tasks(
                client,
                [signature("bench.reports.pdf", args=(rid,)) for rid in theirs],
                queue,
                timeout=1800,
            )
            parallel_n += len(theirs)
        serial_pdf, pdf_rate = serial_n / serial_s, parallel_n / parallel_s
        print(
            f"PDF: {parallel_n} PDFs in {parallel_s:.1f} s = {pdf_rate:.1f}/s with "
            f"{args.workers} workers; serial baseline (warm) {serial_pdf:.1f}/s; "
            f"ratio {pdf_rate / serial_pdf:.2f}× (goal: 1,000 in < 120 s)"
        )
        figures.update(
            html_per_s=html_rate,
            pdf_per_s=pdf_rate,
            html_1000_s=1000 / html_rate,
            pdf_1000_s=1000 / pdf_rate,
            html_serial_per_s=serial_html,
            pdf_serial_per_s=serial_pdf,
        )
    finally:
        workers.stop()

    from patients.models import Patient
    from readings.models import DailyRollup

    today = end + dt.timedelta(days=1)
    t0 = time.perf_counter()
    due = reports_due(today=today)
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = []
    for patient in Patient.objects.order_by("pk"):
        last = Report.objects.filter(patient=patient).order_by("-period_end").first()
        recent = DailyRollup.objects.filter(patient=patient, date__gte=today - dt.timedelta(14))
        if recent.exists() and (
            last is None or last.period_end + dt.timedelta(last.cadence_days) <= today
        ):
            naive.append(patient.pk)
    slow = time.perf_counter() - t0
    patients_total = Patient.objects.count()
    assert sorted(due) == sorted(naive), "the due-check and its baseline disagree"
    print(
        f"due-check: {patients_total} patients, {len(due)} due: reports_due {fast * 1000:.0f} ms; "
        f"per-patient loop baseline {slow * 1000:.0f} ms; ratio {slow / fast:.0f}× faster"
    )
    figures.update(due_check_ms=fast * 1000, due_check_loop_ms=slow * 1000)
    return figures


if __name__ == "__main__":
    sys.exit(main())
