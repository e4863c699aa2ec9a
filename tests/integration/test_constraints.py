"""Constraints and triggers that keep the data right whatever the application does."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from tests import factories

pytestmark = pytest.mark.integration


def test_a_flight_item_cannot_point_at_a_hotel_booking(owner: Any) -> None:
    ids = factories.full_tenant(owner)
    with pytest.raises(psycopg.errors.CheckViolation):
        factories.booking_item(
            owner, ids["tenant_id"], ids["bookings"], item_type="flight",
            hotel_booking_id=ids["hotel_bookings"],
        )  # fmt: skip
    # Nor can a hotel booking's id pass for a flight booking's.
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        factories.booking_item(
            owner, ids["tenant_id"], ids["bookings"], item_type="flight",
            flight_booking_id=ids["hotel_bookings"],
        )  # fmt: skip


def test_an_item_cannot_point_at_both_kinds(owner: Any) -> None:
    ids = factories.full_tenant(owner)
    hotel = factories.hotel_booking(owner, ids["tenant_id"])
    flight = factories.flight_booking(owner, ids["tenant_id"])
    with pytest.raises(psycopg.errors.CheckViolation):
        factories.booking_item(
            owner, ids["tenant_id"], ids["bookings"], item_type="flight",
            flight_booking_id=flight, hotel_booking_id=hotel,
        )  # fmt: skip


def test_an_item_must_point_at_something(owner: Any) -> None:
    ids = factories.full_tenant(owner)
    with pytest.raises(psycopg.errors.CheckViolation):
        factories.booking_item(owner, ids["tenant_id"], ids["bookings"], item_type="hotel")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("status", "shipped"),
        ("booking_reference", "ABO123"),  # O and 1 are ambiguous
        ("booking_reference", "abc234"),
        ("currency", "eur"),
        ("total_amount", -1),
    ],
)
def test_bookings_reject_out_of_vocabulary_values(owner: Any, column: str, value: Any) -> None:
    ids = factories.full_tenant(owner)
    with pytest.raises(psycopg.errors.CheckViolation):
        owner.execute(f"UPDATE bookings SET {column} = %s WHERE id = %s", (value, ids["bookings"]))


def test_money_is_exact_to_the_cent(owner: Any) -> None:
    ids = factories.full_tenant(owner)
    owner.execute("UPDATE bookings SET total_amount = 0.1 + 0.2 WHERE id = %s", (ids["bookings"],))
    (amount,) = owner.execute(
        "SELECT total_amount::text FROM bookings WHERE id = %s", (ids["bookings"],)
    ).fetchone()
    assert amount == "0.30"


def test_emails_are_unique_among_live_users_only(owner: Any) -> None:
    tenant = factories.tenant(owner)
    first = factories.user(owner, tenant, email="ada@example.com")
    with pytest.raises(psycopg.errors.UniqueViolation):
        factories.user(owner, tenant, email="ada@example.com")
    owner.execute("UPDATE users SET deleted_at = now() WHERE id = %s", (first,))
    factories.user(owner, tenant, email="ada@example.com")


def test_updated_at_follows_every_update(owner: Any) -> None:
    ids = factories.full_tenant(owner)
    (before,) = owner.execute(
        "SELECT updated_at FROM users WHERE id = %s", (ids["users"],)
    ).fetchone()
    time.sleep(0.01)
    owner.execute("UPDATE users SET full_name = 'Ada L.' WHERE id = %s", (ids["users"],))
    (after,) = owner.execute(
        "SELECT updated_at FROM users WHERE id = %s", (ids["users"],)
    ).fetchone()
    assert after > before


def test_message_count_follows_inserts_and_deletes(owner: Any) -> None:
    ids = factories.full_tenant(owner)  # one message already
    session = ids["chat_sessions"]
    owner.execute(
        "INSERT INTO chat_messages (tenant_id, session_id, role, content)"
        " SELECT %s, %s, 'assistant', 'reply ' || n FROM generate_series(1, 5) AS n",
        (ids["tenant_id"], session),
    )
    count, last = owner.execute(
        "SELECT message_count, last_message_at FROM chat_sessions WHERE id = %s", (session,)
    ).fetchone()
    newest = owner.execute("SELECT max(created_at) FROM chat_messages").fetchone()[0]
    assert (count, last) == (6, newest)
    owner.execute("DELETE FROM chat_messages WHERE content LIKE 'reply %%'")
    assert owner.execute(
        "SELECT message_count FROM chat_sessions WHERE id = %s", (session,)
    ).fetchone() == (1,)


def _chat_session_rows_read(connection: Any) -> int:
    """Rows of chat_sessions this database has read so far (scans and index fetches)."""
    with connection.transaction():
        connection.execute("SELECT pg_stat_force_next_flush()")  # this connection's counts
    with connection.transaction():
        row = connection.execute(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_user_tables WHERE relname = 'chat_sessions'"
        ).fetchone()
    return int(row[0])


def test_message_counts_touch_only_the_sessions_written(owner: Any, app_connection: Any) -> None:
    """The count triggers find sessions by key: a tenant's other sessions are never read."""
    ids = factories.full_tenant(owner)
    tenant, user = ids["tenant_id"], ids["users"]
    sessions = [
        row[0]
        for row in owner.execute(
            "INSERT INTO chat_sessions (tenant_id, user_id, thread_id)"
            " SELECT %s, %s, gen_random_uuid() FROM generate_series(1, 2000) RETURNING id",
            (tenant, user),
        )
    ]
    owner.execute("ANALYZE chat_sessions")
    written = sessions[:25]
    before = _chat_session_rows_read(app_connection)
    # As the chat log writes: the runtime role under the tenant's row-level security, a turn's
    # four messages for each of 25 sessions in one statement.
    with app_connection.transaction():
        app_connection.execute(
            "SELECT set_config('app.current_tenant_id', %s, true)", (str(tenant),)
        )
        app_connection.execute(
            "INSERT INTO chat_messages (tenant_id, session_id, role, content)"
            " SELECT %s, s, 'assistant', 'reply ' || n"
            " FROM unnest(%s::uuid[]) AS s, generate_series(1, 4) AS n",
            (tenant, written),
        )
        app_connection.execute("DELETE FROM chat_messages WHERE content LIKE 'reply %%'")
    # Each written session once per foreign key check and once per count: not all 2,001.
    read = _chat_session_rows_read(app_connection) - before
    assert read < 300, read
    assert owner.execute(
        "SELECT sum(message_count) FROM chat_sessions WHERE id = ANY(%s)", (written,)
    ).fetchone() == (0,)


def test_database_default_keys_are_time_ordered_uuid7(owner: Any) -> None:
    keys = [owner.execute("SELECT uuid_generate_v7()").fetchone()[0] for _ in range(20)]
    assert all(key.version == 7 for key in keys)
    assert keys == sorted(keys, key=lambda key: key.int >> 80)
