"""Migrations go up and down cleanly, and the models describe exactly what they build."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db import migrate
from db.engine import create_owner_engine
from db.models import PARTITIONED_TABLES, TENANT_SCOPED_TABLES, metadata
from db.models.enums import CHECKED_VOCABULARIES
from db.urls import libpq_url

pytestmark = pytest.mark.integration

LANGGRAPH_TABLES = {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations"}


def _public_relations(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as connection:
        rows = connection.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm', 'v')"
        ).fetchall()
    return {row[0] for row in rows}


def _public_functions(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as connection:
        rows = connection.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def test_upgrade_downgrade_upgrade_round_trip(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    at_head = _public_relations(empty_database)
    assert {table.name for table in metadata.sorted_tables} <= at_head
    assert LANGGRAPH_TABLES <= at_head
    assert "mv_daily_metrics" in at_head
    assert migrate.is_up_to_date(empty_database)

    migrate.downgrade(empty_database, "base")
    assert _public_relations(empty_database) == {"alembic_version"}
    assert _public_functions(empty_database) == set()
    assert migrate.current_revision(empty_database) is None

    migrate.upgrade(empty_database)
    assert _public_relations(empty_database) == at_head


def test_upgrade_is_idempotent(database: str) -> None:
    before = _public_relations(database)
    migrate.upgrade(database)
    assert _public_relations(database) == before


def _include(_obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    if type_ != "table" or name is None:
        return True
    # Partitions are made by maintenance, LangGraph owns its tables, Alembic its own.
    is_partition = any(name.startswith(f"{parent}_") for parent in PARTITIONED_TABLES)
    return not (is_partition or name in LANGGRAPH_TABLES or name == "alembic_version")


def test_models_and_migrated_schema_agree(database: str) -> None:
    engine = create_owner_engine(database)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": False,
                    "include_object": _include,
                },
            )
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_every_column_the_design_names_exists(database: str) -> None:
    engine = create_owner_engine(database)
    try:
        inspector = inspect(engine)
        columns = {
            table: {column["name"] for column in inspector.get_columns(table)}
            for table in inspector.get_table_names()
        }
    finally:
        engine.dispose()
    named = {
        "users": {
            "id", "email", "full_name", "role", "status", "created_at", "updated_at", "phone",
            "hashed_password", "deleted_at", "data_processing_consent", "consent_granted_at",
            "marketing_consent", "tenant_id",
        },
        "chat_sessions": {
            "id", "user_id", "title", "status", "thread_id", "context", "message_count",
            "checkpoint_ns", "deleted_at", "tenant_id",
        },
        "chat_messages": {"id", "session_id", "created_at", "role", "content", "tool_calls"},
        "flight_search_cache": {"search_hash", "results", "hit_count", "expires_at"},
        "hotel_search_cache": {"search_hash", "results", "hit_count", "expires_at"},
        "bookings": {
            "id", "user_id", "booking_reference", "status", "total_amount", "currency",
            "created_at", "contact_email", "contact_name", "contact_phone", "idempotency_key",
        },
        "booking_items": {"booking_id", "item_type", "flight_booking_id", "hotel_booking_id"},
        "analytics_events": {"id", "created_at", "event_type", "user_id", "properties"},
    }  # fmt: skip
    for table, names in named.items():
        assert names <= columns[table], f"{table} lacks {names - columns[table]}"


def test_check_constraints_admit_exactly_the_model_vocabularies(owner: Any) -> None:
    for constraint, vocabulary in CHECKED_VOCABULARIES.items():
        row = owner.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
            (constraint,),
        ).fetchone()
        assert row is not None, constraint
        definition: str = row[0]
        admitted = {part.split("'")[1] for part in definition.split("::") if "'" in part}
        assert admitted == {member.value for member in vocabulary}, constraint


def test_tenant_scoped_tables_are_forced_under_row_level_security(owner: Any) -> None:
    rows = owner.execute(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
        (list(TENANT_SCOPED_TABLES),),
    ).fetchall()
    assert {row[0] for row in rows} == set(TENANT_SCOPED_TABLES)
    assert all(row[1] and row[2] for row in rows)


def test_no_foreign_key_points_at_a_partitioned_table(owner: Any) -> None:
    rows = owner.execute(
        "SELECT conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.confrelid"
        " WHERE c.contype = 'f' AND t.relkind = 'p'"
    ).fetchall()
    assert rows == []


def test_partitioned_primary_keys_include_created_at(owner: Any) -> None:
    for table in PARTITIONED_TABLES:
        row = owner.execute(
            "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " WHERE c.conrelid = %s::regclass AND c.contype = 'p'",
            (table,),
        ).fetchone()
        assert row == ("PRIMARY KEY (id, created_at)",)


def test_the_chat_log_write_takes_checkpoints_by_default_only_from_0018(database: str) -> None:
    """0018 lets the chat log leave out the tables it does not write; its downgrade brings
    0015's function back exactly (no defaults, the same grants)."""

    def defaults_and_grant() -> tuple[int, bool]:
        with psycopg.connect(libpq_url(database)) as connection:
            row = connection.execute(
                "SELECT pronargdefaults, has_function_privilege('travelhub_app', oid, 'EXECUTE')"
                " FROM pg_proc WHERE proname = 'chat_log_write'"
            ).fetchall()
        assert len(row) == 1
        return row[0]

    assert defaults_and_grant() == (12, True)
    migrate.downgrade(database, "0017_lz4_checkpoint_blobs")
    assert defaults_and_grant() == (0, True)
    migrate.upgrade(database)
    assert defaults_and_grant() == (12, True)
