"""GET /health/ and GET /metrics (issue #20 §5; diabetes_center/operations.py).

/health/ needs no sign-in and carries no patient data; it answers 200 when every part of the
pipeline works and 503 when one does not (the database, a silent worker or beat, an old
outbox backlog, an evaluation lag), and each probe runs the degraded-alerting watch.
/metrics is Prometheus text for admins (session) or a scrape token; no one else. The clock
is the test's (time_machine)."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from common import metrics
from outbox import health, pipeline
from outbox.models import Incident, OutboxTask
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 2, 28, 23, 50, tzinfo=dt.UTC)  # Shanghai's 1 March already
TOKEN = "s3cret-scrape-token-of-at-least-32-chars"


def alive(minutes_ago: float = 0.5) -> None:
    """A worker ran the heartbeat and beat sent it ``minutes_ago``."""
    with time_machine.travel(NOW - dt.timedelta(minutes=minutes_ago), tick=False):
        health.heartbeat_record(pipeline.WORKER)
        health.heartbeat_record(pipeline.BEAT)


def probe(client=None, **headers):
    with time_machine.travel(NOW, tick=False):
        return (client or Client()).get("/health/", **headers)


def outbox_row(task: str, minutes_ago: float, **fields) -> OutboxTask:
    row = OutboxTask.objects.create(task=task, args=[1], **fields)
    OutboxTask.objects.filter(pk=row.pk).update(created_at=NOW - dt.timedelta(minutes=minutes_ago))
    return row


@pytest.fixture
def admins(db):
    return [make_user("ada", "admin", None, email="ada@example.org")]


# --- /health/ -------------------------------------------------------------------------------


def test_it_answers_200_without_a_session_when_all_is_well(admins):
    alive()
    outbox_row("readings.tasks.process_upload", minutes_ago=1)
    response = probe()
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["failing"], body["alerting_degraded"]) == ("ok", [], False)
    checks = body["checks"]
    assert {name: check["ok"] for name, check in checks.items()} == {
        "database": True,
        "broker": True,
        "worker_heartbeat": True,
        "beat_tick": True,
        "outbox": True,
        "alert_evaluation": True,
    }
    assert checks["worker_heartbeat"]["age_seconds"] == 30.0
    assert checks["beat_tick"]["last"] == "2027-02-28T23:49:30Z"
    assert (checks["outbox"]["backlog"], checks["outbox"]["oldest_age_seconds"]) == (1, 60.0)
    assert checks["alert_evaluation"] == {
        "ok": True,
        "pending": 0,
        "lag_seconds": 0.0,
        "limit_seconds": 120.0,
    }
    assert "sessionid" not in response.cookies
    assert not Incident.objects.exists() and mail.outbox == []


def test_it_says_which_broker_it_checked_and_whether_it_has_a_server(settings):
    alive()
    broker = probe().json()["checks"]["broker"]
    if settings.CELERY_BROKER_URL == "filesystem://":  # the embedded default: no server
        assert broker == {"transport": "filesystem", "server": False, "ok": True}
    else:  # CI's second phase: Redis
        transport = settings.CELERY_BROKER_URL.split("://")[0]
        assert broker == {"transport": transport, "server": True, "ok": True}


def test_it_fails_the_embedded_broker_without_its_queue_folder(monkeypatch, tmp_path):
    alive()
    monkeypatch.setattr(health, "broker_url", lambda: "filesystem://")
    monkeypatch.setattr(health, "queue_folders", lambda: {str(tmp_path)})
    assert probe().status_code == 200
    monkeypatch.setattr(health, "queue_folders", lambda: {str(tmp_path / "gone")})
    response = probe()
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {
        "transport": "filesystem",
        "server": False,
        "ok": False,
        "error": "queue folder missing or not writable",
    }


def test_it_answers_503_when_the_broker_does_not_answer(monkeypatch):
    alive()
    monkeypatch.setattr(health, "broker_url", lambda: "redis://127.0.0.1:1/0")
    response = probe()
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert (broker["ok"], broker["transport"], broker["server"]) == (False, "redis", True)
    assert "127.0.0.1" not in response.content.decode()  # no host names


def test_it_answers_503_when_the_database_check_fails(monkeypatch):
    alive()
    monkeypatch.setattr(health, "database_ok", lambda: False)
    response = probe()
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failing"]) == ("failing", ["database"])
    assert body["checks"]["database"] == {"ok": False}
    assert not Incident.objects.exists()  # nothing can be recorded with the database away


def test_it_answers_503_and_opens_one_incident_when_the_worker_is_silent(admins):
    alive(minutes_ago=7)
    with time_machine.travel(NOW - dt.timedelta(seconds=20), tick=False):
        health.heartbeat_record(pipeline.BEAT)  # beat still ticks
    for _ in range(3):
        response = probe()
        assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["worker_heartbeat"]
    assert (body["alerting_degraded"], body["incident_since"]) == (True, "2027-02-28T23:50:00Z")
    assert body["checks"]["worker_heartbeat"]["age_seconds"] == 420.0
    assert Incident.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]  # once, for three probes


def test_it_answers_503_when_nothing_ever_beat():
    body = probe().json()
    assert body["failing"] == ["worker_heartbeat", "beat_tick"]
    assert body["checks"]["beat_tick"] == {
        "ok": False,
        "last": None,
        "age_seconds": None,
        "limit_seconds": 300.0,
    }


def test_it_answers_503_for_an_old_backlog_without_calling_alerting_degraded(admins):
    alive()
    outbox_row("readings.tasks.process_upload", minutes_ago=16)
    response = probe()
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["outbox"]
    assert body["checks"]["outbox"]["oldest_age_seconds"] == 960.0
    assert (body["alerting_degraded"], mail.outbox) == (False, [])


def test_it_counts_rows_given_up_on_apart_from_the_backlog(settings):
    alive()
    outbox_row("readings.tasks.process_upload", minutes_ago=600, sends=settings.OUTBOX_MAX_SENDS)
    response = probe()
    assert response.status_code == 200
    assert response.json()["checks"]["outbox"] == {
        "ok": True,
        "backlog": 0,
        "oldest_age_seconds": None,
        "limit_seconds": 900.0,
        "given_up": 1,
    }


def test_it_reports_the_evaluation_lag_and_degrades_past_two_minutes(admins):
    alive()
    outbox_row(pipeline.EVALUATION_TASK, minutes_ago=1.5)
    assert probe().status_code == 200
    outbox_row(pipeline.EVALUATION_TASK, minutes_ago=3)
    outbox_row(pipeline.EVALUATION_TASK, minutes_ago=10, done_at=NOW)  # done: not waiting
    response = probe()
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["alert_evaluation"]["lag_seconds"] == 180.0
    assert body["checks"]["alert_evaluation"]["pending"] == 2
    assert body["failing"] == ["alert_evaluation"]
    assert Incident.objects.get().reasons == ["evaluation_lag"]
    assert len(mail.outbox) == 1


def test_it_carries_no_patient_data(patient, admins):
    alive(minutes_ago=30)  # failing, and an incident: the most it ever says
    outbox_row(pipeline.EVALUATION_TASK, minutes_ago=5)
    patient.name = "Zebulon Quartermaine"
    patient.save()
    response = probe()
    text = response.content.decode()
    for secret in (patient.name, patient.mrn, "Quartermaine"):
        assert secret not in text
    assert "patient" not in text.lower()


def test_it_answers_head_and_refuses_other_methods():
    alive()
    client = Client()
    with time_machine.travel(NOW, tick=False):
        assert client.head("/health/").status_code == 200
        for method in ("post", "put", "patch", "delete"):
            assert getattr(client, method)("/health/").status_code == 405


def test_it_shows_the_banner_to_clinicians_and_admins_while_an_incident_is_open(
    client, alice, patient, admin_user
):
    page = reverse("preferences")
    client.force_login(alice)
    assert "Alerting is degraded." not in client.get(page).content.decode()
    Incident.objects.create(opened_at=NOW, reasons=["beat_tick"])
    assert "Alerting is degraded." in client.get(page).content.decode()
    client.force_login(admin_user)
    content = client.get(page).content.decode()
    assert "Alerting is degraded." in content and 'href="/health/"' in content
    client.force_login(patient.user)
    assert "Alerting is degraded." not in client.get(page).content.decode()


# --- /metrics -------------------------------------------------------------------------------


def scrape(client, **headers):
    response = client.get("/metrics", **headers)
    return response, (
        {f.name: f for f in text_string_to_metric_families(response.content.decode())}
        if response.status_code == 200
        else {}
    )


def test_it_refuses_metrics_to_everyone_but_admins_and_the_token(
    settings, alice, staff, patient, admin_user
):
    settings.METRICS_SCRAPE_TOKEN = TOKEN
    nurse = make_user("nina", "nurse", alice.care_center)
    answers = {}
    for name, user in {
        "anonymous": None,
        "patient": patient.user,
        "staff": staff,
        "nurse": nurse,
        "endocrinologist": alice,
        "admin": admin_user,
    }.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        answers[name] = client.get("/metrics").status_code
    anonymous = Client()
    answers["token"] = anonymous.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code
    answers["wrong token"] = anonymous.get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-1]}x"
    ).status_code
    answers["token as basic"] = anonymous.get(
        "/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}"
    ).status_code
    assert answers == {
        "anonymous": 401,
        "patient": 403,
        "staff": 403,
        "nurse": 403,
        "endocrinologist": 403,
        "admin": 200,
        "token": 200,
        "wrong token": 401,
        "token as basic": 401,
    }
    assert anonymous.get("/metrics")["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_it_accepts_no_token_at_all_when_none_is_set(settings):
    settings.METRICS_SCRAPE_TOKEN = ""
    for header in ("Bearer ", "Bearer", "bearer  "):
        assert Client().get("/metrics", HTTP_AUTHORIZATION=header).status_code == 401


def test_it_refuses_hostile_tokens_without_failing(settings):
    settings.METRICS_SCRAPE_TOKEN = TOKEN
    client = Client(raise_request_exception=False)
    for token in ("\x00", "é" * 40, "\ud800", "1" + "0" * 400, TOKEN * 1000, TOKEN + "\x00"):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401, (token[:10], response.status_code)
    for method in ("post", "put", "delete", "options"):
        assert getattr(client, method)("/metrics").status_code in (401, 405)


def test_it_exposes_the_pipeline_figures(admin_user, client, settings):
    alive(minutes_ago=2)
    outbox_row(pipeline.EVALUATION_TASK, minutes_ago=3)
    outbox_row("readings.tasks.process_upload", minutes_ago=4)
    Incident.objects.create(opened_at=NOW, reasons=["evaluation_lag"])
    with time_machine.travel(NOW, tick=False):
        client.force_login(admin_user)  # a session of the test's clock
        response, families = scrape(client)
    assert response["Content-Type"].startswith("text/plain; version=")
    value = {name: f.samples[0].value for name, f in families.items() if len(f.samples) == 1}
    assert value["diabetes_database_up"] == 1
    assert value["diabetes_outbox_backlog"] == 2
    assert value["diabetes_outbox_oldest_age_seconds"] == 240
    assert value["diabetes_alert_evaluation_lag_seconds"] == 180
    assert value["diabetes_alert_evaluations_pending"] == 1
    assert value["diabetes_alerting_degraded"] == 1
    beats = {s.labels["name"]: s.value for s in families["diabetes_heartbeat_age_seconds"].samples}
    assert beats == {"worker": 120, "beat": 120}


def test_it_counts_readings_once_they_are_stored_and_times_requests(
    client, patient, admin_user, django_capture_on_commit_callbacks
):
    def ingested(families) -> float:
        return sum(
            s.value
            for s in families["diabetes_readings_ingested"].samples
            if s.name.endswith("_total") and s.labels["source"] == "live"
        )

    admin = Client()
    admin.force_login(admin_user)
    before = ingested(scrape(admin)[1])
    client.force_login(patient.user)
    rows = [
        {
            "timestamp": f"2024-05-01T08:{m:02d}:00Z",
            "value": 120 + m,
            "unit": "mg/dL",
            "kind": "cgm",
        }
        for m in (0, 5, 10)
    ]
    url = reverse("api-patients-readings", args=[patient.pk])
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(url, {"readings": rows + rows[:1]}, content_type="application/json")
    assert (answer.json()["accepted"], answer.json()["duplicates"]) == (3, 1)
    with django_capture_on_commit_callbacks(execute=True):  # all duplicates: nothing new
        client.post(url, {"readings": rows}, content_type="application/json")
    response, families = scrape(admin)
    assert ingested(families) - before == 3
    latency = families["diabetes_http_request_duration_seconds"]
    routes = {s.labels["route"] for s in latency.samples if s.name.endswith("_count")}
    assert "api/v1/patients/<int:pk>/readings/" in routes
    assert not [route for route in routes if f"patients/{patient.pk}/" in route]


def test_it_counts_nothing_for_a_rolled_back_ingest(patient, django_capture_on_commit_callbacks):
    from django.db import transaction

    from readings.parsers import Reading
    from readings.services import readings_ingest

    counter = metrics.READINGS_INGESTED.labels(source="live")
    before = counter._value.get()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            readings_ingest(
                patient=patient,
                items=[
                    Reading(
                        line=1, timestamp=NOW - dt.timedelta(days=1), value_mg_dl=100.0, kind="cgm"
                    )
                ],
            )
            transaction.set_rollback(True)
    assert callbacks == [] and counter._value.get() == before


def test_it_reads_registered_collectors_and_survives_a_broken_one(admin_user, monkeypatch):
    from prometheus_client.core import GaugeMetricFamily

    class Alerts:
        def collect(self):
            yield GaugeMetricFamily("diabetes_alerts_open", "Open alerts", value=4)

    class Broken:
        def collect(self):
            raise RuntimeError("table missing")

    monkeypatch.setattr(metrics, "_collectors", dict(metrics._collectors))
    metrics.register_collector(Alerts())
    metrics.register_collector(Broken())
    client = Client()
    client.force_login(admin_user)
    response, families = scrape(client)
    assert response.status_code == 200
    assert families["diabetes_alerts_open"].samples[0].value == 4
    assert "diabetes_outbox_backlog" in families


def test_it_refuses_a_short_scrape_token_at_start():
    code = "import diabetes_center.settings"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={"METRICS_SCRAPE_TOKEN": "short", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "METRICS_SCRAPE_TOKEN" in done.stderr


def test_it_adds_up_the_figures_of_several_processes_in_multiprocess_mode(tmp_path):
    # Two processes (as two gunicorn or Celery workers) count readings; a third answers the
    # scrape from PROMETHEUS_MULTIPROC_DIR with the sum.
    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    setup = "from common import metrics\n"  # no Django in it: quick to start
    for n in (2, 5):
        count = f"metrics.READINGS_INGESTED.labels(source='file').inc({n})\n"
        subprocess.run([sys.executable, "-c", setup + count], cwd=root, env=env, check=True)
    show = "print(metrics.exposition()[0].decode())\n"
    done = subprocess.run(
        [sys.executable, "-c", setup + show], cwd=root, env=env, check=True, capture_output=True
    )
    families = {f.name: f for f in text_string_to_metric_families(done.stdout.decode())}
    totals = [
        s.value
        for s in families["diabetes_readings_ingested"].samples
        if s.name.endswith("_total") and s.labels == {"source": "file"}
    ]
    assert totals == [7.0]


def test_it_answers_hostile_queries_without_failing():
    alive()
    client = Client(raise_request_exception=False)
    with time_machine.travel(NOW, tick=False):
        for query in ("%00", "%ED%A0%80", "%FF", "1" + "0" * 400, "[" * 5000):
            for path in ("/health/", "/metrics"):
                response = client.get(f"{path}?q={query}")
                assert response.status_code < 500 or (
                    path == "/health/" and response.status_code == 503
                ), (path, query, response.status_code)
        assert client.get("/health/?q=%00").status_code == 400  # NUL: refused before the view
        assert client.get("/health/?q=%ED%A0%80").status_code == 200
