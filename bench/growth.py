"""Growth: "the last 50 messages of a session" at a small and a large chat_messages table
(rows loaded with COPY across 12+ monthly partitions), with and without a created_at bound.

The sessions read are the same size in both tables (PROBE_MESSAGES each, in the last month),
so the figure answers one question: does a larger table slow the read? The rest of each table
is conversations as the app writes them: a few minutes of messages each, at random moments of
the 13 months, stored in time order."""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from uuid_utils.compat import uuid7

from bench.common import scratch_database, write_results
from db.urls import libpq_url

MONTHS = 14
PROBES = 50
PROBE_MESSAGES = 120
"""Messages in each session read: more than the 50 the query returns, in both tables."""
CONVERSATION_MESSAGES = 20
"""The other conversations' average length."""
REPEATS = 5
"""Each probe is read this many times per table, the tables taking turns."""
LATEST = (
    "SELECT id, role, content, created_at FROM chat_messages"
    " WHERE session_id = %s ORDER BY created_at DESC LIMIT 50"
)
# The product's own history reads (agent/conversation/chat_sessions.py): never older than
# the session, less a day's margin for a clock set back.
LATEST_BOUNDED = (
    "SELECT id, role, content, created_at FROM chat_messages"
    " WHERE session_id = %s AND created_at >= %s - interval '1 day'"
    " ORDER BY created_at DESC LIMIT 50"
)
TEXTS = ("Flights to Lisbon please", "Here are 5 flights from London to Lisbon on 12 March.", "yes")


@dataclass
class Session:
    id: uuid.UUID
    started: datetime
    messages: int
    minutes: float


def _conversations(
    rows: int, start: datetime, now: datetime, chance: random.Random
) -> list[Session]:
    """Background conversations adding up to `rows` messages, over the whole span."""
    span = (now - start).total_seconds() - 3 * 3600
    sessions, total = [], 0
    while total < rows:
        size = min(rows - total, chance.randint(2, 2 * CONVERSATION_MESSAGES - 2))
        started = start + timedelta(seconds=chance.random() * span)
        sessions.append(Session(uuid7(), started, size, chance.uniform(2, 30)))
        total += size
    return sessions


def _probes(now: datetime, chance: random.Random) -> list[Session]:
    """The sessions read: PROBE_MESSAGES each over two hours, started within the last 30 days."""
    return [
        Session(uuid7(), now - timedelta(days=chance.uniform(1, 30)), PROBE_MESSAGES, 120)
        for _ in range(PROBES)
    ]


def _rows(
    sessions: list[Session], chance: random.Random
) -> Iterator[tuple[datetime, uuid.UUID, int]]:
    for session in sessions:
        step = session.minutes * 60 / session.messages
        for n in range(session.messages):
            yield (
                session.started + timedelta(seconds=n * step + chance.random() * step),
                session.id,
                n,
            )


def _load(
    db: psycopg.Connection[Any], sessions: list[Session], tenant: uuid.UUID, user: uuid.UUID
) -> None:
    with db.cursor().copy(
        "COPY chat_sessions (id, tenant_id, user_id, thread_id, created_at) FROM STDIN"
    ) as copy:
        for session in sessions:
            copy.write_row((session.id, tenant, user, uuid.uuid4(), session.started))
    # Statement triggers keep message_count; off for the bulk load, as a restore would.
    db.execute("ALTER TABLE chat_messages DISABLE TRIGGER trg_chat_messages_count_insert")
    chance = random.Random(11)
    # The app appends in time order: rows sorted by created_at, so a conversation's messages
    # sit near each other in the heap, among the other conversations of the same minutes.
    stored = sorted(_rows(sessions, chance))
    with db.cursor().copy(
        "COPY chat_messages (id, created_at, tenant_id, session_id, role, content) FROM STDIN"
    ) as copy:
        for moment, session_id, n in stored:
            copy.write_row(
                (uuid7(), moment, tenant, session_id, ("user", "assistant")[n % 2], TEXTS[n % 3])
            )
    db.execute("ALTER TABLE chat_messages ENABLE TRIGGER trg_chat_messages_count_insert")
    # Measured on a settled server: every table vacuumed and analysed (or autovacuum would be
    # busy with the half million new sessions while the reads are timed), and not during the
    # checkpoint the load has caused.
    db.execute("VACUUM ANALYZE")
    try:
        db.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass


