"""A real streaming replica: the heavy reads go to it, the person who just wrote reads the
primary, tasks see what was committed before they started, and a replica that goes away
degrades the site to the primary (common/replicas.py).

A private primary and its ``pg_basebackup`` hot standby on free ports (tests/faults/
servers.py), never the shared server. The site runs in a process of its own
(tests/faults/replica_driver.py) configured as production is: ``DATABASE_URL`` = the primary,
``DATABASE_REPLICA_URLS`` = the replica.

How "it read the replica" is proved: replay on the replica is paused
(``pg_wal_replay_pause()``) and a patient is added on the primary. A page that still counts
three patients can only have read the replica — the primary has four; a page that counts four
read the primary. For the tasks, whose reads must see everything the primary held when they
began, the queries are counted per connection alias: the readings were read on the
replica's connection, and none on the primary's.

Runtime: about 30 s on a busy 2-core machine when this run's test database is PostgreSQL (its
migrated schema is copied); on SQLite the private primary is migrated, 30-60 s more.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.faults.servers import PrivatePostgres, binary, streaming_replica

# django_db: this run's test database is set up (its schema is copied, _migrated_schema);
# the test itself queries only the private clusters.
pytestmark = [pytest.mark.broker, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clusters():
    primary = PrivatePostgres()
    replica = None
    try:
        primary.init()
        primary.start()
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE dc")
        _migrated_schema(primary)
        replica = streaming_replica(primary)
        replica.start()
        yield primary, replica
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


def _migrated_schema(primary) -> None:
    """The app's tables on the primary's ``dc``.

    When this run's own test database is PostgreSQL (CI's second phase), pytest-django has
    migrated it once for the whole run: its schema is copied (``pg_dump --schema-only``, about
    2 s). Else ``manage.py migrate`` builds it (30-60 s on a busy machine: Django renders each
    migration's model state)."""
    from django.db import connection

    source = connection.settings_dict
    if connection.vendor != "postgresql":
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT, env=_env(primary.url("dc")), check=True, timeout=180, capture_output=True,
        )  # fmt: skip
        return
    env = {**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""}
    dump = subprocess.run(
        [binary("pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
         "-h", source.get("HOST") or "127.0.0.1", "-p", str(source.get("PORT") or 5432),
         "-U", source.get("USER") or "postgres", source["NAME"]],
        env=env, check=True, timeout=60, capture_output=True,
    ).stdout  # fmt: skip
    subprocess.run(
        [binary("psql"), "-q", "-v", "ON_ERROR_STOP=1", primary.url("dc")],
        input=dump, check=True, timeout=60, capture_output=True,
    )  # fmt: skip


def _env(database_url: str, replica_url: str = "") -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url,
        "DATABASE_REPLICA_URLS": replica_url,
        "DATABASE_REPLICA_WAIT_SECONDS": "0.5",
        "DATABASE_REPLICA_RETRY_SECONDS": "1",
        "REQUIRE_2FA": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }


