"""Rows for tests, written as the schema owner with plain SQL: explicit, no magic."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from db.ids import new_id

Connection = psycopg.Connection[Any]


def tenant(owner: Connection, slug: str | None = None) -> uuid.UUID:
    slug = slug or f"t-{uuid.uuid4().hex[:10]}"
    row = owner.execute(
        "INSERT INTO tenants (id, slug, name) VALUES (%s, %s, %s) RETURNING id",
        (new_id(), slug, slug.title()),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def user(owner: Connection, tenant_id: uuid.UUID, *, email: str | None = None) -> uuid.UUID:
    user_id = new_id()
    owner.execute(
        "INSERT INTO users (id, tenant_id, email, full_name, phone) VALUES (%s, %s, %s, %s, %s)",
        (user_id, tenant_id, email or f"{user_id}@example.com", "Ada Traveller", "+441234567890"),
    )
    return user_id


def chat_session(owner: Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    session_id = new_id()
    owner.execute(
        "INSERT INTO chat_sessions (id, tenant_id, user_id, thread_id, title)"
        " VALUES (%s, %s, %s, %s, 'Trip to Lisbon')",
        (session_id, tenant_id, user_id, uuid.uuid4()),
    )
    return session_id


def chat_message(
    owner: Connection,
    tenant_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    content: str = "Flights to Lisbon next Friday",
    created_at: datetime | None = None,
) -> uuid.UUID:
    message_id = new_id()
    owner.execute(
        "INSERT INTO chat_messages (id, created_at, tenant_id, session_id, role, content)"
        " VALUES (%s, %s, %s, %s, 'user', %s)",
        (message_id, created_at or datetime.now(UTC), tenant_id, session_id, content),
    )
    return message_id


def analytics_event(
    owner: Connection, tenant_id: uuid.UUID, user_id: uuid.UUID | None, *, kind: str
) -> uuid.UUID:
    event_id = new_id()
    owner.execute(
        "INSERT INTO analytics_events (id, tenant_id, user_id, event_type, properties)"
        ' VALUES (%s, %s, %s, %s, \'{"source": "test"}\')',
        (event_id, tenant_id, user_id, kind),
    )
    return event_id


def oauth_account(owner: Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    account_id = new_id()
    owner.execute(
        "INSERT INTO oauth_accounts (id, tenant_id, user_id, provider, provider_account_id)"
        " VALUES (%s, %s, %s, 'github', %s)",
        (account_id, tenant_id, user_id, str(account_id)),
    )
    return account_id


def user_session(owner: Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    """A live sign-in session of the user (what a session token names)."""
    session_id = new_id()
    owner.execute(
        "INSERT INTO user_sessions (id, tenant_id, user_id, expires_at)"
        " VALUES (%s, %s, %s, now() + interval '1 day')",
        (session_id, tenant_id, user_id),
    )
    return session_id


def flight_booking(owner: Connection, tenant_id: uuid.UUID) -> uuid.UUID:
    flight_id = new_id()
    departure = datetime.now(UTC) + timedelta(days=30)
    owner.execute(
        "INSERT INTO flight_bookings (id, tenant_id, offer_id, provider, origin, destination,"
        " departure_at, arrival_at, carrier, flight_numbers, cabin, passengers, amount, currency)"
        " VALUES (%s, %s, 'off_1', 'offline', 'LHR', 'LIS', %s, %s, 'TAP Air Portugal',"
        " 'TP1351', 'economy', 1, 120.50, 'EUR')",
        (flight_id, tenant_id, departure, departure + timedelta(hours=2, minutes=45)),
    )
    return flight_id


def hotel_booking(owner: Connection, tenant_id: uuid.UUID) -> uuid.UUID:
    hotel_id = new_id()
    check_in = date.today() + timedelta(days=30)
    owner.execute(
        "INSERT INTO hotel_bookings (id, tenant_id, offer_id, provider, hotel_id, hotel_name,"
        " city, check_in, check_out, board, amount, currency)"
        " VALUES (%s, %s, 'hot_1', 'offline', 'LIS-001', 'Casa do Rio', 'Lisbon', %s, %s,"
        " 'breakfast', 300.00, 'EUR')",
        (hotel_id, tenant_id, check_in, check_in + timedelta(days=3)),
    )
    return hotel_id


def booking(
    owner: Connection,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID | None,
    *,
    reference: str = "ABC234",
    status: str = "confirmed",
    total: Decimal = Decimal("420.50"),
) -> uuid.UUID:
    booking_id = new_id()
    owner.execute(
        "INSERT INTO bookings (id, tenant_id, user_id, booking_reference, status, total_amount,"
        " currency, contact_name, contact_email, confirmed_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, 'EUR', 'Ada Traveller', 'ada@example.com',"
        " CASE WHEN %s = 'confirmed' THEN now() END)",
        (booking_id, tenant_id, user_id, reference, status, total, status),
    )
    return booking_id


def booking_item(
    owner: Connection,
    tenant_id: uuid.UUID,
    booking_id: uuid.UUID,
    *,
    item_type: str,
    flight_booking_id: uuid.UUID | None = None,
    hotel_booking_id: uuid.UUID | None = None,
) -> uuid.UUID:
    item_id = new_id()
    owner.execute(
        "INSERT INTO booking_items (id, tenant_id, booking_id, item_type, flight_booking_id,"
        " hotel_booking_id, amount, currency) VALUES (%s, %s, %s, %s, %s, %s, 120.50, 'EUR')",
        (item_id, tenant_id, booking_id, item_type, flight_booking_id, hotel_booking_id),
    )
    return item_id


def full_tenant(owner: Connection, slug: str | None = None) -> dict[str, Any]:
    """A tenant with one row in every tenant-scoped table; returns the ids by table."""
    tenant_id = tenant(owner, slug)
    return {"tenant_id": tenant_id, **full_tenant_rows(owner, tenant_id)}


def full_tenant_rows(owner: Connection, tenant_id: uuid.UUID) -> dict[str, Any]:
    """One more row in every tenant-scoped table of an existing tenant; ids by table."""
    user_id = user(owner, tenant_id)
    session_id = chat_session(owner, tenant_id, user_id)
    flight_id = flight_booking(owner, tenant_id)
    hotel_id = hotel_booking(owner, tenant_id)
    booking_id = booking(owner, tenant_id, user_id, reference=_reference())
    return {
        "users": user_id,
        "oauth_accounts": oauth_account(owner, tenant_id, user_id),
        "user_sessions": user_session(owner, tenant_id, user_id),
        "chat_sessions": session_id,
        "chat_messages": chat_message(owner, tenant_id, session_id),
        "analytics_events": analytics_event(owner, tenant_id, user_id, kind="message_sent"),
        "flight_bookings": flight_id,
        "hotel_bookings": hotel_id,
        "bookings": booking_id,
        "booking_items": booking_item(
            owner, tenant_id, booking_id, item_type="flight", flight_booking_id=flight_id
        ),
    }


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _reference() -> str:
    raw = uuid.uuid4().int
    return "".join(_ALPHABET[(raw >> (5 * i)) % len(_ALPHABET)] for i in range(6))
