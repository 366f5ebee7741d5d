"""What every bench shares (#23 §2): a database of its own per run, percentiles from enough
samples, and the last line of output as one flat JSON object of the named figures.

- ``run_database(prefix)``: a fresh database ``<prefix>_<8 hex>`` on the PostgreSQL server of
  DATABASE_URL (never a fixed name: two runs, or a run and a developer's database, never meet),
  dropped again when the run ends unless ``--keep``.
- ``percentile(values, q)``: linear interpolation between order statistics (the "inclusive"
  method); callers take at least ``MIN_SAMPLES`` samples.
- ``emit(figures, as_json)``: with ``--json`` prints the figures as the LAST line.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import uuid
from contextlib import contextmanager

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
MIN_SAMPLES = 50


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def server_urls(name: str) -> tuple[str, str]:
    """(maintenance database URL, URL of database ``name``) on DATABASE_URL's server."""
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        server = DEFAULT_SERVER
    base = server.rsplit("/", 1)[0]
    return base + "/postgres", base + "/" + name


@contextmanager
def run_database(prefix: str, *, keep: bool = False):
    """Create a database of this run's own; yields (name, url); drops it afterwards."""
    import psycopg

    name = unique_name(prefix)
    admin_url, url = server_urls(name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield name, url
    finally:
        if not keep:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # Django not set up yet
                pass
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def percentile(values, q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation ("inclusive")."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def median(values) -> float:
    return float(statistics.median(values))


def add_common_arguments(parser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the named figures as one JSON line, last"
    )


def emit(figures: dict, as_json: bool) -> None:
    """The last line of output: one flat JSON object (numbers rounded for reading)."""
    if not as_json:
        return
    flat = {}
    for key, value in figures.items():
        if isinstance(value, float):
            value = None if math.isnan(value) else round(value, 4)
        flat[key] = value
    print(json.dumps(flat, sort_keys=True), flush=True)
