"""Remote monitoring's speed (issue #20 §4): from a post to the alert in the inbox, and the
cost of one evaluation whatever the patient's history.

    python -m bench monitoring [--patients 60] [--lows 50] [--interval 300] [--duration 40]
                               [--long-days 730] [--eval-repeats 20] [--embedded] [--json]

Builds a database of its own (``bench_monitoring_<uuid>`` on the server of DATABASE_URL;
dropped at the end), then:

1. **Evaluation per post.** Two patients with a flat CGM history, one of 1 day and one of
   ``--long-days`` (2 years: ~210,000 readings). For each, ``--eval-repeats`` times: one new
   reading is stored and ``alerts_evaluate`` (the task's body) times it. Baseline, measured in
   the same run: the same evaluation over the patient's whole history (the window widened to
   cover it) — what a naive evaluation that reads everything would cost.
2. **Post → inbox.** ``--patients`` enrolled patients (consent, enrolment, a Nightscout link
   each) with a few hours of history each post one reading every ``--interval`` seconds
   (staggered) as ``xDrip+`` does — ``POST /ns/{key}/api/v1/entries`` over HTTP to a real
   server — for ``--duration`` seconds; the issue's figure is 5,000 patients every 300 s
   (≈ 17 posts/s). ``--lows`` of them have a history that has just fallen to 52 mg/dL: their
   next post (49) is the second reading below 54, an urgent low. A clinician's session polls
   ``GET /api/v1/alerts/?kind=urgent_low`` every ``--poll`` seconds; the figure is the time
   from sending the post to the poll that first shows its alert (p50, p99; the poll period
   bounds the error). Goal: p99 < 10 s (PostgreSQL + Redis), < 60 s (embedded).

Servers, as in production: gunicorn (``DEBUG=0``, ``--web-workers`` sync workers) and a
Celery worker (``--concurrency``, every queue) on the Redis of CELERY_BROKER_URL (default
redis://127.0.0.1:6379/14; use a database number of your own). ``--embedded``: as
``scripts/run`` runs: SQLite (WAL) and the filesystem broker in a temporary folder, one worker
with ``--beat --concurrency=2``, and ``manage.py runserver``.

``--json``: the last line holds ``post_to_inbox_p50_s``, ``post_to_inbox_p99_s``,
``post_to_inbox_max_s``, ``samples``, ``posts``, ``posts_per_s``, ``post_p50_ms``,
``post_p99_ms``, ``behind_schedule_p99_s`` (how late posts left: the server not keeping
up), ``eval_ms_1_day``, ``eval_ms_2_years``, ``baseline_whole_history_ms_1_day``,
``baseline_whole_history_ms_2_years``, ``load_average_1m``. Exit status 1 when the p99 misses
its goal.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench._common import (
    MIN_SAMPLES,
    add_common_arguments,
    emit,
    median,
    percentile,
    run_database,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BROKER = "redis://127.0.0.1:6379/14"
GOAL_S = {"postgres": 10.0, "embedded": 60.0}
FALL = (140, 120, 100, 80, 62, 52)  # the history of a low patient; the next post is 49
STEP = dt.timedelta(minutes=5)


# --- setup -----------------------------------------------------------------------------------


def _setup_django(env: dict) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "diabetes_center.settings"
    import django

    django.setup()


def _server_env(database_url: str, broker: str, var_dir: str, *, embedded: bool) -> dict:
    env = {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
        "THROTTLE_PERSON": "100000/minute",
        "THROTTLE_DEVICE": "100000/minute",
        "REQUIRE_2FA": "0",
        "SESSION_IDLE_TIMEOUT_MINUTES": "0",
    }
    if embedded:
        env["DEBUG"] = "1"  # scripts/run's defaults
    else:
        env.update(
            DEBUG="0",
            SECRET_KEY="bench-only-" + uuid.uuid4().hex,
            ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            SECURE_SSL_REDIRECT="0",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
        )
    return env


def _bulk_readings(rows: list) -> None:
    from readings.models import Reading

    Reading.objects.bulk_create(rows, batch_size=5000)


def _enrolled_patient(center, doctor, mrn: str, name: str):
    """A type 1 patient of ``doctor`` who consented and is enrolled with the defaults."""
    from monitoring.services import enrolment_set
    from patients.consent import consent_record
    from patients.models import Patient

    patient = Patient.objects.create(
        mrn=mrn,
        name=name,
        birth_date=dt.date(1970, 1, 1),
        diabetes_type="T1",
        timezone="UTC",
        care_center=center,
    )
    patient.endocrinologists.add(doctor)
    consent_record(patient=patient, topic="remote_monitoring", given=True, by=None)
    enrolment_set(patient=patient, enrolled=True, thresholds=None, by=doctor)
    return patient


def _flat_patient(center, doctor, mrn: str, days: int, end: dt.datetime):
    """An enrolled patient with ``days`` of flat 5-minute CGM ending at ``end``."""
    from readings.models import Device, Reading

    patient = _enrolled_patient(center, doctor, mrn, f"Bench {mrn}")
    device = Device.objects.create(patient=patient, identity="bench-cgm", kind="cgm")
    count = days * 288
    rng = random.Random(mrn)
    _bulk_readings(
        [
            Reading(
                patient=patient,
                device=device,
                timestamp=end - STEP * (count - 1 - i),
                value_mg_dl=120 + rng.uniform(-8, 8),
                kind="cgm",
            )
            for i in range(count)
        ]
    )
    return patient, device


@contextlib.contextmanager
def _whole_history():
    """The baseline: the same evaluation, its window widened to the whole history."""
    from monitoring.services import evaluation

    real = evaluation.rules.evaluation_window_seconds
    evaluation.rules.evaluation_window_seconds = lambda *a, **k: 3 * 366 * 86400.0
    try:
        yield
    finally:
        evaluation.rules.evaluation_window_seconds = real


def _eval_times(patient, device, start: dt.datetime, repeats: int, *, whole: bool) -> list:
    from monitoring.services import alerts_evaluate
    from readings.models import Reading

    times = []
    moment = start
    for _ in range(repeats):
        moment += STEP
        Reading.objects.create(
            patient=patient, device=device, timestamp=moment, value_mg_dl=121, kind="cgm"
        )
        with _whole_history() if whole else contextlib.nullcontext():
            t0 = time.perf_counter()
            alerts_evaluate(patient_id=patient.pk, now=moment)
            times.append((time.perf_counter() - t0) * 1000)
    return times


def _evaluation_figures(args, center, doctor) -> dict:
    """Evaluation per post for 1 day vs ``--long-days`` of history, with the baseline."""
    from django.db import connection

    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    figures = {}
    for label, days in (("1_day", 1), ("2_years", args.long_days)):
        t0 = time.perf_counter()
        patient, device = _flat_patient(center, doctor, f"EVAL{days}", days, now)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE readings_reading")
        print(f"evaluation: patient with {days} days ({days * 288} readings) loaded in "
              f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
        _eval_times(patient, device, now, 2, whole=False)  # warm (imports, caches)
        start = now + 2 * STEP
        windowed = _eval_times(patient, device, start, args.eval_repeats, whole=False)
        start += args.eval_repeats * STEP
        whole = _eval_times(patient, device, start, args.baseline_repeats, whole=True)
        figures[f"eval_ms_{label}"] = median(windowed)
        figures[f"eval_p95_ms_{label}"] = percentile(windowed, 95)
        figures[f"baseline_whole_history_ms_{label}"] = median(whole)
        print(
            f"  {label}: evaluation per post median {median(windowed):.1f} ms "
            f"(p95 {percentile(windowed, 95):.1f}, {len(windowed)} posts); whole-history "
            f"baseline {median(whole):.1f} ms ({len(whole)} posts)"
        )
    ratio = figures["eval_ms_2_years"] / figures["eval_ms_1_day"]
    figures["eval_ratio_2_years_vs_1_day"] = ratio
    whole = (
        figures["baseline_whole_history_ms_2_years"] / figures["baseline_whole_history_ms_1_day"]
    )
    print(
        f"evaluation per post, {args.long_days} days vs 1 day of history: {ratio:.2f}× "
        f"(flat: ≈1); the whole-history baseline: {whole:.0f}×"
    )
    return figures


def _load_patients(args, center, doctor, first_post: dict, history_end: dict):
    """Enrolled patients with a Nightscout link each and a few hours of history before their
    first post (a fall to 52 for the low ones). Returns {patient id: (key, sha1 of secret)}."""
    from readings.models import Device, Reading
    from readings.services import nightscout_link_ensure

    links = {}
    rows = []
    for i in range(args.patients):
        patient = _enrolled_patient(center, doctor, f"L{i:06d}", f"Load {i}")
        link = nightscout_link_ensure(patient=patient)
        links[i] = (patient.pk, link.key, hashlib.sha1(link.api_secret.encode()).hexdigest())
        device = Device.objects.create(patient=patient, identity="bench-history", kind="cgm")
        end = history_end[i]
        values = list(FALL) if i < args.lows else []
        values = [130.0] * (args.history_hours * 12 - len(values)) + [float(v) for v in values]
        rows += [
            Reading(
                patient=patient,
                device=device,
                timestamp=end - STEP * (len(values) - 1 - k),
                value_mg_dl=v,
                kind="cgm",
            )
            for k, v in enumerate(values)
        ]
    _bulk_readings(rows)
    return links


# --- servers ---------------------------------------------------------------------------------


class Process:
    def __init__(self, name: str, command: list[str], env: dict, folder: str, cwd: Path = ROOT):
        self.name = name
        self.log_path = Path(folder) / f"{name}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_servers(args, env: dict, folder: str, port: int) -> list[Process]:
    bin_dir = Path(sys.executable).parent
    full_env = {**os.environ, **env}
    if args.embedded:
        web = [
            sys.executable,
            str(ROOT / "manage.py"),
            "runserver",
            "--noreload",
            f"127.0.0.1:{port}",
        ]
        worker = [str(bin_dir / "celery"), "-A", "diabetes_center", "worker", "--beat",
                  "--loglevel=WARNING", "--concurrency=2",
                  f"--schedule={folder}/celerybeat-schedule"]  # fmt: skip
    else:
        web = [str(bin_dir / "gunicorn"), "diabetes_center.wsgi", "-b", f"127.0.0.1:{port}",
               "-w", str(args.web_workers), "--timeout", "60"]  # fmt: skip
        worker = [str(bin_dir / "celery"), "-A", "diabetes_center", "worker",
                  "--loglevel=WARNING", f"--concurrency={args.concurrency}", "-n",
                  f"bench-monitoring-{uuid.uuid4().hex[:6]}@%h", "--without-gossip",
                  "--without-mingle"]  # fmt: skip
    # Embedded: run in the run's folder (kombu's filesystem transport writes a control/ folder
    # in the working directory), the code found through PYTHONPATH.
    cwd = Path(folder) if args.embedded else ROOT
    full_env["PYTHONPATH"] = str(ROOT)
    return [
        Process("web", web, full_env, folder, cwd),
        Process("worker", worker, full_env, folder, cwd),
    ]


def _wait_ready(base: str, servers: list[Process], session) -> None:
    deadline = time.monotonic() + 120
    while True:
        for server in servers:
            if server.process.poll() is not None:
                raise SystemExit(f"{server.name} exited:\n{server.tail()}")
        try:
            if session.get(f"{base}/api/v1/alerts/", timeout=5).status_code == 200:
                break
        except Exception:  # noqa: BLE001  (still starting)
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the web server did not answer within 120 s")
        time.sleep(0.5)
    time.sleep(3)  # the worker's boot (Django setup, the pool)


# --- the run ---------------------------------------------------------------------------------


def _clinician_session(doctor):
    """A signed-in session cookie for the clinician (sessions live in the database)."""
    import requests
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(doctor)
    session = requests.Session()
    session.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    return session


def _post_loop(base, schedule, links, lows, results, errors, stop):
    """Send the scheduled posts (time, patient index), each on time, from one thread."""
    import requests

    session = requests.Session()
    while True:
        try:
            when, i = schedule.get_nowait()
        except queue.Empty:
            return
        delay = when - time.time()
        if delay > 0 and stop.wait(delay):
            return
        pk, key, secret = links[i]
        value = 49 if i < lows else 125 + (i % 20)
        sent = time.time()
        body = [{"type": "sgv", "sgv": value, "date": int(sent * 1000), "device": "xDrip-bench"}]
        try:
            answer = session.post(
                f"{base}/ns/{key}/api/v1/entries", json=body, headers={"api-secret": secret},
                timeout=60,
            )  # fmt: skip
            took = time.time() - sent
            if answer.status_code != 200:
                errors.append(f"{answer.status_code} {answer.text[:200]}")
            results.append((i, pk, sent, took, sent - when))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))


def _poll_loop(base, session, period, seen, errors, stop):
    while not stop.is_set():
        try:
            answer = session.get(f"{base}/api/v1/alerts/?kind=urgent_low", timeout=30)
            at = time.time()
            if answer.status_code == 200:
                for alert in answer.json()["results"]:
                    seen.setdefault(alert["patient"], at)
            else:
                errors.append(f"poll {answer.status_code}")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"poll {exc!r}")
        stop.wait(period)


def _load_average() -> float:
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench monitoring", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--patients", type=int, default=60, help="enrolled patients posting")
    parser.add_argument("--lows", type=int, default=MIN_SAMPLES, help="of them, falling")
    parser.add_argument("--interval", type=float, default=300, help="seconds between posts")
    parser.add_argument("--duration", type=float, default=40, help="seconds of posting")
    parser.add_argument("--history-hours", type=int, default=5, help="history per patient")
    parser.add_argument("--long-days", type=int, default=730, help="the long history (days)")
    parser.add_argument("--eval-repeats", type=int, default=20)
    parser.add_argument("--baseline-repeats", type=int, default=5)
    parser.add_argument("--poll", type=float, default=0.5, help="inbox poll period (s)")
    parser.add_argument("--posters", type=int, default=8, help="client threads")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery pool processes")
    parser.add_argument("--settle", type=float, default=90, help="seconds to wait for alerts")
    parser.add_argument("--embedded", action="store_true", help="SQLite + filesystem broker")
    parser.add_argument("--keep", action="store_true", help="keep the run's database")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    args.lows = min(args.lows, args.patients)
    folder = tempfile.mkdtemp(prefix="bench-monitoring-")
    try:
        if args.embedded:
            url = f"sqlite:///{folder}/db.sqlite3"
            figures = _bench(args, url, "filesystem://", folder)
        else:
            broker = os.environ.get("CELERY_BROKER_URL", "")
            broker = broker if broker.startswith("redis") else DEFAULT_BROKER
            with run_database("bench_monitoring", keep=args.keep) as (_name, url):
                figures = _bench(args, url, broker, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    emit(figures, args.json)
    goal = GOAL_S["embedded" if args.embedded else "postgres"]
    p99 = figures.get("post_to_inbox_p99_s")
    return 0 if p99 is not None and p99 == p99 and p99 < goal else 1


def _bench(args, database_url: str, broker: str, folder: str) -> dict:
    env = _server_env(database_url, broker, folder, embedded=args.embedded)
    _setup_django(env)
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import CareCenter, User

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    if broker.startswith("redis"):
        import redis

        redis.Redis.from_url(broker).flushdb()  # this run's broker database: no stale tasks
    setup = "embedded (SQLite, filesystem broker)" if args.embedded else "PostgreSQL + Redis"
    print(f"{setup}: migrated in {time.perf_counter() - t0:.1f} s")
    center = CareCenter.objects.create(name="Bench center")  # no hours, no rota: care team
    doctor = User.objects.create(
        username="bench.doctor", role="endocrinologist", care_center=center
    )
    figures: dict = {"patients": args.patients, "embedded": args.embedded}
    figures.update(_evaluation_figures(args, center, doctor))

    # The posting schedule: everyone every --interval s, staggered; the lows' first posts
    # spread over the first 80% of the run.
    rng = random.Random(7)
    lead = 30.0 + args.patients * 0.15  # setup time before the first post (an estimate)
    planned_start = time.time() + lead
    offsets = {}
    for i in range(args.patients):
        if i < args.lows:
            offsets[i] = (i + 0.5) / args.lows * args.duration * 0.8
        else:
            offsets[i] = rng.uniform(0, args.interval)
    t0 = time.perf_counter()
    # History ends 5 minutes before each patient's first post (at the planned start; a late
    # start only makes the gap longer: 15 minutes still count as consecutive).
    history_end = {
        i: dt.datetime.fromtimestamp(planned_start + offsets[i], dt.UTC) - STEP
        for i in range(args.patients)
    }
    links = _load_patients(args, center, doctor, offsets, history_end)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"{args.patients} enrolled patients ({args.lows} falling) loaded in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    session = _clinician_session(doctor)
    connection.close()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    servers = _start_servers(args, env, folder, port)
    try:
        _wait_ready(base, servers, session)
        start = max(planned_start, time.time())
        if start > planned_start + 9 * 60:  # 5 + 9 minutes: still consecutive readings
            raise SystemExit("servers took too long to start: the histories are stale")
        print(f"posting starts {start - planned_start:.0f} s after the planned start")
        schedule: queue.Queue = queue.Queue()
        posts = []
        for i in range(args.patients):
            when = start + offsets[i]
            while when < start + args.duration:
                posts.append((when, i))
                when += args.interval
        for item in sorted(posts):
            schedule.put(item)
        results, errors, seen = [], [], {}
        stop = threading.Event()
        poller = threading.Thread(
            target=_poll_loop, args=(base, session, args.poll, seen, errors, stop), daemon=True
        )
        poller.start()
        posters = [
            threading.Thread(
                target=_post_loop,
                args=(base, schedule, links, args.lows, results, errors, stop),
                daemon=True,
            )
            for _ in range(args.posters)
        ]
        load_before = _load_average()
        for thread in posters:
            thread.start()
        for thread in posters:
            thread.join(args.duration + 300)
        posting_s = time.time() - start
        low_pks = {links[i][0] for i in range(args.lows)}
        deadline = time.time() + args.settle
        while not low_pks <= seen.keys() and time.time() < deadline:
            time.sleep(0.2)
        stop.set()
        poller.join(30)
        load_after = _load_average()
    finally:
        for server in reversed(servers):
            server.stop()
    first_low_post = {}
    for i, pk, sent, *_rest in sorted(results, key=lambda r: r[2]):
        if i < args.lows:
            first_low_post.setdefault(pk, sent)
    latencies = [seen[pk] - sent for pk, sent in first_low_post.items() if pk in seen]
    missing = len(first_low_post) - len(latencies)
    post_ms = [r[3] * 1000 for r in results]
    behind = [r[4] for r in results]
    if errors:
        print(f"{len(errors)} errors, e.g. {errors[:3]}")
    print(
        f"posted {len(results)} readings in {posting_s:.1f} s = {len(results) / posting_s:.1f}/s "
        f"({args.patients} patients every {args.interval:g} s); post answered in median "
        f"{median(post_ms):.0f} ms, p99 {percentile(post_ms, 99):.0f} ms; posts left "
        f"p99 {percentile(behind, 99):.1f} s behind their schedule (the server not keeping up)"
    )
    goal = GOAL_S["embedded" if args.embedded else "postgres"]
    print(
        f"post → inbox ({len(latencies)} urgent lows, {missing} never seen; poll every "
        f"{args.poll:g} s): p50 {percentile(latencies, 50):.2f} s, p99 "
        f"{percentile(latencies, 99):.2f} s, max {max(latencies, default=float('nan')):.2f} s "
        f"(goal p99 < {goal:g} s); load average {load_before:.2f} → {load_after:.2f} "
        f"on {os.cpu_count()} cores"
    )
    if len(latencies) < MIN_SAMPLES:
        print(f"note: {len(latencies)} samples (fewer than {MIN_SAMPLES}: raise --lows)")
    figures.update(
        post_to_inbox_p50_s=percentile(latencies, 50),
        post_to_inbox_p99_s=percentile(latencies, 99),
        post_to_inbox_max_s=max(latencies, default=float("nan")),
        samples=len(latencies),
        never_seen=missing,
        posts=len(results),
        post_errors=len(errors),
        posts_per_s=len(results) / posting_s,
        post_p50_ms=percentile(post_ms, 50),
        post_p99_ms=percentile(post_ms, 99),
        behind_schedule_p99_s=percentile(behind, 99),
        load_average_1m=load_after,
    )
    return figures


if __name__ == "__main__":
    sys.exit(main())
