"""The site's side of tests/faults/test_read_replica.py, in a process of its own.

``python -m tests.faults.replica_driver`` runs with the environment the test gives it: the
private primary as ``DATABASE_URL`` and its streaming replica as ``DATABASE_REPLICA_URLS``,
so Django's settings, router and middleware are configured exactly as in production (a
pytest process cannot be: its databases are the test run's). It reads one JSON command a
line on stdin and answers one JSON line on stdout; the test decides what happens when —
pausing replay, stopping the replica — and checks the answers.

Pages are fetched with Django's test client (one per person, keeping their cookies), through
every middleware. Queries are counted per database alias with ``CaptureQueriesContext``.
"""

import datetime as dt
import json
import os
import re
import sys

# Everything but the answers (Django's and Celery's logging) goes to stderr.
ANSWERS = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)  # reports cover 1-14 March
PERIOD_START = dt.date(2026, 3, 1)


READINGS_TABLES = re.compile(r'(FROM|JOIN) "readings_')  # readings, rollups
# A report's readings (readings.windows.readings_arrays). Saving a report may refresh the
# patient's triage entry too, which reads readings and rollups inside the report's
# transaction: on the primary, by design. The window's instants are read in timestamptz's
# binary form (``_binary_pairs``), or as epoch seconds where meal tags are fetched as rows.
REPORT_READINGS = re.compile(
    r"""timestamptz_send\(r\.t\)|date_part\('epoch', "readings_reading"\."timestamp"\)"""
)


