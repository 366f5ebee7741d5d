"""Every bench runs at a tiny scale (and few samples: their default is 50) with --json and ends
with one flat JSON object holding the figures issue #23 names (§2). Scale so small the numbers
mean nothing: this checks the benches run and report, not how fast anything is. Each bench makes
(and drops) a database of its own, so these never touch the test database or another run's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
needs_postgres = pytest.mark.skipif(
    not POSTGRES, reason="the bench needs PostgreSQL (DATABASE_URL=postgres://…; CI phase 2)"
)


def run_bench(name: str, *args: str, timeout: float = 300) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-m", "bench", name, *args, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: a target missed (tiny scale)
    last = done.stdout.strip().splitlines()[-1]
    figures = json.loads(last)
    assert isinstance(figures, dict)
    assert all(not isinstance(v, dict | list) for v in figures.values()), "flat"
    return figures


def test_metrics_bench_reports_its_figures():
    figures = run_bench(
        "metrics", "--patients", "6", "--rollup-patients", "12", "--no-peers", "--repeats", "1"
    )
    assert {"ratio_vs_fastest_peer", "ratio_full_object", "agp_1000_ms"} <= figures.keys()
    assert figures["agp_1000_ms"] > 0
    assert figures["ratio_vs_fastest_peer"] is None  # --no-peers: no peer to compare with


def test_embedded_bench_times_pages_while_a_worker_imports():
    figures = run_bench("embedded", "--days", "3", "--patients", "2", "--repeat", "5")
    assert {"idle_p95_ms", "import_p95_ms", "import_seconds"} <= figures.keys()
    assert figures["readings"] == 3 * 288 and figures["import_p95_ms"] > 0


@needs_postgres
def test_ingest_bench_reports_its_figures():
    figures = run_bench("ingest", "--days", "2", "--rounds", "1")
    assert {"ratio_vs_copy", "seconds_90_day_file", "peak_mib"} <= figures.keys()
    assert figures["ratio_vs_copy"] > 0 and figures["peak_mib"] > 0


@needs_postgres
def test_slots_bench_reports_its_figures():
    figures = run_bench(
        "slots", "--clinicians", "2", "--days", "3", "--naive-sample", "1", "--repeat", "5"
    )
    assert {"median_ms", "p95_ms"} <= figures.keys()
    assert figures["samples"] == 5 and figures["p95_ms"] >= figures["median_ms"] > 0


@needs_postgres
def test_dashboard_bench_reports_every_page():
    figures = run_bench(
        "dashboard",
        *("--patients", "12", "--small", "3", "--raw-patients", "2"),
        *("--rollup-days", "5", "--raw-days", "2", "--repeat", "3"),
    )
    for page in ("triage", "population", "overview", "day"):
        assert figures[f"{page}_p95_ms"] >= figures[f"{page}_median_ms"] > 0
        assert figures[f"{page}_queries"] > 0
    assert figures["samples"] == 3  # the bench's default is 50


@pytest.mark.broker
def test_reports_bench_reports_its_figures():
    figures = run_bench(
        "reports",
        *("--patients", "6", "--due-patients", "10", "--pdf-patients", "2"),
        *("--baseline-sample", "2", "--rounds", "2"),
        timeout=600,
    )
    assert {"html_per_s", "pdf_per_s", "html_1000_s", "pdf_1000_s"} <= figures.keys()
    assert figures["pdf_1000_s"] == pytest.approx(1000 / figures["pdf_per_s"], rel=1e-3)


@pytest.mark.broker
@needs_postgres
def test_monitoring_bench_reports_post_to_inbox_and_evaluation_times():
    figures = run_bench(
        "monitoring",
        *("--patients", "5", "--lows", "3", "--duration", "6", "--long-days", "3"),
        *("--eval-repeats", "3", "--baseline-repeats", "2", "--settle", "60"),
        timeout=600,
    )
    assert figures["samples"] == 3 and figures["never_seen"] == 0
    assert figures["post_to_inbox_p99_s"] >= figures["post_to_inbox_p50_s"] > 0
    for key in ("eval_ms_1_day", "eval_ms_2_years", "baseline_whole_history_ms_2_years"):
        assert figures[key] > 0
    assert figures["post_errors"] == 0


def test_monitoring_bench_runs_on_the_embedded_defaults():
    """SQLite and the filesystem broker, a worker with beat and runserver, as scripts/run."""
    figures = run_bench(
        "monitoring",
        *("--embedded", "--patients", "4", "--lows", "2", "--duration", "6"),
        *("--long-days", "2", "--eval-repeats", "2", "--baseline-repeats", "1"),
        timeout=600,
    )
    assert figures["embedded"] is True and figures["samples"] == 2
    assert figures["post_to_inbox_p99_s"] > 0 and figures["eval_ms_2_years"] > 0
