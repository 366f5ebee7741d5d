"""The pipeline rules (outbox/pipeline.py), pure: no database, no Django. The limits are issue
#20 §5's words — "when the lag passes 2 minutes or a heartbeat is older than 5 minutes" — so
2 minutes of lag and 5 minutes of silence are still fine, a second more is not."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

from outbox import pipeline
from outbox.pipeline import Observation, degraded_reasons, incident_step, unhealthy_checks

NOW = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
FRESH = NOW - dt.timedelta(seconds=40)
BACKLOG_LIMIT = dt.timedelta(minutes=15)


def seen(**changes) -> Observation:
    values = {"now": NOW, "worker_beat_at": FRESH, "beat_tick_at": FRESH}
    values.update(changes)
    return Observation(**values)


def ago(**delta) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


def test_it_finds_nothing_wrong_when_all_is_fresh():
    assert degraded_reasons(seen()) == []
    assert unhealthy_checks(seen(), backlog_limit=BACKLOG_LIMIT) == []


def test_it_degrades_when_the_lag_passes_two_minutes_not_at_two():
    assert degraded_reasons(seen(evaluation_oldest_at=ago(minutes=2))) == []
    assert degraded_reasons(seen(evaluation_oldest_at=ago(minutes=2, seconds=1))) == [
        "evaluation_lag"
    ]


def test_it_degrades_when_a_heartbeat_is_older_than_five_minutes_not_at_five():
    assert degraded_reasons(seen(worker_beat_at=ago(minutes=5))) == []
    assert degraded_reasons(seen(worker_beat_at=ago(minutes=5, seconds=1))) == ["worker_heartbeat"]
    assert degraded_reasons(seen(beat_tick_at=ago(hours=3))) == ["beat_tick"]


def test_it_counts_a_heartbeat_never_recorded_as_too_old():
    assert degraded_reasons(seen(worker_beat_at=None, beat_tick_at=None)) == [
        "worker_heartbeat",
        "beat_tick",
    ]


def test_it_takes_a_heartbeat_from_a_clock_a_little_ahead_as_now():
    assert degraded_reasons(seen(worker_beat_at=NOW + dt.timedelta(seconds=3))) == []
    assert pipeline.age(NOW, NOW + dt.timedelta(seconds=3)) == dt.timedelta(0)


def test_it_reports_no_lag_when_no_evaluation_waits():
    assert pipeline.evaluation_lag(seen()) == dt.timedelta(0)
    assert pipeline.evaluation_lag(seen(evaluation_oldest_at=ago(seconds=75))) == dt.timedelta(
        seconds=75
    )


def test_it_names_every_failing_check_in_order():
    obs = seen(
        broker_ok=False,
        worker_beat_at=None,
        beat_tick_at=ago(minutes=6),
        backlog_oldest_at=ago(minutes=16),
        evaluation_oldest_at=ago(minutes=3),
    )
    assert unhealthy_checks(obs, backlog_limit=BACKLOG_LIMIT) == [
        "broker",
        "worker_heartbeat",
        "beat_tick",
        "outbox",
        "alert_evaluation",
    ]


def test_it_fails_the_outbox_only_past_its_limit():
    assert (
        unhealthy_checks(seen(backlog_oldest_at=ago(minutes=15)), backlog_limit=BACKLOG_LIMIT) == []
    )
    assert unhealthy_checks(
        seen(backlog_oldest_at=ago(minutes=15, seconds=1)), backlog_limit=BACKLOG_LIMIT
    ) == ["outbox"]


def test_it_judges_nothing_else_while_the_database_is_away():
    obs = Observation(now=NOW, database_ok=False, broker_ok=False)
    assert unhealthy_checks(obs, backlog_limit=BACKLOG_LIMIT) == ["database", "broker"]
    assert degraded_reasons(obs) == []  # nothing can be recorded: /health/ says 503


def test_it_opens_one_incident_per_stretch_of_degradation():
    steps = []
    incident_open = False
    for reasons in ([], ["beat_tick"], ["beat_tick", "worker_heartbeat"], ["beat_tick"], [], []):
        step = incident_step(incident_open=incident_open, reasons=reasons)
        steps.append(step)
        if step == pipeline.OPEN:
            incident_open = True
        elif step == pipeline.CLOSE:
            incident_open = False
    assert steps == [None, "open", None, None, "close", None]


def test_it_imports_no_django():
    code = (
        "import sys\n"
        "import outbox.pipeline\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'celery')]\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], check=True
    )