def _read_sql(captured, pattern=READINGS_TABLES) -> list[str]:
    """The captured queries that read what ``pattern`` matches."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT") and pattern.search(q["sql"])
    ]


def _reads(captured, pattern=READINGS_TABLES) -> int:
    return len(_read_sql(captured, pattern))


class Site:
    def __init__(self):
        from django.test import Client

        self.Client = Client
        self.clients = {}

    def _client(self, username: str):
        from accounts.models import User

        if username not in self.clients:
            client = self.Client()
            client.force_login(User.objects.get(username=username))
            self.clients[username] = client
        return self.clients[username]

    def _load(self, patient, *, seed: int) -> int:
        from django.db import transaction

        from readings.parsers import Reading
        from readings.services import readings_ingest
        from readings.simulate import CgmProfile, cgm_trace

        seconds, values, _flags = cgm_trace(
            CgmProfile(), start=PERIOD_START, days=14, tz=patient.timezone, seed=seed
        )
        items = [
            Reading(
                line=i + 1,
                timestamp=dt.datetime.fromtimestamp(int(s), dt.UTC),
                value_mg_dl=float(v),
                kind="cgm",
                device="replica-test",
            )
            for i, (s, v) in enumerate(zip(seconds, values, strict=True))
        ]
        with transaction.atomic():
            return readings_ingest(patient=patient, items=items).accepted

    def seed(self) -> dict:
        """A care center, two endocrinologists who both look after three CGM patients."""
        from accounts.models import CareCenter, User

        center = CareCenter.objects.create(name="Replica Clinic")
        doctors = [
            User.objects.create_user(
                username=name,
                password="replica-test-1",
                role="endocrinologist",
                care_center=center,
            )  # fmt: skip
            for name in ("alice", "bob")
        ]
        ids = [self.add_patient(f"MRN{n}", seed=n)["patient"] for n in (1, 2, 3)]
        return {"patients": ids, "doctors": [d.pk for d in doctors]}

    def add_patient(self, mrn: str, seed: int, readings: bool = True) -> dict:
        from accounts.models import CareCenter, User
        from patients.models import Patient

        patient = Patient.objects.create(
            mrn=mrn,
            name=f"Patient {mrn}",
            birth_date=dt.date(1980, 1, 1),
            diabetes_type="T1",
            timezone="UTC",
            care_center=CareCenter.objects.get(name="Replica Clinic"),
        )
        patient.endocrinologists.set(User.objects.filter(username__in=["alice", "bob"]))
        accepted = self._load(patient, seed=seed) if readings else 0
        return {"patient": patient.pk, "readings": accepted}

    def import_readings(self, patient: int, seed: int) -> dict:
        from patients.models import Patient

        return {"readings": self._load(Patient.objects.get(pk=patient), seed=seed)}

    def get(self, user: str, path: str) -> dict:
        response = self._client(user).get(path)
        answer = {"status": response.status_code, "cookie": self._cookie(user)}
        context = response.context
        if context is not None and "page" in context and context.get("triage"):
            answer["rows"] = {str(r.pk): r.triage.reviewed for r in context["page"].object_list}
        if context is not None and "with_cgm" in context:
            answer["patients"] = context["patients"]
        return answer

    def post(self, user: str, path: str, data: dict) -> dict:
        response = self._client(user).post(path, data)
        return {"status": response.status_code, "cookie": self._cookie(user)}

    def _cookie(self, user: str) -> str:
        from diabetes_center.middleware import READ_AFTER_COOKIE

        morsel = self._client(user).cookies.get(READ_AFTER_COOKIE)
        return morsel.value if morsel is not None else ""

    def _captured(self, replica: bool):
        from contextlib import ExitStack

        from django.db import connections
        from django.test.utils import CaptureQueriesContext

        stack = ExitStack()
        primary = stack.enter_context(CaptureQueriesContext(connections["default"]))
        # Capturing connects; a replica that is down is not captured (and not used).
        copy = None
        if replica:
            copy = stack.enter_context(CaptureQueriesContext(connections["replica1"]))
        return stack, primary, copy

    def report(self, patient: int, replica: bool = True) -> dict:
        """The Celery task that generates a report, run in this process (``apply``)."""
        from reports.models import Report
        from reports.tasks import generate_report

        stack, primary, copy = self._captured(replica)
        with stack:
            report_id = generate_report.apply(args=[patient]).get()
        report = Report.objects.get(pk=report_id)
        return {
            "report": report_id,
            "readings": report.metrics.get("readings"),
            "primary_reads": _reads(primary, REPORT_READINGS),
            "replica_reads": _reads(copy, REPORT_READINGS) if copy else 0,
            "primary_sql": [sql[:400] for sql in _read_sql(primary, REPORT_READINGS)],
        }

    def replica_lost_mid_read(self) -> dict:
        """A heavy read whose replica connection is terminated under it (as when the replica
        restarts): ``on_replica`` runs the read again on the primary."""
        import psycopg
        from django.db import connections

        from common import replicas
        from patients.models import Patient

        used = []

        def read() -> int:
            alias = replicas._reading_from.get()
            used.append(alias)
            if len(used) == 1 and alias is not None:
                with connections[alias].cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    (pid,) = cursor.fetchone()
                with psycopg.connect(os.environ["DATABASE_REPLICA_URLS"], autocommit=True) as c:
                    c.execute("SELECT pg_terminate_backend(%s)", [pid])
            return Patient.objects.count()

        return {"aliases": used, "patients": replicas.on_replica(read)}

    def triage_window(self) -> dict:
        """The hourly triage refresh, a day later: every entry's window has moved."""
        from django.utils import timezone

        from workspace.models import TriageEntry
        from workspace.triage import triage_refresh_stale

        later = timezone.now() + dt.timedelta(days=1)
        stack, primary, copy = self._captured(True)
        with stack:
            refreshed = triage_refresh_stale(now=later)
        writes = [q["sql"] for q in primary.captured_queries if "INSERT" in q["sql"].upper()]
        return {
            "refreshed": refreshed,
            "computed_for": sorted(
                {str(d) for d in TriageEntry.objects.values_list("computed_for", flat=True)}
            ),  # fmt: skip
            "primary_reads": _reads(primary),
            "replica_reads": _reads(copy),
            "primary_writes": len(writes),
            "replica_writes": sum(
                1 for q in copy.captured_queries if not q["sql"].upper().startswith("SELECT")
            ),
        }


def main() -> None:
    import django
    import time_machine

    traveller = time_machine.travel(NOW, tick=True)
    traveller.start()
    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client records each page's template context
    site = Site()
    for line in sys.stdin:
        command = json.loads(line)
        try:
            answer = getattr(site, command["op"])(**command.get("args", {}))
        except Exception as exc:  # noqa: BLE001  (the test shows it)
            import traceback

            traceback.print_exc()
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        ANSWERS.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
