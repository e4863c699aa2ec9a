"""`maintain`: partitions ahead and out of DEFAULT, retention, TTL, checkpoints, purge."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from db.maintenance import MAINTENANCE_LOCK_KEY, month_start, run_maintenance
from db.urls import libpq_url
from tests import factories

pytestmark = pytest.mark.integration


def maintain(database: str, **options: Any) -> Any:
    return run_maintenance(database, retention_months=24, archive_grace_days=30, **options)


def partitions(owner: Any, parent: str) -> set[str]:
    return {
        row[0]
        for row in owner.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = %s::regclass",
            (parent,),
        )
    }


def test_a_stray_default_row_is_moved_and_its_month_created(database: str, owner: Any) -> None:
    ids = factories.full_tenant(owner)
    stray = factories.chat_message(
        owner, ids["tenant_id"], ids["chat_sessions"], created_at=datetime(2031, 5, 3, tzinfo=UTC)
    )
    report = maintain(database)
    assert "create chat_messages_y2031m05 (rows moved out of DEFAULT)" in report.done
    assert owner.execute(
        "SELECT tableoid::regclass::text FROM chat_messages WHERE id = %s", (stray,)
    ).fetchone() == ("chat_messages_y2031m05",)
    assert owner.execute("SELECT count(*) FROM chat_messages_default").fetchone() == (0,)


def test_missing_months_ahead_are_made_again_and_a_second_run_does_nothing(
    database: str, owner: Any
) -> None:
    third = f"analytics_events_y{month_start(date.today(), 3):%Ym%m}"
    owner.execute(f"DROP TABLE {third}")
    first = maintain(database)
    assert f"create {third}" in first.done
    assert third in partitions(owner, "analytics_events")
    second = maintain(database)
    assert not [line for line in second.done if line.startswith("create")]


def test_retention_detaches_old_months_only_and_keeps_them(database: str, owner: Any) -> None:
    ids = factories.full_tenant(owner)
    for month in ("2020-01", "2020-02"):
        owner.execute(
            f"CREATE TABLE chat_messages_y{month[:4]}m{month[5:]} PARTITION OF chat_messages"
            f" FOR VALUES FROM ('{month}-01') TO (('{month}-01'::date + interval '1 month'))"
        )
    factories.chat_message(
        owner, ids["tenant_id"], ids["chat_sessions"], created_at=datetime(2020, 1, 9, tzinfo=UTC)
    )
    current = partitions(owner, "chat_messages") - {
        "chat_messages_y2020m01",
        "chat_messages_y2020m02",
    }

    report = maintain(database)
    assert (
        "detach chat_messages_y2020m01 and keep it as archive_chat_messages_y2020m01" in report.done
    )
    assert partitions(owner, "chat_messages") == current
    assert owner.execute("SELECT count(*) FROM archive_chat_messages_y2020m01").fetchone() == (1,)
    assert owner.execute(
        "SELECT count(*) FROM chat_messages WHERE created_at < '2021-01-01'"
    ).fetchone() == (0,)

    owner.execute(
        "COMMENT ON TABLE archive_chat_messages_y2020m01 IS 'archived 2020-03-01T00:00:00'"
    )
    later = maintain(database)
    assert "drop archive_chat_messages_y2020m01 (archived 2020-03-01)" in later.done
    assert owner.execute("SELECT to_regclass('archive_chat_messages_y2020m01')").fetchone() == (
        None,
    )
    assert owner.execute("SELECT to_regclass('archive_chat_messages_y2020m02')").fetchone() != (
        None,
    )


def test_cache_checkpoints_and_forgotten_users(database: str, owner: Any) -> None:
    ids = factories.full_tenant(owner)
    owner.execute(
        "INSERT INTO flight_search_cache"
        " (search_hash, provider, search_params, results, expires_at)"
        " VALUES (%s, 'offline', '{}', '[]', now() - interval '1 minute')",
        ("e" * 64,),
    )
    thread = owner.execute("SELECT thread_id::text FROM chat_sessions").fetchone()[0]
    owner.execute(
        "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, checkpoint, metadata)"
        " VALUES (%s, '', 'c1', '{}', '{}')",
        (thread,),
    )
    owner.execute("UPDATE chat_sessions SET deleted_at = now()")
    owner.execute(
        "UPDATE users SET deleted_at = now() - interval '31 days' WHERE id = %s", (ids["users"],)
    )

    dry = maintain(database, dry_run=True)
    assert "would delete 1 expired rows of flight_search_cache" in dry.done
    assert owner.execute("SELECT count(*) FROM flight_search_cache").fetchone() == (1,)

    report = maintain(database)
    assert "delete 1 expired rows of flight_search_cache, then VACUUM ANALYZE" in report.done
    assert "delete the checkpoints of 1 deleted conversation(s)" in report.done
    assert "delete 1 user(s) forgotten more than 30 days ago" in report.done
    assert "refresh mv_daily_metrics, mv_tenant_daily_metrics" in report.done
    assert owner.execute("SELECT count(*) FROM checkpoints").fetchone() == (0,)
    assert owner.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert owner.execute("SELECT count(*) FROM bookings").fetchone() == (1,)  # kept, unlinked


def test_a_run_while_another_holds_the_lock_is_skipped(database: str) -> None:
    with psycopg.connect(libpq_url(database), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (MAINTENANCE_LOCK_KEY,))
        assert maintain(database).skipped == "another maintenance run is in progress"


def test_two_concurrent_runs_do_the_work_once(database: str, owner: Any) -> None:
    ids = factories.full_tenant(owner)
    factories.chat_message(
        owner, ids["tenant_id"], ids["chat_sessions"], created_at=datetime(2032, 2, 2, tzinfo=UTC)
    )
    reports: list[Any] = []
    runs = [threading.Thread(target=lambda: reports.append(maintain(database))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    made = [line for r in reports for line in r.done if "chat_messages_y2032m02" in line]
    assert made == ["create chat_messages_y2032m02 (rows moved out of DEFAULT)"]


def test_failed_sign_ins_past_the_longest_window_are_deleted(database: str, owner: Any) -> None:
    owner.execute(
        "INSERT INTO sign_in_failures (key_hash, failed_at) VALUES"
        " (%s, now() - interval '25 hours'), (%s, now() - interval '1 hour')",
        ("a" * 64, "b" * 64),
    )
    report = maintain(database)
    assert "delete 1 failed sign-ins older than 1 day" in report.done
    assert owner.execute("SELECT key_hash FROM sign_in_failures").fetchall() == [("b" * 64,)]
