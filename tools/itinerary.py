"""A customer's bookings as they read them: newest first, each an itinerary in time order."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Booking, BookingItem, FlightBooking, HotelBooking
from db.models.enums import BookingStatus
from db.text import storable
from db.unit_of_work import UnitOfWork
from tools.booking import Customer
from tools.booking_status import WORDS
from tools.errors import BookingNotFound
from tools.money import format_money
from tools.places import gazetteer
from tools.references import normalise
from tools.trip_calendar import BookedItem, trip_calendar


class ItineraryItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["flight", "hotel"]
    title: str
    starts: datetime
    """Local to where it happens (naive): what the traveller's ticket or voucher says."""
    lines: list[str]
    amount: Decimal
    currency: str


class BookingSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    reference: str
    status: BookingStatus
    total_amount: Decimal
    currency: str
    created_at: datetime | None
    contact_name: str | None
    contact_email: str | None
    refund_amount: Decimal | None
    cancelled_at: datetime | None
    items: list[ItineraryItem]

    @property
    def status_words(self) -> str:
        """The status as a traveller reads it ("being checked by our team", not "needs_review")."""
        return WORDS[self.status]

    def headline(self) -> str:
        what = " + ".join(item.title for item in self.items) or "no items"
        return (
            f"{self.reference} ({self.status_words}): {what},"
            f" {format_money(self.total_amount, self.currency)}"
        )


async def find_booking(
    session: AsyncSession, reference: str, customer: Customer, *, for_update: bool = False
) -> Booking:
    """The booking with `reference` if this customer may see it (owner or admin).

    Another tenant's booking is invisible under row-level security; another user's gets the
    same answer as a missing one, so references cannot be probed.
    """
    wanted = normalise(reference)
    if storable(wanted) != wanted:  # NUL and the like: no reference holds them
        raise BookingNotFound("That is not a booking reference.")
    query = select(Booking).where(Booking.booking_reference == wanted)
    if for_update:
        query = query.with_for_update()
    booking = (await session.exec(query)).first()
    if booking is None or not (customer.is_admin or booking.user_id == customer.user_id):
        raise BookingNotFound(f"I found no booking {wanted} of yours.")
    return booking


async def booked_items(session: AsyncSession, booking_id: uuid.UUID) -> list[BookedItem]:
    """The booking's items, in the order they were booked, each with its flight or stay."""
    rows = (
        await session.exec(
            select(BookingItem, FlightBooking, HotelBooking)
            .where(BookingItem.booking_id == booking_id)
            .outerjoin(FlightBooking, col(BookingItem.flight_booking_id) == FlightBooking.id)
            .outerjoin(HotelBooking, col(BookingItem.hotel_booking_id) == HotelBooking.id)
            .order_by(col(BookingItem.position))
        )
    ).all()
    return [BookedItem(item.id, flight, hotel) for item, flight, hotel in rows]


async def items_of(session: AsyncSession, booking_id: uuid.UUID) -> list[ItineraryItem]:
    rows = [(b.item_id, b.flight, b.hotel) for b in await booked_items(session, booking_id)]
    items = [
        _flight_item(flight) if flight is not None else _hotel_item(hotel)
        for _item, flight, hotel in rows
        if flight is not None or hotel is not None
    ]
    # A flight on a hotel's check-in day is how the traveller gets there: it comes first.
    return sorted(items, key=lambda item: (item.starts.date(), item.kind == "hotel", item.starts))


def _flight_item(flight: FlightBooking) -> ItineraryItem:
    lines: list[str] = []
    first_departure: datetime | None = None
    for journey in flight.segments:
        for segment in journey["segments"]:
            leaves = datetime.fromisoformat(segment["departure"])
            lands = datetime.fromisoformat(segment["arrival"])
            first_departure = first_departure or leaves
            lines.append(
                f"{segment['flight_number']} {segment['origin']} {leaves:%a %d %b %H:%M}"
                f" -> {segment['destination']} {lands:%a %d %b %H:%M} (local times)"
            )
    conditions: dict[str, Any] = flight.fare_conditions
    lines.append(
        f"{flight.cabin.value.replace('_', ' ')}, {flight.passengers} passenger(s), "
        + ("refundable" if conditions.get("refundable") else "non-refundable")
    )
    return ItineraryItem(
        kind="flight",
        title=f"flight {flight.origin}-{flight.destination}",
        starts=(first_departure or flight.departure_at).replace(tzinfo=None),
        lines=lines,
        amount=flight.amount,
        currency=flight.currency,
    )


def _hotel_item(hotel: HotelBooking | None) -> ItineraryItem:
    assert hotel is not None  # an item points at exactly one of the two (a CHECK says so)
    nights = (hotel.check_out - hotel.check_in).days
    cancel = hotel.free_cancellation_until
    lines = [
        f"{hotel.check_in:%a %d %b} -> {hotel.check_out:%a %d %b}: {nights} night(s)",
        f"{hotel.room_type or 'room'}, {(hotel.board or 'room only').replace('_', ' ')},"
        f" {hotel.guests} guest(s), {hotel.rooms} room(s)",
        f"free cancellation until {cancel:%d %b %H:%M}" if cancel else "non-refundable rate",
    ]
    return ItineraryItem(
        kind="hotel",
        title=f"{hotel.hotel_name}, {hotel.city}",
        starts=_check_in_time(hotel.check_in),
        lines=lines,
        amount=hotel.amount,
        currency=hotel.currency,
    )


def _check_in_time(day: date) -> datetime:
    return datetime.combine(day, time(15, 0))


def summarise(booking: Booking, items: list[ItineraryItem]) -> BookingSummary:
    return BookingSummary(
        reference=booking.booking_reference,
        status=booking.status,
        total_amount=booking.total_amount,
        currency=booking.currency,
        created_at=booking.created_at,
        contact_name=booking.contact_name,
        contact_email=booking.contact_email,
        refund_amount=booking.refund_amount,
        cancelled_at=booking.cancelled_at,
        items=items,
    )


class Itineraries:
    """Read-only access to a customer's bookings."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def list(self, customer: Customer, *, limit: int = 50) -> list[BookingSummary]:
        """The customer's bookings, newest first (index ix_bookings_user_created)."""
        async with UnitOfWork(self._sessions, tenant_id=customer.tenant_id) as uow:
            bookings = (
                await uow.session.exec(
                    select(Booking)
                    .where(Booking.user_id == customer.user_id)
                    .order_by(col(Booking.created_at).desc())
                    .limit(limit)
                )
            ).all()
            return [summarise(b, await items_of(uow.session, b.id)) for b in bookings]

    async def show(self, reference: str, customer: Customer) -> BookingSummary:
        async with UnitOfWork(self._sessions, tenant_id=customer.tenant_id) as uow:
            booking = await find_booking(uow.session, reference, customer)
            return summarise(booking, await items_of(uow.session, booking.id))

    async def calendar(self, reference: str, customer: Customer) -> bytes:
        """The booking as an iCalendar file, for its owner (or an admin of its tenant)."""
        async with UnitOfWork(self._sessions, tenant_id=customer.tenant_id) as uow:
            booking = await find_booking(uow.session, reference, customer)
            items = await booked_items(uow.session, booking.id)
            return trip_calendar(booking, items, gazetteer())
