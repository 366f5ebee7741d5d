"""PostgreSQL restarted (and stopped for a while) in the middle of a stream of uploads: every
upload that was acknowledged has all its readings; every other one got a 503 with
Retry-After, never an "accepted" it did not keep, and never a 500.

The database is a private cluster of this test's own (tests/faults/servers.py), never the
shared server, set up with production's two roles (README, "Production"): the owner runs
``migrate`` and ``db_roles --apply``; the site connects as the app role that makes, which is
no superuser and may not empty the audit trail. The site runs under gunicorn in production
mode (``DEBUG=0``: the real error handler and connection handling answer); the client
(tests/faults/upload_driver.py) signs in and uploads over HTTP.
"""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from readings.models import Reading, Upload
from tests.faults.servers import PrivatePostgres, free_port
from tests.faults.upload_driver import Driver

pytestmark = [pytest.mark.broker]
ROOT = Path(__file__).resolve().parents[2]
ACKNOWLEDGED = {"batch": (200,), "api_file": (201,), "page_file": (302,)}
OWNER, APP = "dc_owner", "dc_app"  # the cluster is this test's own: fixed names are safe


@pytest.fixture
def cluster():
    pg = PrivatePostgres()
    try:
        pg.init()
        pg.start()
        with psycopg.connect(pg.url(), autocommit=True) as conn:
            # The owner may create the app role (CREATEROLE) and is no superuser.
            conn.execute(f"CREATE ROLE {OWNER} LOGIN CREATEROLE")
            conn.execute(f"CREATE DATABASE dc OWNER {OWNER}")
        yield pg
    finally:
        pg.destroy()


def _server(env: dict, port: int, log: Path) -> subprocess.Popen:
    """gunicorn, as in production: two sync workers, each keeping its database connection."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "diabetes_center.wsgi",
             "-b", f"127.0.0.1:{port}", "-w", "2", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _users_connected(cluster) -> set[str]:
    """The roles of the site's open connections to the database."""
    with psycopg.connect(cluster.url("dc")) as conn:
        rows = conn.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = 'dc' AND pid <> pg_backend_pid()"
        ).fetchall()
    return {user for (user,) in rows}


def _wait_for_answers(driver: Driver, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(driver.answers) < count:
        assert driver.is_alive(), driver.error
        assert time.monotonic() < deadline, f"only {len(driver.answers)} answers"
        time.sleep(0.1)


def test_it_keeps_every_acknowledged_upload_across_postgres_restarts(cluster, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": cluster.url("dc", user=APP),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DEBUG": "0",  # production mode: the real error handlers answer
        "SECRET_KEY": "fault-test-only",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "REQUIRE_2FA": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    run = {"cwd": ROOT, "env": env, "check": True, "timeout": 180, "capture_output": True}
    as_owner = {**run, "env": {**env, "DATABASE_URL": cluster.url("dc", user=OWNER)}}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], **as_owner)
    subprocess.run(
        [sys.executable, "manage.py", "db_roles", "--app-role", APP, "--apply"], **as_owner
    )
    people = json.loads(
        subprocess.run([sys.executable, "-m", "tests.faults.upload_driver"], **run).stdout
    )
    server = _server(env, port, tmp_path / "gunicorn.log")
    driver = Driver(f"http://127.0.0.1:{port}", people["patient"], people["username"])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                driver.sign_in()
                break
            except Exception:  # noqa: BLE001  (gunicorn still starting)
                assert server.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "gunicorn.log"
                ).read_text()
                time.sleep(0.5)
        driver.start()
        _wait_for_answers(driver, 9)
        assert _users_connected(cluster) == {APP}  # the site works as the app role
        cluster.restart("immediate")  # a crash and recovery under the open connections
        _wait_for_answers(driver, len(driver.answers) + 9)
        cluster.stop("fast")  # an outage of a few seconds: requests keep coming
        time.sleep(3)
        cluster.start()
        after_start = len(driver.answers)
        _wait_for_answers(driver, after_start + 12)
    finally:
        driver.stopping.set()
        driver.join(60)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    assert driver.error is None, driver.error
    answers = driver.answers
    patient_id = people["patient"]
    refused = [a for a in answers if a["status"] not in ACKNOWLEDGED[a["kind"]]]
    kept = [a for a in answers if a["status"] in ACKNOWLEDGED[a["kind"]]]
    # The outage was really met, and the database was really used again after it.
    assert refused, "no request met the outage"
    assert len([a for a in kept if a["i"] >= after_start]) >= 10, answers[after_start:]
    for answer in refused:  # told to come back, never a bare 500
        assert answer["status"] == 503 and answer["retry_after"], answer
    with psycopg.connect(cluster.url("dc")) as conn:
        for answer in kept:
            start = dt.datetime.fromisoformat(answer["start"])
            end = start + dt.timedelta(minutes=5 * answer["count"])
            stored = conn.execute(
                f"SELECT count(*) FROM {Reading._meta.db_table} "  # noqa: S608  (our table name)
                "WHERE patient_id = %s AND timestamp >= %s AND timestamp < %s",
                (patient_id, start, end),
            ).fetchone()[0]
            if answer["kind"] == "page_file":  # the page shows the upload's outcome
                upload_id = int(answer["location"].rstrip("/").rsplit("/", 1)[1])
                status = conn.execute(
                    f"SELECT status FROM {Upload._meta.db_table} WHERE id = %s",  # noqa: S608
                    (upload_id,),
                ).fetchone()[0]
                assert status == Upload.Status.DONE, answer
            assert stored == answer["count"], answer
