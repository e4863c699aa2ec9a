"""Cancelling a booking by its reference, with each item's own refund rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import AnalyticsEvent, BookingItem, FlightBooking, HotelBooking
from db.models.enums import BookingStatus
from db.unit_of_work import UnitOfWork
from ops import metrics
from tools.booking import Customer
from tools.booking_status import EVENT_OF, check_transition
from tools.errors import CannotCancel
from tools.itinerary import BookingSummary, find_booking, items_of, summarise
from tools.money import format_money
from tools.providers.base import FlightOrders, HotelOrders


@dataclass(frozen=True)
class Cancellation:
    booking: BookingSummary
    refund: Decimal
    already_cancelled: bool
    explanation: list[str]

    def message(self) -> str:
        reference = self.booking.reference
        if self.already_cancelled:
            return (
                f"Booking {reference} was already cancelled; the refund was"
                f" {format_money(self.refund, self.booking.currency)}. Nothing else to do."
            )
        why = "; ".join(self.explanation)
        refund = format_money(self.refund, self.booking.currency)
        return f"Booking {reference} is cancelled. Refund: {refund} ({why})."


class CancellationService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        flight_orders: dict[str, FlightOrders],
        hotel_orders: dict[str, HotelOrders],
        now: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._flight_orders = flight_orders
        self._hotel_orders = hotel_orders
        self._now = now

    async def cancel(self, reference: str, customer: Customer) -> Cancellation:
        """Cancel the customer's booking; cancelling twice is a no-op with a clear answer."""
        async with UnitOfWork(self._sessions, tenant_id=customer.tenant_id) as uow:
            session = uow.session
            booking = await find_booking(session, reference, customer, for_update=True)
            if booking.status is BookingStatus.CANCELLED:
                summary = summarise(booking, await items_of(session, booking.id))
                return Cancellation(summary, booking.refund_amount or Decimal("0"), True, [])
            if booking.status is not BookingStatus.CONFIRMED:
                raise CannotCancel(
                    f"Booking {booking.booking_reference} is {booking.status.value}; there is"
                    " nothing to cancel."
                )
            flights, hotels = await self._details(session, booking.id)
            now = self._now()
            refund, explanation = Decimal("0"), list[str]()
            for flight in flights:
                if flight.departure_at <= now:
                    raise CannotCancel(
                        f"The flight {flight.origin}-{flight.destination} of booking"
                        f" {booking.booking_reference} has already left; it cannot be cancelled."
                    )
                amount, why = flight_refund(flight)
                refund, explanation = refund + amount, [*explanation, why]
            for hotel in hotels:
                amount, why = hotel_refund(hotel, now)
                refund, explanation = refund + amount, [*explanation, why]
            # The providers first: if one refuses, nothing here changes.
            for flight in flights:
                if flight.provider_order_id:
                    await self._flight_orders[flight.provider].cancel_flight_order(
                        flight.provider_order_id
                    )
            for hotel in hotels:
                if hotel.provider_order_id:
                    await self._hotel_orders[hotel.provider].cancel_hotel_order(
                        hotel.provider_order_id
                    )
            check_transition(booking.status, BookingStatus.CANCELLED)
            booking.status = BookingStatus.CANCELLED
            booking.cancelled_at = now
            booking.refund_amount = refund
            session.add(booking)
            session.add(
                AnalyticsEvent(
                    tenant_id=booking.tenant_id,
                    user_id=customer.user_id,
                    event_type=EVENT_OF[BookingStatus.CANCELLED],
                    properties={
                        "booking_id": str(booking.id),
                        "reference": booking.booking_reference,
                        "refund_amount": str(refund),
                        "currency": booking.currency,
                    },
                )
            )
            await session.flush()
            summary = summarise(booking, await items_of(session, booking.id))
            await uow.commit()
        metrics.booking_settled(BookingStatus.CANCELLED.value)
        return Cancellation(summary, refund, False, explanation)

    @staticmethod
    async def _details(
        session: AsyncSession, booking_id: object
    ) -> tuple[list[FlightBooking], list[HotelBooking]]:
        flights = (
            await session.exec(
                select(FlightBooking)
                .join(BookingItem, col(BookingItem.flight_booking_id) == FlightBooking.id)
                .where(BookingItem.booking_id == booking_id)
            )
        ).all()
        hotels = (
            await session.exec(
                select(HotelBooking)
                .join(BookingItem, col(BookingItem.hotel_booking_id) == HotelBooking.id)
                .where(BookingItem.booking_id == booking_id)
            )
        ).all()
        return list(flights), list(hotels)


def flight_refund(flight: FlightBooking) -> tuple[Decimal, str]:
    conditions = flight.fare_conditions
    route = f"flight {flight.origin}-{flight.destination}"
    if not conditions.get("refundable"):
        return Decimal("0"), f"{route}: non-refundable fare"
    fee = Decimal(str(conditions.get("cancellation_fee") or "0"))
    refund = max(flight.amount - fee, Decimal("0"))
    if fee:
        return refund, f"{route}: refundable fare less a {format_money(fee, flight.currency)} fee"
    return refund, f"{route}: refundable fare"


def hotel_refund(hotel: HotelBooking, now: datetime) -> tuple[Decimal, str]:
    deadline = hotel.free_cancellation_until
    if deadline is not None and now <= deadline:
        return hotel.amount, f"{hotel.hotel_name}: free cancellation until {deadline:%d %b %H:%M}"
    if deadline is not None:
        return Decimal("0"), f"{hotel.hotel_name}: the free-cancellation deadline has passed"
    return Decimal("0"), f"{hotel.hotel_name}: non-refundable rate"
