"""Bookings: the order, its items, and the flight and hotel details (design sections 1.2, 2.5)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CHAR, DateTime, Index, SmallInteger, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from db.models.columns import (
    created_at_field,
    currency_field,
    enum_field,
    fk_field,
    id_field,
    jsonb_field,
    tenant_field,
    timestamp_field,
    updated_at_field,
)
from db.models.enums import Board, BookingStatus, Cabin, ItemType

Money = Decimal
MONEY_PLACES = 2
"""Decimals a stored amount keeps: every currency of two minor digits or fewer fits exactly."""


def money_field(*, nullable: bool = False) -> Any:
    """An amount in the major unit of its currency: numeric(12,2), never a float."""
    return Field(default=None if nullable else ..., max_digits=12, decimal_places=MONEY_PLACES)


class Booking(SQLModel, table=True):
    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("booking_reference", name="uq_bookings_booking_reference"),
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_bookings_idempotency"),
        Index("ix_bookings_user_created", "user_id", text("created_at DESC")),
        Index("ix_bookings_tenant_id", "tenant_id"),
        # The reconciler's worklist: only bookings still waiting for their outcome.
        Index(
            "ix_bookings_unsettled",
            "settle_after",
            postgresql_where=text("status IN ('pending', 'ordering')"),
        ),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    user_id: uuid.UUID | None = fk_field("users.id", ondelete="SET NULL", nullable=True)
    session_id: uuid.UUID | None = fk_field("chat_sessions.id", ondelete="SET NULL", nullable=True)
    booking_reference: str = Field(sa_type=CHAR(6))
    status: BookingStatus = enum_field(
        BookingStatus, length=20, default=BookingStatus.PENDING, server_default="pending"
    )
    total_amount: Money = money_field()
    currency: str = currency_field()
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=255)
    contact_phone: str | None = Field(default=None, max_length=32)
    travellers: list[dict[str, Any]] = jsonb_field(default=[], server_default="[]")
    idempotency_key: str | None = Field(default=None, max_length=255)
    request_fingerprint: str | None = Field(default=None, sa_type=CHAR(64))
    provider: str = Field(
        default="offline", max_length=20, sa_column_kwargs={"server_default": "offline"}
    )
    provider_order_id: str | None = Field(default=None, max_length=255)
    failure_reason: str | None = Field(default=None, max_length=500)
    refund_amount: Money | None = money_field(nullable=True)
    confirmed_at: datetime | None = timestamp_field()
    cancelled_at: datetime | None = timestamp_field()
    settle_after: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": text("now()")},
    )
    """While pending or ordering: when the reconciler may settle it if nobody has."""
    attributes: dict[str, Any] = jsonb_field(default={}, server_default="{}")
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()


class FlightBooking(SQLModel, table=True):
    __tablename__ = "flight_bookings"
    __table_args__ = (Index("ix_flight_bookings_tenant_id", "tenant_id"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    offer_id: str = Field(max_length=255)
    provider: str = Field(max_length=20)
    provider_order_id: str | None = Field(default=None, max_length=255)
    origin: str = Field(sa_type=CHAR(3))
    destination: str = Field(sa_type=CHAR(3))
    departure_at: datetime = Field(sa_type=DateTime(timezone=True))
    arrival_at: datetime = Field(sa_type=DateTime(timezone=True))
    carrier: str = Field(max_length=100)
    flight_numbers: str = Field(max_length=100)
    cabin: Cabin = enum_field(Cabin, length=20)
    passengers: int
    segments: list[dict[str, Any]] = jsonb_field(default=[], server_default="[]")
    fare_conditions: dict[str, Any] = jsonb_field(default={}, server_default="{}")
    amount: Money = money_field()
    currency: str = currency_field()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()


class HotelBooking(SQLModel, table=True):
    __tablename__ = "hotel_bookings"
    __table_args__ = (Index("ix_hotel_bookings_tenant_id", "tenant_id"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    offer_id: str = Field(max_length=255)
    provider: str = Field(max_length=20)
    provider_order_id: str | None = Field(default=None, max_length=255)
    hotel_id: str = Field(max_length=100)
    hotel_name: str = Field(max_length=255)
    city: str = Field(max_length=100)
    address: str | None = Field(default=None, max_length=500)
    check_in: date
    check_out: date
    rooms: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})
    guests: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})
    room_type: str | None = Field(default=None, max_length=100)
    board: Board | None = enum_field(Board, length=30, default=None)
    free_cancellation_until: datetime | None = timestamp_field()
    amount: Money = money_field()
    currency: str = currency_field()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()


class BookingItem(SQLModel, table=True):
    """One booked thing: `item_type` says which of the two foreign keys is set (exactly one)."""

    __tablename__ = "booking_items"
    __table_args__ = (
        UniqueConstraint("flight_booking_id", name="uq_booking_items_flight"),
        UniqueConstraint("hotel_booking_id", name="uq_booking_items_hotel"),
        Index("ix_booking_items_booking_id", "booking_id"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    booking_id: uuid.UUID = fk_field("bookings.id", ondelete="CASCADE", nullable=False)
    item_type: ItemType = enum_field(ItemType, length=20)
    flight_booking_id: uuid.UUID | None = fk_field(
        "flight_bookings.id", ondelete="RESTRICT", nullable=True
    )
    hotel_booking_id: uuid.UUID | None = fk_field(
        "hotel_bookings.id", ondelete="RESTRICT", nullable=True
    )
    position: int = Field(
        default=0, sa_type=SmallInteger, sa_column_kwargs={"server_default": text("0")}
    )
    amount: Money = money_field()
    currency: str = currency_field()
    created_at: datetime | None = created_at_field()
