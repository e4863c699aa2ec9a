"""Booking: re-validate the offers, order them, and record it all in one transaction."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.ids import new_id
from db.models import AnalyticsEvent, Booking, BookingItem, FlightBooking, HotelBooking
from db.models.enums import BookingStatus, ItemType
from db.unit_of_work import UnitOfWork
from tools.booking_status import EVENT_OF, check_transition
from tools.cache_key import canonical_json
from tools.errors import (
    BookingError,
    IdempotencyConflict,
    OfferExpired,
    OfferUnavailable,
    PriceChanged,
    ProviderError,
)
from tools.offers import FlightOffer, HotelOffer, Offer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.base import FlightOrders, HotelOrders
from tools.providers.http import OutcomeUnknown
from tools.references import new_reference

log = logging.getLogger(__name__)
REFERENCE_ATTEMPTS = 8


@dataclass(frozen=True)
class Customer:
    """The signed-in person a booking is for; every query runs under their tenant."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    """None: an operator acting for the tenant (then `is_admin` must be set)."""
    is_admin: bool = False
    session_id: uuid.UUID | None = None


class BookingRequest(BaseModel):
    """What the traveller confirmed."""

    model_config = ConfigDict(frozen=True)

    offers: tuple[FlightOffer | HotelOffer, ...] = Field(min_length=1, max_length=4)
    contact: Contact
    travellers: tuple[Passenger, ...] = ()
    idempotency_key: str = Field(min_length=8, max_length=255)

    def fingerprint(self) -> str:
        """What makes two requests the same request (the Stripe idempotency pattern)."""
        content = {
            "offers": [[o.kind, o.id, str(o.total_price), o.currency] for o in self.offers],
            "contact": self.contact.model_dump(mode="json"),
            "travellers": [t.model_dump(mode="json") for t in self.travellers],
        }
        return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def describe(offer: Offer) -> str:
    if isinstance(offer, FlightOffer):
        going = offer.journeys[0]
        return f"the flight {going.origin}-{going.destination} on {going.departure:%d %b}"
    return f"{offer.name} from {offer.check_in:%d %b}"


class BookingService:
    """Books offers for a customer: exactly once per idempotency key, never half-written."""

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

    async def book(self, request: BookingRequest, *, customer: Customer) -> Booking:
        """The confirmed booking, or BookingError with one sentence saying why not."""
        if customer.user_id is None:
            raise BookingError("A booking is made for a signed-in traveller.")
        travellers = list(request.travellers) or [Passenger(given_name=request.contact.name)]
        async with UnitOfWork(self._sessions, tenant_id=customer.tenant_id) as uow:
            booking = await self._claim(uow.session, request, customer, travellers)
            if booking.status is not BookingStatus.PENDING:
                return booking  # the same request, already answered
            current = [await self._revalidate(offer) for offer in request.offers]
            try:
                placed = await self._place(current, travellers, request)
            except OutcomeUnknown as error:
                # The provider may have taken the order: never tell the traveller "nothing
                # was booked", never invite a retry that could book twice.
                failure, unknown = error.message, True
            except ProviderError as error:
                failure, unknown = error.message, False
            else:
                await self._record_items(uow.session, booking, current, placed)
                await self._move(uow.session, booking, BookingStatus.CONFIRMED, customer)
                await uow.commit()
                return booking
        await self._record_failure(request, customer, travellers, failure, needs_review=unknown)
        if unknown:
            raise BookingError(
                f"I could not confirm the booking ({failure.rstrip('.')}); it may have gone"
                " through with the provider. Please do not book again yet: our team will check"
                " it and contact you."
            )
        raise BookingError(
            f"The booking did not go through ({failure.rstrip('.')}); nothing was booked and"
            " nothing charged. You can safely try again."
        )

    async def _claim(
        self,
        session: AsyncSession,
        request: BookingRequest,
        customer: Customer,
        travellers: list[Passenger],
    ) -> Booking:
        """Insert the pending booking, or find the one this idempotency key already made.

        A concurrent request with the same key blocks on the unique index until this
        transaction ends, then finds the committed booking: one booking, whatever the clicks.
        """
        fingerprint = request.fingerprint()
        for _attempt in range(REFERENCE_ATTEMPTS):
            booking = self._pending(request, customer, travellers, fingerprint)
            try:
                async with session.begin_nested():
                    claimed = await _insert_unless_claimed(session, booking)
            except IntegrityError as error:
                if "uq_bookings_booking_reference" in str(error.orig):
                    continue  # a reference collision: draw another
                raise
            if claimed is not None:
                await self._event(session, claimed, BookingStatus.PENDING, customer)
                return claimed
            existing = (
                await session.exec(
                    select(Booking).where(Booking.idempotency_key == request.idempotency_key)
                )
            ).one()
            if existing.request_fingerprint != fingerprint:
                raise IdempotencyConflict(
                    f"This confirmation was already used for booking {existing.booking_reference},"
                    " which was a different request; nothing was changed."
                )
            return existing
        raise BookingError("I could not allocate a booking reference; please try again.")

    def _pending(
        self,
        request: BookingRequest,
        customer: Customer,
        travellers: list[Passenger],
        fingerprint: str,
    ) -> Booking:
        currencies = {offer.currency for offer in request.offers}
        if len(currencies) > 1:
            raise BookingError(
                "These offers are priced in different currencies; book them one at a time."
            )
        return Booking(
            id=new_id(),
            tenant_id=customer.tenant_id,
            user_id=customer.user_id,
            session_id=customer.session_id,
            booking_reference=new_reference(),
            status=BookingStatus.PENDING,
            total_amount=sum((offer.total_price for offer in request.offers), Decimal("0")),
            currency=currencies.pop(),
            contact_name=request.contact.name,
            contact_email=str(request.contact.email),
            contact_phone=request.contact.phone,
            travellers=[t.model_dump(mode="json") for t in travellers],
            idempotency_key=request.idempotency_key,
            request_fingerprint=fingerprint,
            provider=request.offers[0].provider,
        )

    async def _revalidate(self, offer: Offer) -> Offer:
        desk = self._flight_orders if isinstance(offer, FlightOffer) else self._hotel_orders
        if offer.provider not in desk:
            raise BookingError(
                f"Booking {describe(offer)} through {offer.provider} is not available yet."
            )
        if self._now() >= offer.expires_at:
            raise OfferExpired(
                f"The offer for {describe(offer)} expired at {offer.expires_at:%H:%M %Z}; I have"
                " not booked it. Search again for current prices."
            )
        current: Offer | None
        if isinstance(offer, FlightOffer):
            current = await self._flight_orders[offer.provider].reprice_flight(offer)
        else:
            current = await self._hotel_orders[offer.provider].reprice_hotel(offer)
        if current is None:
            what = describe(offer)  # str.capitalize() would lower-case "LHR" and "Jan"
            raise OfferUnavailable(
                f"{what[:1].upper()}{what[1:]} is no longer available; I have not booked it."
            )
        if (current.total_price, current.currency) != (offer.total_price, offer.currency):
            old = f"{offer.total_price} {offer.currency}"
            new = f"{current.total_price} {current.currency}"
            raise PriceChanged(
                f"The price of {describe(offer)} moved from {old} to {new}; I have not booked"
                " it. Shall I book it at the new price?",
                old=old,
                new=new,
            )
        return current

    async def _place(
        self, offers: list[Offer], travellers: list[Passenger], request: BookingRequest
    ) -> list[PlacedOrder]:
        """Order every offer; if one fails, cancel those already ordered, then re-raise."""
        placed: list[tuple[Offer, PlacedOrder]] = []
        try:
            for position, offer in enumerate(offers):
                key = f"{request.idempotency_key}:{position}"
                if isinstance(offer, FlightOffer):
                    order = await self._flight_orders[offer.provider].order_flight(
                        offer, travellers=travellers, contact=request.contact, idempotency_key=key
                    )
                else:
                    order = await self._hotel_orders[offer.provider].order_hotel(
                        offer, travellers=travellers, contact=request.contact, idempotency_key=key
                    )
                placed.append((offer, order))
        except (ProviderError, OfferUnavailable):
            # OfferUnavailable: a vendor refusing at order time (sold out since the reprice).
            for offer, order in placed:
                await self._cancel_quietly(offer, order.order_id)
            raise
        return [order for _offer, order in placed]

    async def _cancel_quietly(self, offer: Offer, order_id: str) -> None:
        try:
            if isinstance(offer, FlightOffer):
                await self._flight_orders[offer.provider].cancel_flight_order(order_id)
            else:
                await self._hotel_orders[offer.provider].cancel_hotel_order(order_id)
        except ProviderError:
            log.exception("order %s left open after a failed booking: cancel it by hand", order_id)

    async def _record_items(
        self,
        session: AsyncSession,
        booking: Booking,
        offers: list[Offer],
        placed: list[PlacedOrder],
    ) -> None:
        for position, (offer, order) in enumerate(zip(offers, placed, strict=True)):
            item = BookingItem(
                tenant_id=booking.tenant_id,
                booking_id=booking.id,
                item_type=ItemType.FLIGHT if isinstance(offer, FlightOffer) else ItemType.HOTEL,
                position=position,
                amount=offer.total_price,
                currency=offer.currency,
            )
            if isinstance(offer, FlightOffer):
                flight = flight_row(booking.tenant_id, offer, order)
                session.add(flight)
                item.flight_booking_id = flight.id
            else:
                hotel = hotel_row(booking.tenant_id, offer, order)
                session.add(hotel)
                item.hotel_booking_id = hotel.id
            await session.flush()
            session.add(item)
        booking.provider_order_id = ",".join(order.order_id for order in placed)[:255]
        await session.flush()

    async def _move(
        self, session: AsyncSession, booking: Booking, target: BookingStatus, customer: Customer
    ) -> None:
        check_transition(booking.status, target)
        booking.status = target
        if target is BookingStatus.CONFIRMED:
            booking.confirmed_at = self._now()
        session.add(booking)
        await session.flush()
        await self._event(session, booking, target, customer)

    async def _event(
        self,
        session: AsyncSession,
        booking: Booking,
        status: BookingStatus,
        customer: Customer,
        **extra: Any,
    ) -> None:
        session.add(
            AnalyticsEvent(
                tenant_id=booking.tenant_id,
                user_id=customer.user_id,
                session_id=customer.session_id,
                event_type=EVENT_OF[status],
                properties={
                    "booking_id": str(booking.id),
                    "reference": booking.booking_reference,
                    "total_amount": str(booking.total_amount),
                    "currency": booking.currency,
                    **extra,
                },
            )
        )
        await session.flush()

    async def _record_failure(
        self,
        request: BookingRequest,
        customer: Customer,
        travellers: list[Passenger],
        reason: str,
        *,
        needs_review: bool,
    ) -> None:
        """Keep a `failed` booking (no items) for the record. It does not hold the
        idempotency key: nothing was booked, so the same confirmation may be tried again.
        `needs_review`: the provider's outcome is unknown; an operator must check it."""
        async with UnitOfWork(self._sessions, tenant_id=customer.tenant_id) as uow:
            booking = self._pending(request, customer, travellers, request.fingerprint())
            booking.idempotency_key = None
            booking.failure_reason = reason[:500]
            booking.attributes = {"needs_review": needs_review}
            uow.session.add(booking)
            await uow.session.flush()
            await self._event(uow.session, booking, BookingStatus.PENDING, customer)
            booking.status = BookingStatus.FAILED
            uow.session.add(booking)
            await uow.session.flush()
            await self._event(uow.session, booking, BookingStatus.FAILED, customer, reason=reason)
            await uow.commit()


