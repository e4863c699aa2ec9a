"""What every benchmark shares: a scratch database, timing statistics, the results file."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from db import migrate
from db.embedded import start_embedded_postgres
from db.urls import libpq_url, runtime_url, with_database

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "n": len(samples),
    }


@contextmanager
def scratch_database() -> Iterator[tuple[str, str]]:
    """(owner URL, runtime URL) of a migrated database dropped afterwards."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        server = with_database(configured, "postgres")
    else:
        folder = Path(os.environ.get("TRAVELHUB_BENCH_DATA_DIR", tempfile.mkdtemp()))
        server = start_embedded_postgres(folder, database="postgres")
    name = f"th_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq_url(server), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    owner = with_database(server, name)
    try:
        migrate.upgrade(owner)
        yield owner, runtime_url(owner, password=os.environ.get("TRAVELHUB_APP_DB_PASSWORD"))
    finally:
        with psycopg.connect(libpq_url(server), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def write_results(figures: dict[str, Any], sizes: dict[str, Any]) -> None:
    """Merge `figures` into bench/results/latest.json with the machine and the date."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    document.update(figures)
    document["sizes"] = {**document.get("sizes", {}), **sizes}
    document["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    document["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
