"""Growth: "the last 50 messages of a session" at a small and a large chat_messages table
(rows loaded with COPY across 12+ monthly partitions), with and without a created_at bound."""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from uuid_utils.compat import uuid7

from bench.common import scratch_database, write_results
from db.urls import libpq_url

MONTHS = 14
LATEST = (
    "SELECT id, role, content, created_at FROM chat_messages"
    " WHERE session_id = %s ORDER BY created_at DESC LIMIT 50"
)
LATEST_BOUNDED = (
    "SELECT id, role, content, created_at FROM chat_messages"
    " WHERE session_id = %s AND created_at > %s ORDER BY created_at DESC LIMIT 50"
)


def _load(
    db: psycopg.Connection[Any], rows: int, sessions: list[uuid.UUID], tenant: uuid.UUID
) -> None:
    start = datetime.now(UTC) - timedelta(days=30 * (MONTHS - 1))
    for month in range(MONTHS + 1):
        day = (start + timedelta(days=30 * month)).date()
        db.execute("SELECT ensure_monthly_partition('chat_messages', %s)", (day,))
    chance = random.Random(7)
    span = (datetime.now(UTC) - start).total_seconds()
    # COPY is the fast path: rows as the app would write them, spread over every month.
    with db.cursor().copy(
        "COPY chat_messages (id, created_at, tenant_id, session_id, role, content) FROM STDIN"
    ) as copy:
        for _ in range(rows):
            moment = start + timedelta(seconds=chance.random() * span)
            copy.write_row(
                (
                    uuid7(),
                    moment,
                    tenant,
                    chance.choice(sessions),
                    "user",
                    "Flights to Lisbon please",
                )
            )
    db.execute("ANALYZE chat_messages")


def _p50(db: psycopg.Connection[Any], query: str, params: list[tuple[Any, ...]]) -> float:
    samples = []
    for args in params:
        started = time.perf_counter()
        db.execute(query, args).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(rows: int, sessions_count: int) -> dict[str, float]:
    with scratch_database() as (owner, _runtime):
        with psycopg.connect(libpq_url(owner), autocommit=True) as db:
            (tenant,) = db.execute("SELECT id FROM tenants WHERE slug = 'default'").fetchone() or (
                None,
            )
            (user,) = db.execute(
                "INSERT INTO users (tenant_id, email) VALUES (%s, 'growth@example.com')"
                " RETURNING id",
                (tenant,),
            ).fetchone() or (None,)
            sessions = [uuid7() for _ in range(sessions_count)]
            with db.cursor().copy(
                "COPY chat_sessions (id, tenant_id, user_id, thread_id) FROM STDIN"
            ) as copy:
                for session in sessions:
                    copy.write_row((session, tenant, user, uuid.uuid4()))
            # Statement triggers keep message_count; off for the bulk load, as a restore would.
            db.execute("ALTER TABLE chat_messages DISABLE TRIGGER trg_chat_messages_count_insert")
            _load(db, rows, sessions, tenant)
            probes = [(session,) for session in random.Random(3).sample(sessions, 50)]
            bound = datetime.now(UTC) - timedelta(days=31)
            unbounded = _p50(db, LATEST, probes)
            bounded = _p50(db, LATEST_BOUNDED, [(s, bound) for (s,) in probes])
    return {"p50_ms": round(unbounded, 3), "p50_bounded_ms": round(bounded, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    small, large = (10_000, 1_000_000) if parser.parse_args().quick else (100_000, 10_000_000)
    sessions = 20_000
    at_small, at_large = measure(small, sessions), measure(large, sessions)
    ratio = at_large["p50_ms"] / at_small["p50_ms"]
    bounded_ratio = at_large["p50_bounded_ms"] / at_small["p50_bounded_ms"]
    print(
        f"growth: last 50 messages p50 {at_small['p50_ms']:.3f} ms at {small:,} rows,"
        f" {at_large['p50_ms']:.3f} ms at {large:,}: ratio {ratio:.2f};"
        f" with a created_at bound ratio {bounded_ratio:.2f}"
    )
    write_results(
        {"growth_ratio": round(ratio, 3), "growth_bounded_ratio": round(bounded_ratio, 3),
         "growth_small": at_small, "growth_large": at_large},
        {"growth_rows": [small, large], "growth_sessions": sessions, "growth_months": MONTHS},
    )  # fmt: skip


if __name__ == "__main__":
    main()
