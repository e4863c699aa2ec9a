"""Booking: offers claimed, re-validated and ordered, each step stored before the vendor is called.

A booking is claimed (`pending`: the idempotency key, its items, the key of each vendor order)
before anything is asked of a vendor; the offers are re-priced; `ordering` is stored before the
first order goes out; each vendor order id is stored as soon as it is known (the last one with
the outcome). Each step is a transaction of its own: no database connection is held while a
vendor answers, and a process killed at any instant leaves a booking that the reconciler
(tools/reconciler.py) settles by asking the vendors.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.ids import new_id
from db.models import Booking, FlightBooking, HotelBooking
from db.models.booking import MONEY_PLACES
from db.models.enums import BookingStatus
from ops.tracing import span
from tools.booking_ledger import BookingLedger, Held, PlannedOrder, StepLost, plan
from tools.booking_status import UNSETTLED, not_booked, outcome_unknown
from tools.cache_key import canonical_json
from tools.errors import (
    BookingError,
    IdempotencyConflict,
    OfferExpired,
    OfferUnavailable,
    PriceChanged,
    ProviderError,
)
from tools.money import format_money
from tools.offers import FlightOffer, HotelOffer, Offer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.base import FlightOrders, HotelOrders
from tools.providers.http import OutcomeUnknown
from tools.reconciler import Reconciler
from tools.vendor_orders import VendorOrders

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=45)
"""How long one step (a vendor call, with its retries) may take before the reconciler may
settle the booking: past any provider's budget (Settings.booking_lease_seconds)."""
POLL_SECONDS = 0.1
"""How often a repeated confirmation looks again at a booking still being made."""
LET_GO_AFTER = timedelta(seconds=5)
"""How soon the reconciler may settle a booking abandoned between vendor calls (its turn
cancelled, its database lost); one abandoned during an order keeps its whole lease."""


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
        lease: timedelta = LEASE,
    ) -> None:
        self._vendors = VendorOrders(flight_orders, hotel_orders)
        self._now = now
        self._ledger = BookingLedger(sessions, now=now, lease=lease)
        self.reconciler = Reconciler(self._ledger, self._vendors)

    async def claimed(self, idempotency_key: str, *, customer: Customer) -> bool:
        """Whether a booking was already claimed under this key (a confirmation given before)."""
        return await self._ledger.find(customer.tenant_id, idempotency_key) is not None

    async def book(self, request: BookingRequest, *, customer: Customer) -> Booking:
        """The confirmed booking, or BookingError with one sentence saying why not."""
        kinds = ",".join(sorted({offer.kind for offer in request.offers}))
        with span(
            "booking",
            {"travelhub.booking.items": len(request.offers), "travelhub.booking.kinds": kinds},
        ) as current:
            booking = await self._book(request, customer)
            current.set_attribute("travelhub.booking.status", str(booking.status))
            return booking

    async def _book(self, request: BookingRequest, customer: Customer) -> Booking:
        if customer.user_id is None:
            raise BookingError("A booking is made for a signed-in traveller.")
        rows = [_row(customer.tenant_id, offer) for offer in request.offers]
        claimed = await self._ledger.claim(self._pending(request, customer), rows)
        if isinstance(claimed, Booking):  # this confirmation was given before
            return await self._answer_again(claimed, request)
        plans = plan(request.idempotency_key, rows)
        offers = list(request.offers)
        return await self._order(claimed, plans, offers, travellers_of(request), request.contact)

    async def _order(
        self,
        held: Held,
        plans: list[PlannedOrder],
        offers: list[Offer],
        travellers: list[Passenger],
        contact: Contact,
    ) -> Booking:
        placed: list[tuple[PlannedOrder, PlacedOrder]] = []
        sending = False  # an order on its way: the vendor may take it whatever happens here
        try:
            current = [await self._revalidate(offer) for offer in offers]
            held = await self._ledger.begin_ordering(held)
            for order_plan, offer in zip(plans, current, strict=True):
                sending = True
                order = await self._vendors.place(offer, travellers, contact, order_plan.key)
                sending = False
                placed.append((order_plan, order))
                if len(placed) < len(plans):  # the last one's id is stored with the outcome
                    held = await self._ledger.record_order(held, order_plan, order)
            return await self._ledger.settle(
                held,
                BookingStatus.CONFIRMED,
                orders=[order.order_id for _, order in placed],
                last=placed[-1],
            )
        except StepLost:
            return await self._after_takeover(held.booking, placed)
        except OutcomeUnknown as error:
            # The order may exist: those placed before it stay for the operator to match too.
            return await self._conclude(
                held, BookingStatus.NEEDS_REVIEW, error.message, outcome_unknown(error.message),
                placed,
            )  # fmt: skip
        except (ProviderError, BookingError) as error:
            # A BookingError: the offer expired, sold out or re-priced before the order, or the
            # vendor refused it at order time (sold out since the re-price).
            if placed:
                held = await self._ledger.renew(held)  # the cancels are vendor calls too
            left = await self._vendors.cancel_all(placed)
            if left:
                why = f"{error.message.rstrip('.')}; orders {', '.join(left)} stayed open"
                told = outcome_unknown(error.message)
                return await self._conclude(held, BookingStatus.NEEDS_REVIEW, why, told, placed)
            told = error if isinstance(error, BookingError) else not_booked(error.message)
            return await self._conclude(held, BookingStatus.FAILED, error.message, told, placed)
        except (asyncio.CancelledError, Exception):
            # Cut short (the turn's deadline, the database lost, a bug): nobody is at it now.
            # An order on its way keeps the whole lease, so the vendor has time to take it.
            if not sending:
                await self._let_go(held)
            raise

    async def _let_go(self, held: Held) -> None:
        try:
            await asyncio.wait_for(self._ledger.let_go(held, after=LET_GO_AFTER), timeout=2)
        except (asyncio.CancelledError, TimeoutError, SQLAlchemyError, OSError):
            # Unreachable: the booking's lease runs out by itself.
            log.warning("booking %s left for the reconciler", held.booking.booking_reference)

    async def _conclude(
        self,
        held: Held,
        target: BookingStatus,
        why: str,
        told: BookingError,
        placed: list[tuple[PlannedOrder, PlacedOrder]],
    ) -> Booking:
        """Store a failed or doubtful outcome, with why (for an operator) and what the
        traveller is told (for a repeated confirmation), then tell it; or, if the reconciler
        took the booking meanwhile, follow its outcome."""
        try:
            await self._ledger.settle(held, target, reason=why, answer=told.message)
        except StepLost:
            return await self._after_takeover(held.booking, placed)
        raise told

    async def _after_takeover(
        self, booking: Booking, placed: list[tuple[PlannedOrder, PlacedOrder]]
    ) -> Booking:
        """The reconciler settled this booking while this process was still at it (a step past
        its lease): take its outcome, and cancel what it did not count."""
        log.warning("booking %s was settled by the reconciler mid-way", booking.booking_reference)
        settled = await self._wait_for_outcome(booking)
        if settled.status is BookingStatus.FAILED and placed:
            left = await self._vendors.cancel_all(placed)
            if left:  # an order the reconciler never saw, and the vendor will not cancel
                why = f"orders {', '.join(left)} were placed after it failed and stayed open"
                told = outcome_unknown("the provider took an order late")
                await self._ledger.flag(settled, why, answer=told.message)
                raise told
        return self._answer(settled)

    async def _answer_again(self, existing: Booking, request: BookingRequest) -> Booking:
        """What a repeated confirmation gets: the same booking, or the same refusal."""
        if existing.request_fingerprint != request.fingerprint():
            raise IdempotencyConflict(
                f"This confirmation was already used for booking {existing.booking_reference},"
                " which was a different request; nothing was changed."
            )
        return self._answer(await self._wait_for_outcome(existing))

    async def _wait_for_outcome(self, booking: Booking) -> Booking:
        """`booking` once settled: by the request making it, or (past its lease) by the
        reconciler, run here if it is due and nobody else has."""
        give_up = self._now() + 2 * self._ledger.lease
        while booking.status in UNSETTLED and self._now() < give_up:
            assert booking.settle_after is not None  # unsettled bookings always have one
            if booking.settle_after <= self._now():
                await self.reconciler.settle(booking.tenant_id, booking.id)
            else:
                await asyncio.sleep(POLL_SECONDS)
            booking = await self._ledger.get(booking.tenant_id, booking.id)
        return booking

    @staticmethod
    def _answer(booking: Booking) -> Booking:
        if booking.status is BookingStatus.CONFIRMED:
            return booking
        if booking.status is BookingStatus.CANCELLED:
            raise BookingError(
                f"This confirmation made booking {booking.booking_reference}, which has since"
                " been cancelled."
            )
        told = booking.attributes.get("answer")
        if booking.status is BookingStatus.FAILED:
            raise BookingError(told) if told else not_booked(booking.failure_reason or "refused")
        if booking.status is BookingStatus.NEEDS_REVIEW:
            raise (
                BookingError(told) if told else outcome_unknown(booking.failure_reason or "unknown")
            )
        raise BookingError(
            f"Booking {booking.booking_reference} is still being confirmed with the provider;"
            " it will show in your bookings as soon as it is."
        )

    def _pending(self, request: BookingRequest, customer: Customer) -> Booking:
        currencies = {offer.currency for offer in request.offers}
        if len(currencies) > 1:
            raise BookingError(
                "These offers are priced in different currencies; book them one at a time."
            )
        stored = Decimal(1).scaleb(-MONEY_PLACES)
        if any(offer.total_price != offer.total_price.quantize(stored) for offer in request.offers):
            # numeric(12,2) would round it: the booking would not say what was paid.
            raise BookingError(
                f"Prices in {request.offers[0].currency} have more decimals than I can keep for a"
                " booking; I have not booked it."
            )
        return Booking(
            id=new_id(),
            tenant_id=customer.tenant_id,
            user_id=customer.user_id,
            session_id=customer.session_id,
            booking_reference="",  # drawn when claimed
            status=BookingStatus.PENDING,
            total_amount=sum((offer.total_price for offer in request.offers), Decimal("0")),
            currency=currencies.pop(),
            contact_name=request.contact.name,
            contact_email=str(request.contact.email),
            contact_phone=request.contact.phone,
            travellers=[t.model_dump(mode="json") for t in travellers_of(request)],
            idempotency_key=request.idempotency_key,
            request_fingerprint=request.fingerprint(),
            provider=request.offers[0].provider,
        )

    async def _revalidate(self, offer: Offer) -> Offer:
        if not self._vendors.sells(offer):
            raise BookingError(
                f"Booking {describe(offer)} through {offer.provider} is not available yet."
            )
        if self._now() >= offer.expires_at:
            raise OfferExpired(
                f"The offer for {describe(offer)} expired at {offer.expires_at:%H:%M %Z}; I have"
                " not booked it. Search again for current prices."
            )
        current = await self._vendors.reprice(offer)
        if current is None:
            what = describe(offer)  # str.capitalize() would lower-case "LHR" and "Jan"
            raise OfferUnavailable(
                f"{what[:1].upper()}{what[1:]} is no longer available; I have not booked it."
            )
        if (current.total_price, current.currency) != (offer.total_price, offer.currency):
            old = format_money(offer.total_price, offer.currency)
            new = format_money(current.total_price, current.currency)
            raise PriceChanged(
                f"The price of {describe(offer)} moved from {old} to {new}; I have not booked"
                " it. Shall I book it at the new price?",
                old=old,
                new=new,
                current=current,
            )
        return current


def travellers_of(request: BookingRequest) -> list[Passenger]:
    """Who travels: those named, or else the contact alone."""
    return list(request.travellers) or [Passenger(given_name=request.contact.name)]


def _row(tenant_id: uuid.UUID, offer: Offer) -> FlightBooking | HotelBooking:
    if isinstance(offer, FlightOffer):
        return flight_row(tenant_id, offer)
    assert isinstance(offer, HotelOffer)
    return hotel_row(tenant_id, offer)


def flight_row(tenant_id: uuid.UUID, offer: FlightOffer) -> FlightBooking:
    """The flight as booked; its vendor order id is filled in once the vendor answers."""
    first, last = offer.journeys[0], offer.journeys[-1]
    segments = [s for j in offer.journeys for s in j.segments]
    return FlightBooking(
        id=new_id(),
        tenant_id=tenant_id,
        offer_id=offer.id,
        provider=offer.provider,
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


def hotel_row(tenant_id: uuid.UUID, offer: HotelOffer) -> HotelBooking:
    """The stay as booked; its vendor order id is filled in once the vendor answers."""
    return HotelBooking(
        id=new_id(),
        tenant_id=tenant_id,
        offer_id=offer.id,
        provider=offer.provider,
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
