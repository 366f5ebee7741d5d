"""Ingest throughput and memory against PostgreSQL ``COPY`` of the same rows (issue #3).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m bench ingest

Creates (and afterwards drops) a separate database ``bench_ingest`` on that server, migrates
it, generates a 90-day and a 2-year 5-minute CGM file (plain CSV), and for each times:

- ours: the whole upload path, ``upload_process`` (parse → normalize → dedupe → insert → roll
  up), on a fresh patient;
- COPY: PostgreSQL ``COPY`` of the same rows straight into the readings table, on another fresh
  patient, in the same run — the fastest way in, with no parsing, checks or rollups.

Peak Python memory is measured with tracemalloc around each run. Targets: ours ≥ 0.5× COPY's
rate; the 90-day file < 1 s; peak memory the same for both sizes (streaming).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import sys
import tempfile
import time
import tracemalloc

BENCH_DB = "bench_ingest"
SIZES = (("90 days", 90), ("2 years", 730))
ROUNDS = 3


def _setup_django() -> None:
    import dj_database_url

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    config = dj_database_url.parse(url)
    if not config["ENGINE"].endswith("postgresql"):
        raise SystemExit("bench ingest needs PostgreSQL (DATABASE_URL=postgres://...)")
    import psycopg

    admin = psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname=config["NAME"],
        autocommit=True,
    )
    admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    admin.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-ingest-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diabetes_center.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _drop_database() -> None:
    from django.db import connections

    connections.close_all()
    import psycopg

    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")


def cgm_csv(path: str, days: int) -> int:
    """A plain-CSV CGM file, 5-minute readings with a daily rhythm; returns the row count."""
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    count = days * 288
    with open(path, "w") as out:
        out.write("timestamp,value,unit,kind,device\n")
        for i in range(count):
            moment = start + dt.timedelta(minutes=5 * i)
            value = 140 + 60 * math.sin(i / 288 * 2 * math.pi) + (i * 37 % 23)
            out.write(f"{moment.isoformat()},{round(value)},mg/dL,cgm,Bench G7\n")
    return count


def _patient(name: str):
    from patients.models import Patient

    return Patient.objects.create(
        mrn=name, name=name, birth_date=dt.date(1980, 1, 1), diabetes_type="T1", timezone="UTC"
    )


def run_ours(path: str, *, trace: bool) -> tuple[float, int, int]:
    from readings.services import upload_create, upload_process

    patient = _patient(f"OURS-{os.path.basename(path)}-{time.monotonic_ns()}")
    upload = upload_create(patient=patient, by=None, file=path, filename=path)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    upload = upload_process(upload_id=upload.pk)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    assert upload.status == "done", upload.error
    return elapsed, peak, upload.accepted


def run_copy(path: str, *, trace: bool) -> tuple[float, int, int]:
    """COPY the same rows (already in table form: no parsing) into the readings table."""
    from django.db import connection, transaction

    from readings.models import Device, Reading

    patient = _patient(f"COPY-{os.path.basename(path)}-{time.monotonic_ns()}")
    device = Device.objects.create(patient=patient, identity="Bench G7", kind="cgm")
    with open(path) as source:
        next(source)
        rows = [line.split(",", 2)[:2] for line in source]
    table = io.StringIO()
    for stamp, value in rows:
        table.write(f"{patient.pk}\t{device.pk}\t{stamp}\t{value}\tcgm\t\t\t\\N\n")
    payload = table.getvalue().encode()
    del rows, table
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY {Reading._meta.db_table} (patient_id, device_id, timestamp, value_mg_dl, kind,"
            " flag, meal_tag, upload_id) FROM STDIN"
        ) as copy:
            for start in range(0, len(payload), 1 << 20):
                copy.write(payload[start : start + (1 << 20)])
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    return elapsed, peak, Reading.objects.filter(patient=patient).count()


def main(argv: list[str]) -> int:
    _setup_django()
    try:
        results = []
        with tempfile.TemporaryDirectory() as folder:
            for label, days in SIZES:
                path = os.path.join(folder, f"cgm_{days}d.csv")
                rows = cgm_csv(path, days)
                # Timed runs without tracemalloc (it slows Python code several-fold), best of
                # ROUNDS, alternating ours and COPY so both see the same server load; then one
                # traced run each for peak memory.
                ours_times, copy_times = [], []
                for _ in range(ROUNDS):
                    elapsed, _, accepted = run_ours(path, trace=False)
                    ours_times.append(elapsed)
                    elapsed, _, copied = run_copy(path, trace=False)
                    copy_times.append(elapsed)
                    assert accepted == rows == copied, (accepted, rows, copied)
                ours_s, copy_s = min(ours_times), min(copy_times)
                ours_peak = run_ours(path, trace=True)[1]
                copy_peak = run_copy(path, trace=True)[1]
                results.append((label, rows, ours_s, copy_s, ours_peak, copy_peak))
        print_table(results)
    finally:
        _drop_database()
    return 0


def print_table(results) -> None:
    header = (
        f"{'file':<9} {'readings':>9} {'ours s':>8} {'ours r/s':>10} {'COPY s':>8} "
        f"{'COPY r/s':>10} {'ratio':>6} {'ours peak MiB':>14} {'COPY peak MiB':>14}"
    )
    print(header)
    print("-" * len(header))
    for label, rows, ours_s, copy_s, ours_peak, copy_peak in results:
        print(
            f"{label:<9} {rows:>9,} {ours_s:>8.2f} {rows / ours_s:>10,.0f} {copy_s:>8.2f} "
            f"{rows / copy_s:>10,.0f} {copy_s / ours_s:>6.2f} {ours_peak / 2**20:>14.1f} "
            f"{copy_peak / 2**20:>14.1f}"
        )
    print(
        "\nratio = ours ÷ COPY rate (target ≥ 0.5); 90-day target < 1 s; ours peak memory "
        "should not grow with the file (streaming, 5,000-row chunks)."
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