async def _insert_unless_claimed(session: AsyncSession, booking: Booking) -> Booking | None:
    """INSERT ... ON CONFLICT (tenant_id, idempotency_key) DO NOTHING; the stored row or None."""
    values = booking.model_dump(exclude={"created_at", "updated_at"})
    table = Booking.__table__  # type: ignore[attr-defined]
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"])
        .returning(table.c.id)
    )
    inserted = (await (await session.connection()).execute(statement)).first()
    if inserted is None:
        return None
    return await session.get(Booking, inserted[0])


def flight_row(tenant_id: uuid.UUID, offer: FlightOffer, order: PlacedOrder) -> FlightBooking:
    first, last = offer.journeys[0], offer.journeys[-1]
    segments = [s for j in offer.journeys for s in j.segments]
    return FlightBooking(
        id=new_id(),
        tenant_id=tenant_id,
        offer_id=offer.id,
        provider=offer.provider,
        provider_order_id=order.order_id,
        origin=first.origin,
        destination=first.destination,
        departure_at=first.departure,
        arrival_at=last.arrival,
        carrier=offer.carriers[:100],
        flight_numbers=" ".join(s.flight_number for s in segments)[:100],
        cabin=offer.cabin,
        passengers=offer.passengers,
        segments=[j.model_dump(mode="json") for j in offer.journeys],
        fare_conditions=offer.conditions.model_dump(mode="json"),
        amount=offer.total_price,
        currency=offer.currency,
    )


def hotel_row(tenant_id: uuid.UUID, offer: HotelOffer, order: PlacedOrder) -> HotelBooking:
    return HotelBooking(
        id=new_id(),
        tenant_id=tenant_id,
        offer_id=offer.id,
        provider=offer.provider,
        provider_order_id=order.order_id,
        hotel_id=offer.hotel_id,
        hotel_name=offer.name,
        city=offer.city,
        address=offer.address,
        check_in=offer.check_in,
        check_out=offer.check_out,
        rooms=offer.rooms,
        guests=offer.guests,
        room_type=offer.room_type,
        board=offer.board,
        free_cancellation_until=offer.free_cancellation_until,
        amount=offer.total_price,
        currency=offer.currency,
    )
