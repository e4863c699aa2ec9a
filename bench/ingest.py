"""Ingest: chat_messages + analytics_events rows/s through the app's write path, against raw
psycopg COPY of the very same rows into identical tables, same database, same run."""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.string import TextLoader

from agent.bootstrap import DatabaseUrls, build_services
from agent.settings import Settings
from bench.chat_workload import (
    TENANTS,
    WRITERS,
    app_write,
    build_turns,
    open_conversations,
    rounds,
)
from bench.common import scratch_database, write_results
from db.urls import libpq_url

PARENTS = ("chat_messages", "analytics_events")
TARGET = 0.5
ROUNDS = 4
"""App writes and COPYs alternate, round by round: machine noise weighs on both alike."""


def make_twin(db: psycopg.Connection[Any], parent: str) -> str:
    """bench_<parent>: the same columns, defaults, checks, indexes, partitions (bounds and
    DEFAULT), foreign keys and triggers; not row-level security, which COPY refuses."""
    twin = f"bench_{parent}"
    (partition_key,) = db.execute(
        "SELECT pg_get_partkeydef(%s::regclass)", (parent,)
    ).fetchone() or (None,)
    if partition_key is None:
        raise RuntimeError(f"{parent} is not partitioned: the migrations have changed.")
    db.execute(
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL) PARTITION BY {}").format(
            sql.Identifier(twin), sql.Identifier(parent), sql.SQL(partition_key)
        )
    )
    # A partitioned parent's LIKE copies no partitions: the same bounds are made by hand.
    for name, bound in db.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        (parent,),
    ).fetchall():
        db.execute(
            sql.SQL("CREATE TABLE {} PARTITION OF {} {}").format(
                sql.Identifier(f"bench_{name}"), sql.Identifier(twin), sql.SQL(bound)
            )
        )
    # LIKE copies no foreign keys either, and each one is a lookup per row the app pays for.
    for name, definition in db.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'f' AND conparentid = 0",
        (parent,),
    ).fetchall():
        db.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(twin), sql.Identifier(f"bench_{name}"), sql.SQL(definition)
            )
        )
    # Nor triggers: chat_messages keeps chat_sessions.message_count with a statement trigger.
    for name, definition in db.execute(
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger"
        " WHERE tgrelid = %s::regclass AND NOT tgisinternal AND tgparentid = 0",
        (parent,),
    ).fetchall():
        renamed = definition.replace(f"TRIGGER {name} ", f"TRIGGER bench_{name} ", 1)
        db.execute(re.sub(rf" ON (\w+\.)?{parent} ", f" ON {twin} ", renamed, count=1))
    return twin


def _columns(db: psycopg.Connection[Any], table: str) -> list[str]:
    return [
        name
        for (name,) in db.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (table,),
        ).fetchall()
    ]


@dataclass
class CopyBaseline:
    """Twins of the app's tables, and COPY into them of whatever the app has newly written."""

    db: psycopg.Connection[Any]
    tables: list[tuple[str, str, list[str]]] = field(default_factory=list)
    """(the app's table, its twin, the columns)."""
    copied: set[uuid.UUID] = field(default_factory=set)

    def make_twins(self) -> None:
        # jsonb read back as its text, the form COPY takes: no parse and re-dump in Python.
        self.db.adapters.register_loader("jsonb", TextLoader)
        for parent in PARENTS:
            self.tables.append((parent, make_twin(self.db, parent), _columns(self.db, parent)))

    def fresh_rows(self) -> list[list[tuple[Any, ...]]]:
        """Per table, the rows the app wrote since the last call, exactly as stored."""
        fresh: list[list[tuple[Any, ...]]] = []
        for parent, _, columns in self.tables:
            rows: list[tuple[Any, ...]] = []
            for tenant in TENANTS:
                with self.db.transaction():
                    # The owner obeys the policies too (FORCE ROW LEVEL SECURITY) unless it
                    # is a superuser; filtered by tenant, so a superuser reads each row once.
                    self.db.execute(
                        "SELECT set_config('app.current_tenant_id', %s, true)", (tenant,)
                    )
                    rows += self.db.execute(
                        sql.SQL("SELECT {} FROM {} WHERE tenant_id = current_tenant_id()").format(
                            sql.SQL(", ").join(map(sql.Identifier, columns)),
                            sql.Identifier(parent),
                        )
                    ).fetchall()
            new = [row for row in rows if row[0] not in self.copied]
            self.copied.update(row[0] for row in new)
            fresh.append(new)
        return fresh

    def copy(self, fresh: list[list[tuple[Any, ...]]]) -> float:
        """Seconds to COPY `fresh` into the twins in one transaction."""
        started = time.perf_counter()
        with self.db.transaction():
            for (_, twin, columns), rows in zip(self.tables, fresh, strict=True):
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(twin), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                with self.db.cursor().copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
        return time.perf_counter() - started


async def run(conversations: int, turns_each: int) -> tuple[dict[str, Any], int]:
    with scratch_database() as (owner, runtime):
        services = await build_services(
            Settings(TRAVELHUB_ENV="test", REDIS_URL=None), DatabaseUrls(owner, runtime)
        )
        try:
            opened = await open_conversations(services, owner, conversations)
            turns = build_turns(opened, turns_each)
            rows = app_seconds = copy_seconds = 0.0
            with psycopg.connect(libpq_url(owner), autocommit=True) as db:
                baseline = CopyBaseline(db)
                baseline.make_twins()
                for batch in rounds(turns, ROUNDS):
                    started = time.perf_counter()
                    await app_write(services, batch)
                    app_seconds += time.perf_counter() - started
                    fresh = baseline.fresh_rows()
                    rows += sum(len(table) for table in fresh)
                    copy_seconds += baseline.copy(fresh)
        finally:
            await services.aclose()
    app_rate, copy_rate = rows / app_seconds, rows / copy_seconds
    ratio = app_rate / copy_rate
    print(
        f"ingest: app write path {app_rate:,.0f} rows/s ({rows:,.0f} rows, {len(turns):,} turns,"
        f" {conversations:,} conversations, {WRITERS} at a time); COPY of the same rows into"
        f" identical tables {copy_rate:,.0f} rows/s; ratio {ratio:.3f} (target >= {TARGET})"
    )
    figures = {
        "ingest_ratio": round(ratio, 4),
        "ingest_app_rows_per_s": round(app_rate, 1),
        "ingest_copy_rows_per_s": round(copy_rate, 1),
    }
    return figures, int(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    conversations, turns_each = (200, 4) if parser.parse_args().quick else (1000, 8)
    figures, rows = asyncio.run(run(conversations, turns_each))
    write_results(
        figures,
        {"ingest_conversations": conversations, "ingest_turns_per_conversation": turns_each,
         "ingest_writers": WRITERS, "ingest_tenants": len(TENANTS), "ingest_rows": rows,
         "ingest_rounds": ROUNDS},
    )  # fmt: skip


if __name__ == "__main__":
    main()