class Site:
    """The driver process: ``site.op(args...)`` sends one command and returns its answer."""

    def __init__(self, primary, replica):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.replica_driver"],
            cwd=ROOT, env=_env(primary.url("dc"), replica.url("dc")), text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip

    def __getattr__(self, op):
        def call(**args):
            self.process.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
            assert line, f"the driver exited ({self.process.poll()})"
            answer = json.loads(line)
            assert "error" not in answer, answer["error"]
            return answer

        return call

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def _query(cluster, sql: str, *params):
    with psycopg.connect(cluster.url("dc"), autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()


def _wait_for_replay(primary, replica, timeout: float = 20) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    (position,) = _query(primary, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    while not _query(replica, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", position)[0]:
        assert time.monotonic() < deadline, f"replica did not reach {position}"
        time.sleep(0.05)


def _pause_replay(replica) -> None:
    _query(replica, "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 20
    while _query(replica, "SELECT pg_get_wal_replay_pause_state()")[0] != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_it_reads_heavy_pages_and_tasks_from_a_streaming_replica(clusters):
    primary, replica = clusters
    assert _query(replica, "SELECT pg_is_in_recovery()")[0]
    site = Site(primary, replica)
    try:
        seeded = site.seed()
        p1, p2, p3 = seeded["patients"]

        # A write on the primary appears on the replica once it has replayed that far.
        _wait_for_replay(primary, replica)
        count = "SELECT count(*) FROM patients_patient"
        assert _query(replica, count) == _query(primary, count) == (3,)

        # Replay paused: a fourth patient exists on the primary only.
        _pause_replay(replica)
        p4 = site.add_patient(mrn="MRN4", seed=4)["patient"]
        assert _query(primary, count) == (4,) and _query(replica, count) == (3,)

        # Bob has written nothing: the population view and the triage queue read the replica.
        assert site.get(user="bob", path="/patients/population/")["patients"] == 3
        queue = site.get(user="bob", path="/patients/")
        assert queue["status"] == 200 and sorted(queue["rows"]) == sorted(map(str, (p1, p2, p3)))

        # Alice marks a patient reviewed: her answer carries the primary's WAL position ...
        review = site.post(user="alice", path=f"/patients/{p1}/review/", data={"note": "ok"})
        assert review["status"] == 302 and review["cookie"]
        # ... so her next pages read the primary: her review, and the fourth patient.
        mine = site.get(user="alice", path="/patients/")
        assert mine["rows"][str(p1)] is True and str(p4) in mine["rows"]
        assert site.get(user="alice", path="/patients/population/")["patients"] == 4
        assert site.get(user="alice", path="/patients/")["cookie"]  # still behind: kept
        # Bob still reads the paused replica: no review, three patients.
        theirs = site.get(user="bob", path="/patients/")
        assert theirs["rows"][str(p1)] is False and str(p4) not in theirs["rows"]

        # Replay resumed and caught up: everyone reads the replica, which now has it all,
        # and Alice's cookie goes once a replica was seen past her write.
        _query(replica, "SELECT pg_wal_replay_resume()")
        _wait_for_replay(primary, replica)
        assert site.get(user="bob", path="/patients/population/")["patients"] == 4
        assert site.get(user="bob", path="/patients/")["rows"][str(p1)] is True
        assert site.get(user="alice", path="/patients/population/")["cookie"] == ""

        # Report generation (the Celery task) reads the readings from the replica ...
        first = site.report(patient=p2)
        assert first["readings"] > 0
        assert first["replica_reads"] > 0 and first["primary_reads"] == 0, first["primary_sql"]
        # ... but never one behind what the primary held when it began: with replay paused,
        # readings imported just before the task are read from the primary.
        _pause_replay(replica)
        p5 = site.add_patient(mrn="MRN5", seed=5, readings=False)["patient"]
        imported = site.import_readings(patient=p5, seed=5)["readings"]
        after_import = site.report(patient=p5)
        assert after_import["readings"] == imported
        assert after_import["replica_reads"] == 0 and after_import["primary_reads"] > 0
        _query(replica, "SELECT pg_wal_replay_resume()")
        _wait_for_replay(primary, replica)

        # The hourly triage refresh: reads on the replica, writes on the primary.
        window = site.triage_window()
        assert window["refreshed"] == 5 and window["computed_for"] == ["2026-03-16"]
        assert window["replica_reads"] > 0 and window["primary_reads"] == 0, window
        assert window["primary_writes"] > 0 and window["replica_writes"] == 0

        # The replica drops the connection under a read: the read runs again on the primary,
        # and the replica is left alone for DATABASE_REPLICA_RETRY_SECONDS (1 s here) ...
        lost = site.replica_lost_mid_read()
        assert lost == {"aliases": ["replica1", None], "patients": 5}
        time.sleep(1.2)
        # ... after which it serves again.
        again = site.report(patient=p1)
        assert again["replica_reads"] > 0 and again["primary_reads"] == 0

        # The replica goes away: pages and tasks are served by the primary, no error.
        replica.stop("immediate")
        started = time.monotonic()
        assert site.get(user="bob", path="/patients/population/")["patients"] == 5
        assert site.get(user="bob", path="/patients/")["status"] == 200
        down = site.report(patient=p3, replica=False)
        assert down["readings"] > 0 and down["primary_reads"] > 0
        assert time.monotonic() - started < 10
    finally:
        site.close()
