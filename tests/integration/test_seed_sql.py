"""Every SQL snippet of the design document (sections 4.2, 4.4, 5.2-5.5, 7) runs unchanged.

Only placeholders are filled in: 'user-uuid-here', 'user-uuid' and 'xxx' stand for real ids.
One snippet is a fragment: section 7.1's cache-hit-ratio query has no FROM clause, so it is
run with `FROM pg_statio_user_tables`, the view its columns come from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from db.monitoring import MONITORING_SEARCH_PATH
from db.urls import libpq_url
from tests import factories
from tests.seed_sql import sql_blocks, statements, table_queries

pytestmark = pytest.mark.integration


def test_section_4_2_tenant_filter_as_written(owner: Any, runtime_database: str) -> None:
    [block] = sql_blocks("4.2")
    mine = factories.full_tenant(owner, slug="tenant-123")
    factories.full_tenant(owner, slug="tenant-456")

    with psycopg.connect(libpq_url(runtime_database), autocommit=True) as app:
        results = [app.execute(statement) for statement in statements(block)]
        rows = results[-1].fetchall()
    assert [row[0] for row in rows] == [mine["bookings"]]


def test_section_4_4_hot_cold_query_and_daily_metrics(owner: Any) -> None:
    hot_cold, materialized = sql_blocks("4.4")
    ids = factories.full_tenant(owner)
    factories.booking(owner, ids["tenant_id"], ids["users"], reference="XYZ789", status="pending")

    [select] = statements(hot_cold)
    rows = owner.execute(select.replace("'xxx'", f"'{ids['chat_sessions']}'")).fetchall()
    assert len(rows) == 1

    create, refresh = statements(materialized)
    # The view as written, built beside ours, is the view we have.
    owner.execute("CREATE SCHEMA scratch")
    owner.execute("SET search_path = scratch, public")
    owner.execute(create)
    owner.execute("SET search_path = public")
    ours, written = owner.execute(
        "SELECT pg_get_viewdef('public.mv_daily_metrics'),"
        " pg_get_viewdef('scratch.mv_daily_metrics')"
    ).fetchone()
    assert ours == written

    owner.execute(refresh)
    metrics = owner.execute("SELECT date, bookings, revenue FROM mv_daily_metrics").fetchall()
    assert metrics == [(datetime.now(UTC).astimezone().date(), 1, Decimal("420.50"))]


def test_section_5_2_cache_cleanup(owner: Any) -> None:
    [block] = sql_blocks("5.2")
    for table, hours in (("flight_search_cache", -1), ("hotel_search_cache", -1)):
        for offset, digit in ((hours, "a"), (1, "b")):
            owner.execute(
                f"INSERT INTO {table} (search_hash, provider, search_params, results, expires_at)"
                " VALUES (%s, 'offline', '{}', '[]', now() + make_interval(hours => %s))",
                (digit * 64, offset),
            )
    for statement in statements(block):
        owner.execute(statement)
    for table in ("flight_search_cache", "hotel_search_cache"):
        assert owner.execute(f"SELECT search_hash FROM {table}").fetchall() == [("b" * 64,)]


def test_section_5_3_partition_management(owner: Any) -> None:
    [block] = sql_blocks("5.3")
    owner.execute(
        "CREATE TABLE chat_messages_y2023m01 PARTITION OF chat_messages"
        " FOR VALUES FROM ('2023-01-01') TO ('2023-02-01')"
    )
    for statement in statements(block):
        owner.execute(statement)
    partitions = {
        row[0]
        for row in owner.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent = 'chat_messages'::regclass"
        )
    }
    assert "chat_messages_y2024m04" in partitions
    assert "chat_messages_y2023m01" not in partitions


def test_section_5_4_gdpr_export(owner: Any) -> None:
    [block] = sql_blocks("5.4")
    ids = factories.full_tenant(owner)
    [query] = statements(block)
    [(export,)] = owner.execute(query.replace("user-uuid-here", str(ids["users"]))).fetchall()
    assert export["user"]["id"] == str(ids["users"])
    assert [account["id"] for account in export["oauth_accounts"]] == [str(ids["oauth_accounts"])]
    assert [session["id"] for session in export["chat_sessions"]] == [str(ids["chat_sessions"])]
    assert [booking["id"] for booking in export["bookings"]] == [str(ids["bookings"])]


def test_section_5_5_forget_then_purge(owner: Any) -> None:
    [block] = sql_blocks("5.5")
    soft_delete, hard_delete = statements(block)
    ids = factories.full_tenant(owner)
    user_id = str(ids["users"])

    owner.execute(soft_delete.replace("'user-uuid'", f"'{user_id}'"))
    email, name, phone = owner.execute(
        "SELECT email, full_name, phone FROM users WHERE id = %s", (ids["users"],)
    ).fetchone()
    assert (email, name, phone) == (f"deleted-{user_id}@deleted.com", None, None)

    owner.execute(hard_delete)  # nothing is 30 days old yet
    assert owner.execute("SELECT count(*) FROM users").fetchone() == (1,)
    owner.execute("UPDATE users SET deleted_at = now() - interval '31 days'")
    owner.execute(hard_delete)
    assert owner.execute("SELECT count(*) FROM users").fetchone() == (0,)
    # Bookings stay for the accounts, no longer tied to anyone; the chat history goes.
    assert owner.execute("SELECT user_id FROM bookings").fetchall() == [(None,)]
    assert owner.execute("SELECT count(*) FROM chat_sessions").fetchone() == (0,)
    assert owner.execute("SELECT count(*) FROM chat_messages").fetchone() == (0,)


def test_section_7_monitoring_queries(owner: Any) -> None:
    factories.full_tenant(owner)
    # Make this backend's table statistics visible now, not within the next second.
    owner.execute("SELECT pg_stat_force_next_flush()")
    owner.execute("SELECT count(*) FROM users")
    metrics = table_queries("7.1")
    assert set(metrics) == {
        "Connection count", "Replication lag", "Cache hit ratio", "Long queries",
    }  # fmt: skip
    owner.execute(MONITORING_SEARCH_PATH)
    assert owner.execute(metrics["Connection count"]).fetchone()[0] >= 1
    owner.execute(metrics["Replication lag"]).fetchone()  # NULL on a primary
    ratio = owner.execute(metrics["Cache hit ratio"] + " FROM pg_statio_user_tables").fetchone()
    assert 0 <= ratio[0] <= 1
    owner.execute(metrics["Long queries"]).fetchall()

    [alerts] = sql_blocks("7.2")
    bloat, unused = statements(alerts)
    sizes = owner.execute(bloat).fetchall()
    assert {"users", "bookings", "chat_messages_default"} <= {row[1] for row in sizes}
    unused_indexes = owner.execute(unused).fetchall()
    assert all(row[3] == 0 for row in unused_indexes)
    assert "ix_bookings_tenant_id" in {row[2] for row in unused_indexes}
