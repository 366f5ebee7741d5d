"""Server time of the endocrinologist's pages at 5,000 and 500 patients, on PostgreSQL.

    python -m bench dashboard [--patients 5000] [--small 500] [--raw-patients 500]
                              [--rollup-days 90] [--raw-days 14] [--repeat 50] [--json]
                              [--keep | --reuse DATABASE]

Creates a database of its own (``bench_dashboard_<uuid>`` on the server of DATABASE_URL, default
postgres://postgres@127.0.0.1:5432; dropped at the end unless ``--keep``) and migrates it. Loads
--patients patients assigned to one endocrinologist (and the first --small of them to a second
one), --rollup-days of daily CGM rollups per patient (COPY), raw 5-minute CGM for the last
--raw-days for --raw-patients of them (COPY; the rest get one recent reading so their data is
not "old"), computes every triage entry (the periodic job's cost), then times each page end to
end — the Django test client through every middleware and the session save, DEBUG=0 — printing
median, p95 (of --repeat ≥ 50 samples) and queries per page against the targets of issue #10:
triage p95 < 150 ms, population < 300 ms, overview < 250 ms, day view < 100 ms, and the same for
the clinician with --small patients. ``--json``: the last line holds ``<page>_median_ms``,
``<page>_p95_ms``, ``<page>_queries`` for each page (``small_<page>_…`` for the clinician with
--small patients)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import time
import uuid

from bench._common import (
    MIN_SAMPLES,
    add_common_arguments,
    emit,
    median,
    percentile,
    run_database,
    server_urls,
)

TARGETS_MS = {"triage": 150, "population": 300, "overview": 250, "day": 100}


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + uuid.uuid4().hex)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diabetes_center.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    from diabetes_center.startup import freeze_loaded_objects

    freeze_loaded_objects()  # as a web server's worker does once loaded (wsgi.py)


def _copy(table: str, columns: str, rows: io.StringIO) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as c:
        c.write(rows.getvalue())


def _normal_cdf(x):
    import math

    import numpy as np

    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _load(patients: int, small: int, raw_patients: int, rollup_days: int, raw_days: int):
    import numpy as np
    from django.db import connection

    from accounts.models import CareCenter, User
    from patients.models import Patient
    from readings.models import Device
    from readings.simulate import CgmProfile, cgm_trace

    rng = np.random.default_rng(7)
    center = CareCenter.objects.create(name="Bench")
    big = User.objects.create(username="bench.big", role="endocrinologist", care_center=center)
    few = User.objects.create(username="bench.few", role="endocrinologist", care_center=center)
    kinds = ["T1", "T2", "T2", "GDM", "T1", "T2"]
    Patient.objects.bulk_create(
        Patient(
            mrn=f"B{i:06d}",
            name=f"Bench {i:05d}",
            birth_date=dt.date(1950 + i % 50, 1, 1),
            diabetes_type=kinds[i % len(kinds)],
            timezone=("UTC", "Europe/Bucharest", "Asia/Shanghai")[i % 3],
            care_center=center,
        )
        for i in range(patients)
    )
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    through = Patient.endocrinologists.through
    through.objects.bulk_create(
        [through(patient_id=pid, user_id=big.pk) for pid in ids]
        + [through(patient_id=pid, user_id=few.pk) for pid in ids[:small]],
        batch_size=5000,
    )
    Device.objects.bulk_create(Device(patient_id=pid, identity="cgm", kind="cgm") for pid in ids)
    devices = dict(Device.objects.values_list("patient_id", "pk"))
    today = dt.date.today()
    # Rollups: per patient a mean and SD, per day a multinomial draw of the band counts.
    mean = rng.normal(155, 30, patients).clip(95, 260)
    sd = mean * rng.uniform(0.22, 0.45, patients)
    cdf = [_normal_cdf((edge - mean) / sd) for edge in (54, 70, 180, 250)]
    probs = np.stack([cdf[0], cdf[1] - cdf[0], cdf[2] - cdf[1], cdf[3] - cdf[2], 1 - cdf[3]], 1)
    probs = probs.clip(0, 1) / probs.clip(0, 1).sum(1, keepdims=True)
    started = time.perf_counter()
    buf = io.StringIO()
    for n, pid in enumerate(ids):
        counts = rng.multinomial(288, probs[n], size=rollup_days)
        totals = counts.sum(1) - rng.integers(0, 30, rollup_days)  # some sensor gaps
        counts[:, 2] -= counts.sum(1) - totals
        counts[:, 2] = counts[:, 2].clip(0)
        total = counts.sum(1)
        sums = total * mean[n]
        sum_sq = total * (mean[n] ** 2 + sd[n] ** 2)
        for d in range(rollup_days):
            day = today - dt.timedelta(days=d)
            vl, lo, ir, hi, vh = counts[d].tolist()
            buf.write(
                f"{pid}\t{day}\tcgm\t{total[d]}\t{sums[d]:.1f}\t{sum_sq[d]:.1f}\t40\t400\t"
                f"{vl}\t{lo}\t{ir}\t{hi}\t{vh}\t{int(ir * 0.6)}\t0\t0\t5\n"
            )
    _copy(
        "readings_dailyrollup",
        "patient_id, date, kind, count, sum, sum_sq, min, max, n_very_low, n_low, n_in_range,"
        " n_high, n_very_high, n_tight, rl_sum, rh_sum, interval_minutes",
        buf,
    )
    rollup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    raw = 0
    start = today - dt.timedelta(days=raw_days - 1)
    now = time.time()
    for n, pid in enumerate(ids):
        buf = io.StringIO()
        if n < raw_patients:
            profile = CgmProfile(mean=float(mean[n]), swing=0.6 + (n % 9) / 10)
            t, v, _ = cgm_trace(profile, start=start, days=raw_days, tz="UTC", seed=n)
            keep = t < now
            t, v = t[keep], v[keep]
            stamps = np.datetime_as_string(t.astype("datetime64[s]"), unit="s")
            for s, x in zip(stamps.tolist(), v.round(1).tolist(), strict=True):
                buf.write(f"{pid}\t{devices[pid]}\t{s}+00\t{x}\tcgm\t\t\n")
            raw += len(v)
        else:  # one recent reading, so "data age" is realistic for everyone
            stamp = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=int(rng.integers(1, 600)))
            buf.write(f"{pid}\t{devices[pid]}\t{stamp.isoformat()}\t{mean[n]:.0f}\tcgm\t\t\n")
            raw += 1
        _copy(
            "readings_reading",
            "patient_id, device_id, timestamp, value_mg_dl, kind, flag, meal_tag",
            buf,
        )
    raw_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return big, few, ids, raw, rollup_seconds, raw_seconds


def _time(client, path: str, params: dict, repeat: int) -> tuple[float, float, int]:
    """Median and p95 (ms) of ``repeat`` requests after two warm-ups, and queries of one.

    End to end through the Django test client: URL resolving, every middleware (session,
    authentication, the audit row, locale), the view and its templates, and the session save —
    what a request costs the server but the network and the WSGI server."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    times = []
    for i in range(repeat + 2):
        started = time.perf_counter()
        response = client.get(path, params, secure=True)  # production redirects http
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code)
        if i >= 2:  # warm-up: template and plan caches
            times.append(elapsed)
    with CaptureQueriesContext(connection) as captured:
        client.get(path, params, secure=True)
    queries = len(captured.captured_queries)  # before reset_queries() empties the log
    reset_queries()
    return median(times), percentile(times, 95), queries


