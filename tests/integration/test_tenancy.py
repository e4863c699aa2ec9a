"""Row-level security as the runtime role: a tenant sees its own rows and nothing else."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from db.models import TENANT_SCOPED_TABLES
from db.urls import RUNTIME_ROLE
from tests import factories

pytestmark = pytest.mark.integration


def _as_tenant(app: Any, tenant: uuid.UUID | str | None) -> None:
    if tenant is not None:
        app.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(tenant),))


def _in_tenant(app: Any, tenant: uuid.UUID, statement: str, params: tuple[Any, ...]) -> None:
    with app.transaction():
        _as_tenant(app, tenant)
        app.execute(statement, params)


def _visible(app: Any, table: str) -> set[uuid.UUID]:
    query = sql.SQL("SELECT id FROM {}").format(sql.Identifier(table))
    return {row[0] for row in app.execute(query)}


def test_runtime_role_is_neither_owner_superuser_nor_bypassrls(owner: Any) -> None:
    row = owner.execute(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
        " WHERE rolname = %s",
        (RUNTIME_ROLE,),
    ).fetchone()
    assert row == (False, False, False, False)
    owners = {
        r[0]
        for r in owner.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relname = ANY(%s)",
            (list(TENANT_SCOPED_TABLES),),
        )
    }
    assert RUNTIME_ROLE not in owners


def test_each_tenant_sees_only_its_own_rows(owner: Any, app_connection: Any) -> None:
    first = factories.full_tenant(owner)
    second = factories.full_tenant(owner)
    for mine, theirs in ((first, second), (second, first)):
        with app_connection.transaction():
            _as_tenant(app_connection, mine["tenant_id"])
            for table in TENANT_SCOPED_TABLES:
                assert _visible(app_connection, table) == {mine[table]}, table
                assert theirs[table] not in _visible(app_connection, table)


def test_the_tenant_slug_works_as_the_setting_too(owner: Any, app_connection: Any) -> None:
    acme = factories.full_tenant(owner, slug="acme")
    factories.full_tenant(owner, slug="globex")
    with app_connection.transaction():
        _as_tenant(app_connection, "acme")
        assert _visible(app_connection, "bookings") == {acme["bookings"]}


@pytest.mark.parametrize("setting", [None, "", "not-a-tenant", str(uuid.uuid4())])
def test_no_or_unknown_tenant_sees_no_rows(owner: Any, app_connection: Any, setting: Any) -> None:
    factories.full_tenant(owner)
    with app_connection.transaction():
        _as_tenant(app_connection, setting)
        for table in TENANT_SCOPED_TABLES:
            assert _visible(app_connection, table) == set(), table


def test_a_tenant_cannot_write_rows_for_another(owner: Any, app_connection: Any) -> None:
    mine = factories.tenant(owner)
    theirs = factories.tenant(owner)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _in_tenant(
            app_connection,
            mine,
            "INSERT INTO users (tenant_id, email) VALUES (%s, 'intruder@example.com')",
            (theirs,),
        )


def test_a_tenant_cannot_move_its_rows_to_another(owner: Any, app_connection: Any) -> None:
    mine = factories.full_tenant(owner)
    theirs = factories.tenant(owner)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _in_tenant(
            app_connection, mine["tenant_id"], "UPDATE bookings SET tenant_id = %s", (theirs,)
        )


def test_reading_a_partition_directly_is_denied(owner: Any, app_connection: Any) -> None:
    factories.full_tenant(owner)
    partitions = [
        row[0]
        for row in owner.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent IN ('chat_messages'::regclass, 'analytics_events'::regclass)"
        )
    ]
    assert len(partitions) >= 10  # DEFAULT + current month + 3 ahead, for each parent
    for partition in partitions:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_connection.transaction():
            app_connection.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(partition)))


def test_the_tenant_setting_ends_with_its_transaction(owner: Any, app_connection: Any) -> None:
    tenant = factories.full_tenant(owner)
    with app_connection.transaction():
        _as_tenant(app_connection, tenant["tenant_id"])
        assert _visible(app_connection, "users") == {tenant["users"]}
    # The same server connection, as the next PgBouncer client would get it.
    with app_connection.transaction():
        assert _visible(app_connection, "users") == set()


def test_the_runtime_role_cannot_read_the_daily_metrics(app_connection: Any) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), app_connection.transaction():
        app_connection.execute("SELECT * FROM mv_daily_metrics")


def test_the_tenant_lookup_is_inlined_into_each_statement(app_connection: Any) -> None:
    """Policies ask `(SELECT current_tenant_id())`: an expression, not a function to plan."""
    with app_connection.transaction():
        _as_tenant(app_connection, uuid.uuid4())
        plan = "\n".join(
            row[0] for row in app_connection.execute("EXPLAIN (VERBOSE) SELECT id FROM bookings")
        )
    assert "current_setting('app.current_tenant_id'" in plan
    assert "current_tenant_id()" not in plan
