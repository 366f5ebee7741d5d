"""Read replicas (common/replicas.py): configuration and routing rules. The behaviour against
a real streaming replica is tests/faults/test_read_replica.py."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections

from common import replicas
from diabetes_center.middleware import READ_AFTER_COOKIE
from readings.models import Reading

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, diabetes_center.settings as s; print(json.dumps({"
    "'aliases': s.DATABASE_REPLICA_ALIASES, 'databases': s.DATABASES,"
    "'routers': getattr(s, 'DATABASE_ROUTERS', None)}, default=str))"
)


def _settings(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT, env={**environment, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_it_adds_each_replica_url_as_an_alias_read_as_the_test_database_in_tests():
    done = _settings(
        DATABASE_URL="postgres://app@primary:5432/diabetes",
        DATABASE_REPLICA_URLS="postgres://app@replica-a:5432/diabetes, postgres://app@b/diabetes",
    )
    shown = json.loads(done.stdout)
    assert shown["aliases"] == ["replica1", "replica2"]
    assert shown["routers"] == ["common.replicas.ReplicaRouter"]
    first, second = shown["databases"]["replica1"], shown["databases"]["replica2"]
    assert (first["HOST"], second["HOST"]) == ("replica-a", "b")
    assert first["TEST"] == {"MIRROR": "default"}  # a test run creates no database there
    assert first["OPTIONS"]["connect_timeout"] == 3  # a dead replica is given up quickly
    assert first["CONN_HEALTH_CHECKS"] is True


def test_it_changes_nothing_without_replica_urls():
    shown = json.loads(_settings(DATABASE_URL="postgres://app@primary:5432/diabetes").stdout)
    assert shown["aliases"] == [] and shown["routers"] is None
    assert list(shown["databases"]) == ["default"]


def test_it_refuses_replicas_of_a_sqlite_database():
    done = _settings(DATABASE_REPLICA_URLS="postgres://app@replica:5432/diabetes")
    assert done.returncode != 0
    assert "DATABASE_REPLICA_URLS needs PostgreSQL replicas" in done.stderr


def test_it_writes_and_migrates_only_on_the_primary():
    router = replicas.ReplicaRouter()
    token = replicas._reading_from.set("replica1")
    try:
        assert router.db_for_write(Reading) == "default"
        assert router.allow_migrate("replica1", "readings") is False
        assert router.allow_migrate("default", "readings") is True
    finally:
        replicas._reading_from.reset(token)


def test_it_reads_the_replica_only_inside_a_replica_block_and_outside_transactions():
    router = replicas.ReplicaRouter()
    assert router.db_for_read(Reading) == "default"
    token = replicas._reading_from.set("replica1")
    try:
        assert not connections["default"].in_atomic_block
        assert router.db_for_read(Reading) == "replica1"
        connections["default"].in_atomic_block = True  # what transaction.atomic() sets
        try:
            assert router.db_for_read(Reading) == "default"  # its own rows are not replicated
        finally:
            connections["default"].in_atomic_block = False
    finally:
        replicas._reading_from.reset(token)
    assert router.db_for_read(Reading) == "default"


def test_it_accepts_only_wal_positions_from_the_cookie():
    assert replicas.valid_lsn("0/16B3748") == "0/16B3748"
    assert replicas.valid_lsn(" 16/b374d848 ") == "16/B374D848"
    for bad in ("", None, "16/", "1/2/3", "0/16B3748'; --", "123456789/0", "zz/10"):
        assert replicas.valid_lsn(bad) is None


def test_it_runs_on_the_one_database_when_there_are_no_replicas():
    calls = []
    assert replicas.on_replica(lambda x: calls.append(x) or x * 2, 21, barrier=True) == 42
    assert calls == [21]
    with replicas.replica_reads(barrier=True) as alias:
        assert alias is None
    assert replicas.primary_lsn() is None


@pytest.mark.django_db
def test_it_sets_no_cookie_without_replicas(client, alice, patient):
    client.force_login(alice)
    answer = client.post(f"/patients/{patient.pk}/review/", {"note": "seen"})
    assert answer.status_code == 302
    assert READ_AFTER_COOKIE not in answer.cookies