def _pages(patient_id: int) -> list[tuple[str, str, str, str, dict]]:
    """(target kind, label, JSON key, path, query) of each page timed."""
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    return [
        ("triage", "first page by risk", "triage", "/patients/", {}),
        (
            "triage",
            "filtered (flag: level 2 low)",
            "triage_filtered",
            "/patients/",
            {"flag": "very_low"},
        ),
        (
            "triage",
            "sorted by TIR, page 3",
            "triage_sorted",
            "/patients/",
            {"ordering": "tir", "page": 3},
        ),
        ("population", "population view", "population", "/patients/population/", {}),
        ("overview", "patient overview", "overview", f"/patients/{patient_id}/", {}),
        (
            "day",
            "day view",
            "day",
            f"/patients/{patient_id}/day/",
            {"date": yesterday},
        ),
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dashboard", description=__doc__)
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--raw-patients", type=int, default=500)
    parser.add_argument("--rollup-days", type=int, default=90)
    parser.add_argument("--raw-days", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=MIN_SAMPLES)
    parser.add_argument(
        "--keep", action="store_true", help="keep this run's database (its name is printed)"
    )
    parser.add_argument(
        "--reuse",
        metavar="DATABASE",
        help="time the pages on the data a previous --keep run loaded (loading 20 million raw "
        "readings takes ~15 minutes); triage entries are recomputed",
    )
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.reuse:
        _admin, url = server_urls(args.reuse)
        print(f"database: {args.reuse} (reusing the data of an earlier run)")
        _setup(url)
        from accounts.models import User
        from patients.models import Patient
        from readings.models import Reading

        big, few = User.objects.get(username="bench.big"), User.objects.get(username="bench.few")
        ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
        args.patients, args.small = len(ids), few.assigned_patients.count()
        print(f"{len(ids)} patients, {Reading.objects.count():,} raw readings")
        return _measure(args, big, few, ids)
    with run_database("bench_dashboard", keep=args.keep) as (name, url):
        print(f"database: {name} (new{', kept' if args.keep else ', dropped at the end'})")
        _setup(url)
        big, few, ids, raw, rollup_s, raw_s = _load(
            args.patients, args.small, args.raw_patients, args.rollup_days, args.raw_days
        )
        print(
            f"loaded {args.patients} patients: {args.patients * args.rollup_days:,} rollup rows "
            f"in {rollup_s:.1f} s, {raw:,} raw readings in {raw_s:.1f} s "
            f"({args.raw_patients} patients × {args.raw_days} days of 5-minute CGM)"
        )
        return _measure(args, big, few, ids)


def _signed_in(user):
    """A test client signed in as ``user`` with a confirmed second factor (production requires
    one of clinicians), so every request passes the real OTP and session checks."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _created = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _measure(args, big, few, ids) -> int:
    from workspace.triage import triage_refresh, triage_refresh_stale

    started = time.perf_counter()
    triage_refresh(patient_ids=ids)
    refresh_s = time.perf_counter() - started
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after 5,000 new rows
    started = time.perf_counter()
    stale = triage_refresh_stale()
    print(
        f"triage entries for all patients (what the local-midnight job does): {refresh_s:.1f} s; "
        f"the hourly check with nothing stale: {time.perf_counter() - started:.2f} s "
        f"({stale} refreshed)"
    )
    header = (
        f"{'patients':>8}  {'page':<30} {'median ms':>9} {'p95 ms':>7} {'target':>7} {'queries':>7}"
    )
    failed = False
    figures: dict = {"triage_refresh_all_s": refresh_s}
    for user, count, prefix in ((big, args.patients, ""), (few, args.small, "small_")):
        client = _signed_in(user)
        print()
        print(header)
        for kind, label, key, path, params in _pages(ids[0]):
            med, p95, queries = _time(client, path, params, args.repeat)
            target = TARGETS_MS[kind]
            ok = "ok" if p95 < target else "SLOW"
            failed |= p95 >= target
            print(
                f"{count:>8}  {label:<30} {med:>9.1f} {p95:>7.1f} {'<' + str(target):>7} "
                f"{queries:>7}  {ok}"
            )
            figures[f"{prefix}{key}_median_ms"] = med
            figures[f"{prefix}{key}_p95_ms"] = p95
            figures[f"{prefix}{key}_queries"] = queries
    figures["samples"] = args.repeat
    emit(figures, args.json)
    return 1 if failed else 0
