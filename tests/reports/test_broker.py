"""Report tasks on a real broker: a real prefork worker on Redis against the test database.

Run in CI's second phase: DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://…
CELERY_TASK_ALWAYS_EAGER=0. Each test uses its own queue so stray workers never take its
messages. `REPORTS_TEST_DELAY_SECONDS` (read in ``reports.services``) makes a report slow
enough to kill its worker in the middle.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dj_database_url
import pytest
from django.db import connection

from reports.models import Report, ReportNotification
from reports.tasks import generate_report
from tests.conftest import make_patient

RECENT = dt.date.today() - dt.timedelta(days=15)  # tasks report on the period ending yesterday
pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")


def _database_url() -> str:
    """DATABASE_URL of the test database this test uses (test_<name>)."""
    url = dj_database_url.parse(os.environ["DATABASE_URL"])
    user, host, port = url["USER"], url["HOST"], url["PORT"] or 5432
    password = f":{url['PASSWORD']}" if url["PASSWORD"] else ""
    return f"postgres://{user}{password}@{host}:{port}/{connection.settings_dict['NAME']}"


class Worker:
    def __init__(self, queue: str, tmp_path: Path, name: str, **env):
        self.log = tmp_path / f"{name}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            **env,
        }
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    str(CELERY),
                    "-A",
                    "tests.reports.celery_test_app",
                    "worker",
                    "--pool=prefork",
                    "-c",
                    "2",
                    "-Q",
                    queue,
                    "-n",
                    f"{name}-{queue.split(',')[0]}@%h",  # -Q may list several
                    "-l",
                    "info",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()}"
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): nothing acks."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Warm shutdown, as an operator's SIGTERM: to the main process only, which lets the
        pool finish the task it is running. SIGTERM to the whole group would also end the pool
        children mid-task, and the main process would log a WorkerLostError traceback for a
        task that was only finishing (a requeued import that had already marked itself done)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(condition, timeout: float, what: str, worker=None, explain=None) -> None:
    """Poll ``condition``; on timeout fail with the worker's log and ``explain()`` (the state a
    fault test needs to tell why: the broker's queues, the work not done)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            log = worker.output() if worker else ""
            state = explain() if explain else ""
            raise AssertionError(f"timed out waiting for {what}\n{state}\n{log}")
        time.sleep(0.3)


@pytest.fixture
def queue():
    """A queue of this test's own, and messages really sent to Redis (unit tests run eagerly)."""
    from diabetes_center.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield f"reports-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = eager


def test_it_makes_one_report_per_patient_with_a_real_worker(
    center, alice, load_simulated, queue, tmp_path
):
    patients = [make_patient(f"BRK{i}", center=center, endocrinologists=[alice]) for i in range(4)]
    for i, p in enumerate(patients):
        load_simulated(p, seed=i, start=RECENT, days=16)
    worker = Worker(queue, tmp_path, "w1")
    try:
        worker.wait_for("ready.")
        for p in patients:  # twice each: the two pool processes race on the same period
            for _ in range(2):
                generate_report.apply_async((p.pk,), queue=queue)
        wait_until(lambda: Report.objects.count() >= len(patients), 90, "the reports", worker)
        wait_until(
            lambda: worker.output().count("succeeded in") >= 2 * len(patients),
            60,
            "every task to finish",
        )
    finally:
        worker.stop()
    for p in patients:
        assert Report.objects.filter(patient=p).count() == 1
        assert ReportNotification.objects.filter(report__patient=p).count() == 1
    assert "Traceback" not in worker.output(), worker.output()


def test_it_makes_the_report_once_when_its_worker_is_killed_mid_report(
    patient, load_simulated, queue, tmp_path
):
    load_simulated(patient, start=RECENT, days=16)
    slow = Worker(queue, tmp_path, "slow", REPORTS_TEST_DELAY_SECONDS="30")
    try:
        slow.wait_for("ready.")
        generate_report.apply_async((patient.pk,), queue=queue)
        slow.wait_for("Task reports.tasks.generate_report[")  # received and started
        time.sleep(2)  # well inside the 30 s delay: the report is half done
        slow.kill()
    finally:
        slow.kill()
    assert Report.objects.count() == 0
    fresh = Worker(queue, tmp_path, "fresh")
    try:
        fresh.wait_for("ready.")
        wait_until(lambda: Report.objects.exists(), 90, "the redelivered task's report", fresh)
        fresh.wait_for("succeeded in", timeout=30)
        time.sleep(2)
    finally:
        fresh.stop()
    assert Report.objects.filter(patient=patient).count() == 1
    assert ReportNotification.objects.count() == 1  # alice, once
    assert "generate_report" in fresh.output()
