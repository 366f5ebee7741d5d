"""Throwaway PostgreSQL and Redis servers that a fault test may stop, restart and kill.

The machine's shared servers (127.0.0.1:5432 and :6379) serve other people and CI: fault tests
never touch them. Each test starts its own on a free port, in a temporary directory, and
removes it afterwards. PostgreSQL refuses to run as root, so as root its binaries run as the
``postgres`` OS user (``runuser``), on a directory that user owns.

When a binary is missing the test is skipped, unless ``REQUIRE_REAL_SERVICES=1`` (CI's second
phase): there a missing server is a failure, as for the other broker tests.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def _require(what: str):
    if os.environ.get("REQUIRE_REAL_SERVICES") == "1":
        pytest.fail(f"{what} is missing and REQUIRE_REAL_SERVICES=1", pytrace=False)
    pytest.skip(f"{what} is missing (install it, or run .ci/run where it is required)")


def binary(name: str) -> str:
    """``name`` on PATH or in /usr/lib/postgresql/<version>/bin, newest version first."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    _require(name)
    raise AssertionError  # unreachable: _require skips or fails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """``redis-server --save "" --appendonly no`` on a free port: stopping it loses its queue."""

    def __init__(self, tmp_path: Path):
        self.server = binary("redis-server")
        self.port = free_port()
        self.dir = tmp_path
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not self.answers():
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def describe(self) -> str:
        """What the broker holds, for a failure message: each queue's length, the messages
        delivered but not acknowledged (kombu's ``unacked`` hash) with their age, and whether
        kombu's restore mutex is held (a worker killed while holding it blocks redelivery
        until the mutex expires)."""
        import redis

        client = redis.Redis.from_url(self.url)
        now = time.time()
        lines = []
        for key in sorted(client.scan_iter()):
            kind = client.type(key).decode()
            name = key.decode(errors="replace")
            if kind == "list":
                lines.append(f"list {name}: {client.llen(key)}")
            elif name == "unacked_index":
                scores = client.zrange(key, 0, -1, withscores=True)
                ages = [round(now - score, 1) for _, score in scores]
                lines.append(f"unacked_index: {len(ages)} delivered, ages (s) {ages}")
            elif name == "unacked_mutex":
                lines.append(f"unacked_mutex held, expires in {client.ttl(key)} s")
            else:
                lines.append(f"{kind} {name}")
        return "broker: " + ("; ".join(lines) or "empty")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


class PrivatePostgres:
    """A PostgreSQL cluster of its own (``initdb`` + ``pg_ctl``) on a free port."""

    def __init__(self):
        self.initdb = binary("initdb")
        self.pg_ctl = binary("pg_ctl")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="dc-fault-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            if not shutil.which("runuser"):
                _require("runuser (to run PostgreSQL as the postgres user)")
            shutil.chown(self.dir, "postgres", "postgres")

    def url(self, name: str = "postgres", user: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{name}"

    def _run(self, *command: str, timeout: float = 120) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run(
            [*prefix, *command],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> None:
        self._run(
            self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c full_page_writes=off -c max_connections=50"
        )
        self._run(
            self.pg_ctl, action, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", options, *extra,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self._ctl("restart", "-m", mode)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.dir, ignore_errors=True)


def streaming_replica(primary: PrivatePostgres) -> PrivatePostgres:
    """A hot-standby streaming replica of the running ``primary`` on a free port of its own:
    ``pg_basebackup -R -X stream`` (the primary's default ``pg_hba.conf`` trusts local
    replication connections), not yet started."""
    replica = PrivatePostgres()
    replica._run(
        binary("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "--no-sync",
    )  # fmt: skip
    return replica