@dataclass
class Table:
    rows: int
    db: psycopg.Connection[Any]
    probes: list[Session]
    unbounded: list[float]
    bounded: list[float]

    def read(self) -> None:
        for session in self.probes:
            for query, args, samples in (
                (LATEST, (session.id,), self.unbounded),
                (LATEST_BOUNDED, (session.id, session.started), self.bounded),
            ):
                started = time.perf_counter()
                got = self.db.execute(query, args).fetchall()
                samples.append((time.perf_counter() - started) * 1000)
                if len(got) != 50:
                    raise RuntimeError(f"read {len(got)} messages of a session, not 50.")


def build(stack: ExitStack, rows: int) -> Table:
    owner, _runtime = stack.enter_context(scratch_database())
    # As the product reads (db/engine.py, PGBOUNCER_SAFE): no prepared statements, so every
    # read is planned. With them, PostgreSQL's plan cache kept a generic plan for one table size
    # and re-planned each read at the other: the figure measured that choice, not the table.
    db = stack.enter_context(
        psycopg.connect(libpq_url(owner), autocommit=True, prepare_threshold=None)
    )
    (tenant,) = db.execute("SELECT id FROM tenants WHERE slug = 'default'").fetchone() or (None,)
    (user,) = db.execute(
        "INSERT INTO users (tenant_id, email) VALUES (%s, 'growth@example.com') RETURNING id",
        (tenant,),
    ).fetchone() or (None,)
    now = datetime.now(UTC)
    start = now - timedelta(days=30 * (MONTHS - 1))
    for month in range(MONTHS + 1):
        db.execute(
            "SELECT ensure_monthly_partition('chat_messages', %s)",
            ((start + timedelta(days=30 * month)).date(),),
        )
    chance = random.Random(7)
    probes = _probes(now, random.Random(3))
    background = _conversations(rows - PROBES * PROBE_MESSAGES, start, now, chance)
    _load(db, probes + background, tenant, user)
    return Table(rows, db, probes, [], [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    small_rows, large_rows = (
        (20_000, 500_000) if parser.parse_args().quick else (100_000, 10_000_000)
    )
    with ExitStack() as stack:
        small, large = build(stack, small_rows), build(stack, large_rows)
        for table in (small, large):
            for _ in range(2):  # warm: metadata, plans, the probed sessions' pages
                table.read()
            table.unbounded.clear()
            table.bounded.clear()
        for _ in range(REPEATS):
            small.read()
            large.read()
    p50 = statistics.median
    ratio = p50(large.unbounded) / p50(small.unbounded)
    bounded_ratio = p50(large.bounded) / p50(small.bounded)
    print(
        f"growth: last 50 messages of a {PROBE_MESSAGES}-message session p50"
        f" {p50(small.unbounded):.3f} ms at {small_rows:,} rows, {p50(large.unbounded):.3f} ms"
        f" at {large_rows:,}: ratio {ratio:.2f} (target <= 1.5); bounded by the session's"
        f" created_at {p50(small.bounded):.3f} / {p50(large.bounded):.3f} ms: ratio"
        f" {bounded_ratio:.2f}"
    )

    def figures(table: Table) -> dict[str, float]:
        return {
            "p50_ms": round(p50(table.unbounded), 3),
            "p50_bounded_ms": round(p50(table.bounded), 3),
        }

    write_results(
        {"growth_ratio": round(ratio, 3), "growth_bounded_ratio": round(bounded_ratio, 3),
         "growth_small": figures(small), "growth_large": figures(large)},
        {"growth_rows": [small_rows, large_rows], "growth_months": MONTHS,
         "growth_probe_sessions": PROBES, "growth_probe_messages": PROBE_MESSAGES,
         "growth_reads_per_probe": REPEATS},
    )  # fmt: skip


if __name__ == "__main__":
    main()
