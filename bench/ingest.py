"""Ingest throughput and memory against PostgreSQL ``COPY`` of the same rows (issue #3).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench ingest

Creates (and afterwards drops) a database of its own, ``bench_ingest_<uuid>``, migrates
it, and for a 90-day and a 2-year 5-minute CGM trace writes two files with the same readings:

- ``csv``: our plain CSV, instants in UTC (``2023-01-01T00:05:00+00:00``);
- ``dexcom``: a Dexcom Clarity CSV (the 14-column layout clinics upload most): a preamble of
  patient, device and alert rows, then EGV rows in the patient's local wall-clock time
  (``America/New_York``, so the file crosses DST changes and the repeated hour is resolved by
  the transmitter clock), a transmitter change every 90 days, and "Low"/"High" markers.

For each file it times:

- ours: the whole upload path, ``upload_process`` (parse → normalize → dedupe → insert → roll
  up), on a fresh patient;
- COPY: PostgreSQL binary ``COPY`` (the format our import writes) of the same readings
  (already encoded: no parsing) straight into the readings table, on another fresh patient,
  in the same run, alternating with ours — the fastest way in, with no parsing, checks or
  rollups.

Peak Python memory is measured with tracemalloc around each run. Targets: ours ≥ 0.8× COPY's
rate; the 90-day file < 1 s; peak memory the same for both sizes (streaming). ``--json``: the
last line holds ``ratio_vs_copy`` and ``seconds_90_day_file`` (the 90-day Dexcom file),
``peak_mib`` (largest peak of ours), and the same per file.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from bench._common import add_common_arguments, emit, unique_name

BENCH_DB = unique_name("bench_ingest")  # this run's own database
SIZES = (("90 days", 90), ("2 years", 730))
FORMATS = ("csv", "dexcom")
ROUNDS = 3
START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
DEXCOM_TIMEZONE = "America/New_York"
DEXCOM_DEVICE = "Dexcom G6 Android G6"  # what the parser names it: model + source device
TRANSMITTER_DAYS = 90  # a G6 transmitter lasts 90 days


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
        dbname="postgres",  # the maintenance database: DATABASE_URL names only the server
        autocommit=True,
    )
    admin.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-ingest-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diabetes_center.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # DEBUG keeps every SQL statement in connection.queries: memory that grows with the number
    # of chunks and is not the import's. Production runs without it.
    settings.DEBUG = False


def _drop_database() -> None:
    from django.db import connections

    connections.close_all()
    import psycopg

    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")


def cgm_trace(days: int) -> Iterator[tuple[dt.datetime, float, str]]:
    """(UTC instant, mg/dL, flag) every 5 minutes: a daily rhythm, a few readings off-scale.

    Values below 40 or above 400 are what a Dexcom sensor reports as "Low"/"High"; they are
    stored flagged at those limits, so that is what the trace gives for them.
    """
    for i in range(days * 288):
        value = round(150 + 100 * math.sin(i / 288 * 2 * math.pi) + 170 * ((i * 37 % 101) > 99))
        value -= 120 * ((i * 53 % 211) == 0)
        if value < 40:
            yield START + dt.timedelta(minutes=5 * i), 40.0, "low"
        elif value > 400:
            yield START + dt.timedelta(minutes=5 * i), 400.0, "high"
        else:
            yield START + dt.timedelta(minutes=5 * i), float(value), ""


def cgm_csv(path: str, days: int) -> int:
    """The trace as our plain CSV (UTC instants); returns the row count."""
    count = 0
    with open(path, "w") as out:
        out.write("timestamp,value,unit,kind,device\n")
        for instant, value, flag in cgm_trace(days):
            shown = flag.capitalize() if flag else f"{value:g}"
            out.write(f"{instant.isoformat()},{shown},mg/dL,cgm,{DEXCOM_DEVICE}\n")
            count += 1
    return count


DEXCOM_HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
    "Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),"
    "Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),"
    "Transmitter ID\n"
)
DEXCOM_PREAMBLE = (
    ",,FirstName,,Bench,,,,,,,,,",
    ",,LastName,,Patient,,,,,,,,,",
    ",,Device,,,Dexcom G6 Mobile App,Android G6,,,,,,,",
    ",,Alert,High,,,Android G6,250,,,,,,",
    ",,Alert,Low,,,Android G6,70,,,,,,",
    ",,Alert,Urgent Low,,,Android G6,55,,,,,,",
    ",,Alert,Signal Loss,,,Android G6,,,,00:20:00,,,",
)


def dexcom_csv(path: str, days: int) -> int:
    """The trace as a Dexcom Clarity CSV in local wall-clock time; returns the reading count."""
    zone = ZoneInfo(DEXCOM_TIMEZONE)
    count = 0
    with open(path, "w", newline="") as out:
        out.write("\ufeff" + DEXCOM_HEADER)
        for n, row in enumerate(DEXCOM_PREAMBLE, start=1):
            out.write(f"{n}{row}\r\n")
        index = len(DEXCOM_PREAMBLE)
        previous = None
        for instant, value, flag in cgm_trace(days):
            index += 1
            seconds = int((instant - START).total_seconds())
            transmitter = f"8GH{seconds // (TRANSMITTER_DAYS * 86400):03d}L"
            tx_time = seconds % (TRANSMITTER_DAYS * 86400) + 7200  # warm-up before the first EGV
            wall = instant.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")
            shown = flag.capitalize() if flag else f"{value:g}"
            rate = "" if flag or previous is None else f"{(value - previous) / 5:.1f}"
            previous = None if flag else value
            out.write(
                f"{index},{wall},EGV,,,,Android G6,{shown},,,,{rate},{tx_time},{transmitter}\r\n"
            )
            count += 1
    return count


WRITERS = {"csv": cgm_csv, "dexcom": dexcom_csv}
TIMEZONES = {"csv": "UTC", "dexcom": DEXCOM_TIMEZONE}


def _patient(name: str, timezone: str = "UTC"):
    from patients.models import Patient

    return Patient.objects.create(
        mrn=name, name=name, birth_date=dt.date(1980, 1, 1), diabetes_type="T1", timezone=timezone
    )


def run_ours(path: str, *, timezone: str, trace: bool) -> tuple[float, int, int]:
    from readings.services import upload_create, upload_process

    patient = _patient(f"OURS-{os.path.basename(path)}-{time.monotonic_ns()}", timezone)
    upload = upload_create(patient=patient, by=None, file=path, filename=path)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    upload = upload_process(upload_id=upload.pk)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    assert upload.status == "done", upload.error
    assert not upload.rejected, upload.rejected[:3]
    return elapsed, peak, upload.accepted


def _binary_payload(text_payload: bytes) -> bytes:
    """The same rows as binary ``COPY`` data, the format our import writes (made untimed, by
    PostgreSQL itself: text COPY into a scratch table, then binary COPY out of it)."""
    from django.db import connection

    from readings.models import Reading

    table = Reading._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(
            f"CREATE TEMP TABLE bench_copy AS SELECT {COPY_COLUMNS} FROM {table} WITH NO DATA"
        )
        with raw.copy(f"COPY bench_copy ({COPY_COLUMNS}) FROM STDIN") as copy:
            copy.write(text_payload)
        parts = []
        with raw.copy(f"COPY bench_copy ({COPY_COLUMNS}) TO STDOUT (FORMAT BINARY)") as copy:
            for data in copy:
                parts.append(bytes(data))
        raw.execute("DROP TABLE bench_copy")
    return b"".join(parts)


COPY_COLUMNS = "patient_id, device_id, timestamp, value_mg_dl, kind, flag, meal_tag, upload_id"


def run_copy(days: int, *, trace: bool) -> tuple[float, int, int]:
    """COPY the same readings (already in table form: no parsing) into the readings table, in
    binary format as our import does (``readings.services.inserts``): same format, same work
    for the server."""
    from django.db import connection, transaction

    from readings.models import Device, Reading

    patient = _patient(f"COPY-{days}-{time.monotonic_ns()}")
    device = Device.objects.create(patient=patient, identity=DEXCOM_DEVICE, kind="cgm")
    payload = _binary_payload(
        "".join(
            f"{patient.pk}\t{device.pk}\t{instant.isoformat()}\t{value:g}\tcgm\t{flag}\t\t\\N\n"
            for instant, value, flag in cgm_trace(days)
        ).encode()
    )
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY {Reading._meta.db_table} ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            for start in range(0, len(payload), 1 << 20):
                copy.write(payload[start : start + (1 << 20)])
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    return elapsed, peak, Reading.objects.filter(patient=patient).count()


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__)
    parser.add_argument(
        "--days",
        type=int,
        nargs="*",
        default=[days for _label, days in SIZES],
        help="trace lengths in days (default: 90 and 730)",
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    sizes = [(f"{d} days", d) for d in args.days]
    _setup_django()
    try:
        results = []
        with tempfile.TemporaryDirectory() as folder:
            for label, days in sizes:
                for fmt in FORMATS:
                    path = os.path.join(folder, f"{fmt}_{days}d.csv")
                    rows = WRITERS[fmt](path, days)
                    # Timed runs without tracemalloc (it slows Python code several-fold), best
                    # of ROUNDS, alternating ours and COPY so both see the same server load;
                    # then one traced run each for peak memory.
                    ours_times, copy_times = [], []
                    for _ in range(args.rounds):
                        elapsed, _, accepted = run_ours(path, timezone=TIMEZONES[fmt], trace=False)
                        ours_times.append(elapsed)
                        elapsed, _, copied = run_copy(days, trace=False)
                        copy_times.append(elapsed)
                        assert accepted == rows == copied, (accepted, rows, copied)
                    ours_s, copy_s = min(ours_times), min(copy_times)
                    ours_peak = run_ours(path, timezone=TIMEZONES[fmt], trace=True)[1]
                    copy_peak = run_copy(days, trace=True)[1]
                    results.append((label, fmt, rows, ours_s, copy_s, ours_peak, copy_peak))
        print_table(results)
    finally:
        _drop_database()
    emit(_figures(results), args.json)
    return 0


def _figures(results) -> dict:
    """The named figures: of the 90-day Dexcom file (what clinics upload) when it ran, else of
    the shortest Dexcom file for the ratio (``seconds_90_day_file`` then null: not scaled)."""
    figures = {"peak_mib": max(r[5] for r in results) / 2**20, "seconds_90_day_file": None}
    dexcom = sorted((r for r in results if r[1] == "dexcom"), key=lambda r: r[2])
    headline = next((r for r in dexcom if r[0] == "90 days"), dexcom[0] if dexcom else None)
    for label, fmt, _rows, ours_s, copy_s, _ours_peak, _copy_peak in results:
        key = f"{fmt}_{label.split()[0]}d"
        figures[f"ratio_vs_copy_{key}"] = copy_s / ours_s
        figures[f"seconds_{key}"] = ours_s
    if headline is not None:
        figures["ratio_vs_copy"] = headline[4] / headline[3]
        if headline[0] == "90 days":
            figures["seconds_90_day_file"] = headline[3]
    return figures


def print_table(results) -> None:
    header = (
        f"{'file':<9} {'format':<7} {'readings':>9} {'ours s':>8} {'ours r/s':>10} "
        f"{'COPY s':>8} {'COPY r/s':>10} {'ratio':>6} {'ours peak MiB':>14} {'COPY peak MiB':>14}"
    )
    print(header)
    print("-" * len(header))
    for label, fmt, rows, ours_s, copy_s, ours_peak, copy_peak in results:
        print(
            f"{label:<9} {fmt:<7} {rows:>9,} {ours_s:>8.2f} {rows / ours_s:>10,.0f} "
            f"{copy_s:>8.2f} {rows / copy_s:>10,.0f} {copy_s / ours_s:>6.2f} "
            f"{ours_peak / 2**20:>14.1f} {copy_peak / 2**20:>14.1f}"
        )
    print(
        "\nratio = ours ÷ COPY rate (target ≥ 0.8, #23); 90-day target < 1 s; ours peak memory "
        "should not grow with the file (streaming, fixed-size chunks). csv = our plain CSV "
        "(UTC instants); dexcom = Clarity CSV in local time (America/New_York)."
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
