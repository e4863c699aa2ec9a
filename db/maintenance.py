"""The database's upkeep (design sections 5.2-5.5): partitions ahead and out of DEFAULT,
retention, cache TTL, the daily-metrics view, checkpoint retention, GDPR purge, sign-in
sessions past their expiry, failed sign-ins past the longest attempt window.

Runs as the schema owner on a direct connection (not through PgBouncer): it takes a
session-level advisory lock so that two runs never do the work twice, and VACUUM cannot run
inside a transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from db.models import PARTITIONED_TABLES
from db.urls import libpq_url

T = TypeVar("T")
MAINTENANCE_LOCK_KEY = 0x7472_6176_6D6E
MONTHS_AHEAD = 3
ARCHIVE_PREFIX = "archive_"
CACHE_TABLES = ("flight_search_cache", "hotel_search_cache")
# The longest sign-in attempt window (TRAVELHUB_SIGN_IN_WINDOW): older failures count for nothing.
SIGN_IN_FAILURES_KEPT = "1 day"
CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints")
# Threads whose sessions were deleted (softly or for good) keep no checkpoints.
DEAD_THREADS = """
    SELECT thread_id::text FROM chat_sessions WHERE deleted_at IS NOT NULL
    UNION
    SELECT DISTINCT c.thread_id FROM checkpoints c
    WHERE NOT EXISTS (SELECT 1 FROM chat_sessions s WHERE s.thread_id::text = c.thread_id)
"""


@dataclass
class Report:
    """What a run did (or, dry, would do): one line per action, for people to read."""

    dry_run: bool
    done: list[str] = field(default_factory=list)
    skipped: str | None = None

    def note(self, line: str) -> None:
        self.done.append(("would " if self.dry_run else "") + line)


def month_start(day: date, ahead: int = 0) -> date:
    """The first day of the month `ahead` months after `day`'s (negative: before)."""
    index = day.year * 12 + day.month - 1 + ahead
    return date(index // 12, index % 12 + 1, 1)


def run_maintenance(
    owner_url: str,
    *,
    retention_months: int,
    archive_grace_days: int,
    dry_run: bool = False,
    today: Callable[[], date] = date.today,
) -> Report:
    """Every job once, under an advisory lock; a concurrent run is skipped, not repeated."""
    report = Report(dry_run)
    with psycopg.connect(libpq_url(owner_url), autocommit=True, prepare_threshold=None) as db:
        # The owner must see every tenant's rows (superuser or BYPASSRLS). An owner that
        # row-level security still filters would see no sessions, and take every thread's
        # checkpoints for abandoned: with row_security off, PostgreSQL refuses such a query.
        db.execute("SET row_security = off")
        locked = db.execute("SELECT pg_try_advisory_lock(%s)", (MAINTENANCE_LOCK_KEY,)).fetchone()
        if not locked or not locked[0]:
            report.skipped = "another maintenance run is in progress"
            return report
        try:
            for parent in PARTITIONED_TABLES:
                _partitions(db, parent, today(), report)
                _retention(db, parent, today(), retention_months, report)
            _drop_old_archives(db, archive_grace_days, report)
            _cache(db, report)
            _sign_in_failures(db, report)
            _daily_metrics(db, report)
            _checkpoints(db, report)
            _purge_forgotten_users(db, report)
            _purge_expired_sessions(db, report)
        finally:
            db.execute("SELECT pg_advisory_unlock(%s)", (MAINTENANCE_LOCK_KEY,))
    return report


def _partitions(
    db: psycopg.Connection[tuple[Any, ...]], parent: str, today: date, report: Report
) -> None:
    stray = db.execute(
        sql.SQL("SELECT DISTINCT date_trunc('month', created_at)::date FROM {} ORDER BY 1").format(
            sql.Identifier(f"{parent}_default")
        )
    ).fetchall()
    months = sorted(
        {row[0] for row in stray} | {month_start(today, ahead) for ahead in range(MONTHS_AHEAD + 1)}
    )
    for month in months:
        name = f"{parent}_y{month:%Y}m{month:%m}"
        if db.execute("SELECT to_regclass(%s)", (name,)).fetchone() != (None,):
            continue
        if report.dry_run:
            report.note(f"create {name}")
            continue

        def create(month: date = month) -> bool:
            made = db.execute(
                "SELECT ensure_monthly_partition(%s::regclass, %s)", (parent, month)
            ).fetchone()
            return bool(made and made[0])

        created = _giving_way(db, create)
        if created is POSTPONED:
            report.note(f"postpone creating {name}: the tables stayed busy")
        elif created:
            moved = sum(1 for row in stray if row[0] == month)
            report.note(f"create {name}" + (" (rows moved out of DEFAULT)" if moved else ""))


POSTPONED = object()
"""What `_giving_way` returns when the tables stayed busy: the next run does it."""
LOCK_WAIT = "500ms"
"""Shorter than PostgreSQL's deadlock_timeout (1 s): maintenance gives way, not a turn."""
ATTEMPTS = 5


def _giving_way(db: psycopg.Connection[tuple[Any, ...]], work: Callable[[], T]) -> T | object:
    """`work` in a transaction that gives way to the application's writers.

    Making or detaching a partition locks the whole partitioned table, then the tables its
    foreign keys point at; a turn holding a row of one while it writes the other would
    deadlock with it. So the DDL waits for locks only briefly, and tries again a little later.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with db.transaction():
                db.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_WAIT)))
                return work()
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            time.sleep(0.2 * attempt)
    return POSTPONED


def _partition_months(
    db: psycopg.Connection[tuple[Any, ...]], parent: str
) -> list[tuple[str, date]]:
    rows = db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass",
        (parent,),
    ).fetchall()
    found = []
    for (name,) in rows:
        suffix = name.removeprefix(f"{parent}_y")
        if suffix != name and len(suffix) == 7:
            found.append((name, date(int(suffix[:4]), int(suffix[5:7]), 1)))
    return sorted(found, key=lambda item: item[1])


def _retention(
    db: psycopg.Connection[tuple[Any, ...]],
    parent: str,
    today: date,
    months: int,
    report: Report,
) -> None:
    oldest_kept = month_start(today, -months)
    for name, month in _partition_months(db, parent):
        if month >= oldest_kept:
            continue
        archive = f"{ARCHIVE_PREFIX}{name}"
        if report.dry_run:
            report.note(f"detach {name} and keep it as {archive}")
            continue

        def detach(name: str = name, archive: str = archive) -> None:
            # Plain DETACH: CONCURRENTLY is refused while a DEFAULT partition exists.
            db.execute(
                sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
                    sql.Identifier(parent), sql.Identifier(name)
                )
            )
            db.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    sql.Identifier(name), sql.Identifier(archive)
                )
            )
            db.execute(
                sql.SQL("COMMENT ON TABLE {} IS {}").format(
                    sql.Identifier(archive),
                    sql.Literal(f"archived {datetime.now().isoformat(timespec='seconds')}"),
                )
            )

        if _giving_way(db, detach) is POSTPONED:
            report.note(f"postpone detaching {name}: the tables stayed busy")
            continue
        report.note(f"detach {name} and keep it as {archive}")


def _drop_old_archives(
    db: psycopg.Connection[tuple[Any, ...]], grace_days: int, report: Report
) -> None:
    rows = db.execute(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE %s",
        (f"{ARCHIVE_PREFIX}%",),
    ).fetchall()
    for name, comment in rows:
        stamp = str(comment or "").removeprefix("archived ")
        try:
            archived = datetime.fromisoformat(stamp)
        except ValueError:
            continue
        if (datetime.now() - archived).days < grace_days:
            continue
        if not report.dry_run:
            db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
        report.note(f"drop {name} (archived {archived:%Y-%m-%d})")


def _cache(db: psycopg.Connection[tuple[Any, ...]], report: Report) -> None:
    for table in CACHE_TABLES:
        if report.dry_run:
            (count,) = db.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE expires_at < NOW()").format(
                    sql.Identifier(table)
                )
            ).fetchone() or (0,)
            report.note(f"delete {count} expired rows of {table}")
            continue
        deleted = db.execute(
            sql.SQL("DELETE FROM {} WHERE expires_at < NOW()").format(sql.Identifier(table))
        ).rowcount
        db.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
        report.note(f"delete {deleted} expired rows of {table}, then VACUUM ANALYZE")


def _sign_in_failures(db: psycopg.Connection[tuple[Any, ...]], report: Report) -> None:
    if report.dry_run:
        (count,) = db.execute(
            "SELECT count(*) FROM sign_in_failures WHERE failed_at < now() - %s::interval",
            (SIGN_IN_FAILURES_KEPT,),
        ).fetchone() or (0,)
        report.note(f"delete {count} failed sign-ins older than {SIGN_IN_FAILURES_KEPT}")
        return
    deleted = db.execute(
        "DELETE FROM sign_in_failures WHERE failed_at < now() - %s::interval",
        (SIGN_IN_FAILURES_KEPT,),
    ).rowcount
    report.note(f"delete {deleted} failed sign-ins older than {SIGN_IN_FAILURES_KEPT}")


def _daily_metrics(db: psycopg.Connection[tuple[Any, ...]], report: Report) -> None:
    if not report.dry_run:
        db.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY mv_daily_metrics")
        db.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY mv_tenant_daily_metrics")
    report.note("refresh mv_daily_metrics, mv_tenant_daily_metrics")


def _checkpoints(db: psycopg.Connection[tuple[Any, ...]], report: Report) -> None:
    threads = [row[0] for row in db.execute(DEAD_THREADS).fetchall()]
    if not threads:
        return
    if not report.dry_run:
        with db.transaction():
            for table in CHECKPOINT_TABLES:
                db.execute(
                    sql.SQL("DELETE FROM {} WHERE thread_id = ANY(%s)").format(
                        sql.Identifier(table)
                    ),
                    (threads,),
                )
    report.note(f"delete the checkpoints of {len(threads)} deleted conversation(s)")


def _purge_forgotten_users(db: psycopg.Connection[tuple[Any, ...]], report: Report) -> None:
    (due,) = db.execute(
        "SELECT count(*) FROM users WHERE deleted_at < NOW() - INTERVAL '30 days'"
    ).fetchone() or (0,)
    if not due:
        return
    if not report.dry_run:
        # Seed 5.5, as written.
        db.execute("DELETE FROM users WHERE deleted_at < NOW() - INTERVAL '30 days'")
    report.note(f"delete {due} user(s) forgotten more than 30 days ago")


def _purge_expired_sessions(db: psycopg.Connection[tuple[Any, ...]], report: Report) -> None:
    # A token outlives no session row: past its expiry the token is refused anyway, so the
    # row (revoked or not) has nothing left to guard.
    (due,) = db.execute(
        "SELECT count(*) FROM user_sessions WHERE expires_at < NOW()"
    ).fetchone() or (0,)
    if not due:
        return
    if not report.dry_run:
        db.execute("DELETE FROM user_sessions WHERE expires_at < NOW()")
    report.note(f"delete {due} sign-in session(s) past their expiry")
