"""Bookings on real PostgreSQL: exactly once, correctly priced, or a clear reason why not."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from db.engine import create_app_engine
from db.unit_of_work import tenant_sessionmaker
from tests import factories
from tools import booking_ledger
from tools.booking import BookingRequest, BookingService, Customer
from tools.cancellation import CancellationService
from tools.errors import (
    BookingError,
    BookingNotFound,
    CannotCancel,
    IdempotencyConflict,
    OfferExpired,
    OfferUnavailable,
    PriceChanged,
    ProviderError,
)
from tools.itinerary import Itineraries
from tools.offers import FlightOffer, HotelOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.places import gazetteer
from tools.providers.http import OutcomeUnknown
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders
from tools.queries import FlightQuery, HotelQuery

pytestmark = pytest.mark.integration

SEARCHED_AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TRIP = FlightQuery(origin="LHR", destination="LIS", departure_date=date(2027, 1, 15), adults=2)
STAY = HotelQuery(
    city_code="LIS", check_in=date(2027, 1, 15), check_out=date(2027, 1, 18), guests=2
)
CONTACT = Contact(name="Ada Lovelace", email="ada@example.com", phone="+441234567890")
TRAVELLERS = (
    Passenger(given_name="Ada", family_name="Lovelace"),
    Passenger(given_name="Charles", family_name="Babbage"),
)


class Clock:
    def __init__(self) -> None:
        self.now = SEARCHED_AT + timedelta(minutes=5)

    def __call__(self) -> datetime:
        return self.now


class Desk(OfflineOrders):
    """The offline order desk, with the ways a real one misbehaves on demand."""

    def __init__(self) -> None:
        super().__init__(
            OfflineFlights(gazetteer(), now=lambda: SEARCHED_AT),
            OfflineHotels(gazetteer(), now=lambda: SEARCHED_AT),
        )
        self.fail_flights = False
        self.fail_hotels = False
        self.price_drift = Decimal("0")
        self.delay = 0.0
        self.orders = 0
        self.cancelled: list[str] = []

    async def reprice_flight(self, offer: FlightOffer) -> FlightOffer | None:
        current = await super().reprice_flight(offer)
        if current is None or not self.price_drift:
            return current
        return current.model_copy(update={"total_price": current.total_price + self.price_drift})

    async def order_flight(self, offer: FlightOffer, **kwargs: Any) -> PlacedOrder:
        await asyncio.sleep(self.delay)
        if self.fail_flights:
            raise ProviderError("the airline timed out")
        self.orders += 1
        return await super().order_flight(offer, **kwargs)

    async def order_hotel(self, offer: HotelOffer, **kwargs: Any) -> PlacedOrder:
        if self.fail_hotels:
            raise ProviderError("the hotel refused the reservation")
        self.orders += 1
        return await super().order_hotel(offer, **kwargs)

    async def cancel_flight_order(self, order_id: str) -> None:
        self.cancelled.append(order_id)

    async def cancel_hotel_order(self, order_id: str) -> None:
        self.cancelled.append(order_id)


class World:
    def __init__(self, runtime_database: str) -> None:
        self.engine = create_app_engine(runtime_database, pool_size=5, max_overflow=45)
        self.sessions = tenant_sessionmaker(self.engine)
        self.desk = Desk()
        self.clock = Clock()
        desks = {"flight_orders": {"offline": self.desk}, "hotel_orders": {"offline": self.desk}}
        self.bookings = BookingService(sessions=self.sessions, now=self.clock, **desks)  # type: ignore[arg-type]
        self.cancellations = CancellationService(sessions=self.sessions, now=self.clock, **desks)  # type: ignore[arg-type]
        self.itineraries = Itineraries(self.sessions)

    async def flight(self, *, refundable: bool | None = None) -> FlightOffer:
        offers = await self.desk._flights.search_flights(TRIP)
        if refundable is not None:
            offers = [o for o in offers if o.conditions.refundable is refundable]
        return offers[0].model_copy(update={"search": TRIP})

    async def hotel(self, *, refundable: bool = True) -> HotelOffer:
        offers = await self.desk._hotels.search_hotels(STAY)
        offers = [o for o in offers if (o.free_cancellation_until is not None) is refundable]
        return offers[0].model_copy(update={"search": STAY})


@pytest.fixture
async def world(runtime_database: str) -> AsyncIterator[World]:
    built = World(runtime_database)
    yield built
    await built.engine.dispose()


@pytest.fixture
def ada(owner: Any) -> Customer:
    tenant = factories.tenant(owner)
    return Customer(
        tenant_id=tenant, user_id=factories.user(owner, tenant, email="ada@example.com")
    )


def request(*offers: FlightOffer | HotelOffer, key: str | None = None) -> BookingRequest:
    return BookingRequest(
        offers=offers,
        contact=CONTACT,
        travellers=TRAVELLERS,
        idempotency_key=key or uuid.uuid4().hex,
    )


def counts(owner: Any) -> dict[str, int]:
    tables = ("bookings", "booking_items", "flight_bookings", "hotel_bookings")
    return {t: owner.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


async def test_a_flight_is_booked_once_and_recorded_whole(
    world: World, ada: Customer, owner: Any
) -> None:
    offer = await world.flight()
    booking = await world.bookings.book(request(offer), customer=ada)

    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", booking.booking_reference)
    assert booking.status.value == "confirmed"
    assert booking.total_amount == offer.total_price
    assert counts(owner) == {
        "bookings": 1,
        "booking_items": 1,
        "flight_bookings": 1,
        "hotel_bookings": 0,
    }
    row = owner.execute(
        "SELECT contact_name, contact_email, contact_phone, travellers, confirmed_at IS NOT NULL,"
        " provider_order_id FROM bookings"
    ).fetchone()
    assert row[:3] == ("Ada Lovelace", "ada@example.com", "+441234567890")
    assert [t["family_name"] for t in row[3]] == ["Lovelace", "Babbage"]
    assert row[4] is True
    assert row[5].startswith("ord_")
    flight = owner.execute(
        "SELECT origin, destination, departure_at, passengers, amount FROM flight_bookings"
    ).fetchone()
    assert flight == ("LHR", "LIS", offer.journeys[0].departure, 2, offer.total_price)
    events = owner.execute("SELECT event_type FROM analytics_events ORDER BY id").fetchall()
    assert [e[0] for e in events] == ["booking_created", "booking_confirmed"]


async def test_a_trip_is_one_booking_with_its_items_in_time_order(
    world: World, ada: Customer, owner: Any
) -> None:
    flight, hotel = await world.flight(), await world.hotel()
    booking = await world.bookings.book(request(hotel, flight), customer=ada)
    assert booking.total_amount == flight.total_price + hotel.total_price
    assert counts(owner) == {
        "bookings": 1,
        "booking_items": 2,
        "flight_bookings": 1,
        "hotel_bookings": 1,
    }

    shown = await world.itineraries.show(booking.booking_reference.lower(), ada)
    assert [item.kind for item in shown.items] == ["flight", "hotel"]
    assert "LHR" in shown.items[0].lines[0]
    assert "(local times)" in shown.items[0].lines[0]
    assert shown.items[1].lines[0].endswith("3 night(s)")
    assert shown.total_amount == booking.total_amount


async def test_a_moved_price_is_reported_and_not_booked(
    world: World, ada: Customer, owner: Any
) -> None:
    offer = await world.flight()
    world.desk.price_drift = Decimal("12.50")
    with pytest.raises(PriceChanged) as caught:
        await world.bookings.book(request(offer), customer=ada)
    old, new = offer.total_price, offer.total_price + Decimal("12.50")
    assert caught.value.message == (
        f"The price of the flight LHR-LIS on 15 Jan moved from €{old:,} to €{new:,};"
        " I have not booked it. Shall I book it at the new price?"
    )
    # The confirmation was claimed before the vendor was asked: it stays, failed, with why.
    assert owner.execute("SELECT status, failure_reason FROM bookings").fetchall() == [
        ("failed", caught.value.message)
    ]
    assert world.desk.orders == 0


async def test_a_yen_price_is_booked_and_kept_exactly(world: World, ada: Customer) -> None:
    query = TRIP.model_copy(update={"currency": "JPY"})
    offer = (await world.desk._flights.search_flights(query))[0].model_copy(
        update={"search": query}
    )
    assert offer.total_price == offer.total_price.to_integral_value()
    assert offer.total_price.as_tuple().exponent == 0  # whole yen, not 16200.00
    booking = await world.bookings.book(request(offer), customer=ada)
    shown = await world.itineraries.show(booking.booking_reference, ada)
    assert (shown.total_amount, shown.currency) == (offer.total_price, "JPY")
    assert shown.headline().endswith(f", JP¥{offer.total_price:,}")


async def test_a_price_finer_than_a_booking_keeps_is_refused(
    world: World, ada: Customer, owner: Any
) -> None:
    # Three minor digits (BHD): stored as numeric(12,2) it would be rounded.
    offer = (await world.flight()).model_copy(
        update={"total_price": Decimal("123.455"), "currency": "BHD"}
    )
    with pytest.raises(BookingError) as caught:
        await world.bookings.book(request(offer), customer=ada)
    assert caught.value.message == (
        "Prices in BHD have more decimals than I can keep for a booking; I have not booked it."
    )
    assert counts(owner)["bookings"] == 0
    assert world.desk.orders == 0


async def test_an_expired_offer_is_not_booked(world: World, ada: Customer, owner: Any) -> None:
    offer = await world.flight()
    world.clock.now = offer.expires_at + timedelta(seconds=1)
    with pytest.raises(OfferExpired, match="expired at 09:30 UTC; I have not booked it"):
        await world.bookings.book(request(offer, key="expired-offer"), customer=ada)
    assert owner.execute("SELECT status FROM bookings").fetchall() == [("failed",)]
    assert world.desk.orders == 0
    # The same confirmation again gets the same answer, word for word.
    with pytest.raises(BookingError, match="expired at 09:30 UTC; I have not booked it"):
        await world.bookings.book(request(offer, key="expired-offer"), customer=ada)


async def test_a_withdrawn_offer_is_not_booked(world: World, ada: Customer) -> None:
    offer = (await world.flight()).model_copy(update={"id": "off_gone"})
    with pytest.raises(OfferUnavailable, match="is no longer available"):
        await world.bookings.book(request(offer), customer=ada)


async def test_the_same_key_gives_the_same_booking(world: World, ada: Customer, owner: Any) -> None:
    offer = await world.flight()
    first = await world.bookings.book(request(offer, key="confirm-123456"), customer=ada)
    again = await world.bookings.book(request(offer, key="confirm-123456"), customer=ada)
    assert again.id == first.id
    assert counts(owner)["bookings"] == 1
    assert world.desk.orders == 1


async def test_the_same_key_for_other_content_is_refused(world: World, ada: Customer) -> None:
    first = await world.bookings.book(
        request(await world.flight(), key="confirm-abcdef"), customer=ada
    )
    with pytest.raises(
        IdempotencyConflict, match=f"already used for booking {first.booking_reference}"
    ):
        await world.bookings.book(request(await world.hotel(), key="confirm-abcdef"), customer=ada)


async def test_two_concurrent_confirms_make_one_booking(
    world: World, ada: Customer, owner: Any
) -> None:
    offer = await world.flight()
    world.desk.delay = 0.2  # both are in flight at once
    first, second = await asyncio.gather(
        world.bookings.book(request(offer, key="double-click-1"), customer=ada),
        world.bookings.book(request(offer, key="double-click-1"), customer=ada),
    )
    assert first.booking_reference == second.booking_reference
    assert counts(owner)["bookings"] == 1
    assert world.desk.orders == 1


async def test_a_provider_failure_leaves_nothing_confirmed(
    world: World, ada: Customer, owner: Any
) -> None:
    flight, hotel = await world.flight(), await world.hotel()
    world.desk.fail_hotels = True
    with pytest.raises(BookingError) as caught:
        await world.bookings.book(request(flight, hotel, key="trip-key-1"), customer=ada)
    assert caught.value.message == (
        "The booking did not go through (the hotel refused the reservation); nothing was booked"
        " and nothing charged. You can safely try again."
    )
    assert owner.execute("SELECT status, failure_reason FROM bookings").fetchall() == [
        ("failed", "the hotel refused the reservation")
    ]
    # The failed booking keeps what was tried; only the flight was ordered, then cancelled.
    assert counts(owner) == {
        "bookings": 1,
        "booking_items": 2,
        "flight_bookings": 1,
        "hotel_bookings": 1,
    }
    assert len(world.desk.cancelled) == 1  # the flight ordered first was cancelled again
    events = [e[0] for e in owner.execute("SELECT event_type FROM analytics_events ORDER BY id")]
    assert events == ["booking_created", "booking_failed"]

    world.desk.fail_hotels = False
    with pytest.raises(BookingError) as again:  # the same confirmation gets the same answer
        await world.bookings.book(request(flight, hotel, key="trip-key-1"), customer=ada)
    assert again.value.message == caught.value.message
    booking = await world.bookings.book(request(flight, hotel, key="trip-key-2"), customer=ada)
    assert booking.status.value == "confirmed"  # a new confirmation goes through
    assert owner.execute("SELECT count(*) FROM bookings WHERE status = 'confirmed'").fetchone() == (
        1,
    )


async def test_others_cannot_see_or_cancel(world: World, ada: Customer, owner: Any) -> None:
    booking = await world.bookings.book(request(await world.flight()), customer=ada)
    reference = booking.booking_reference
    neighbour = Customer(tenant_id=ada.tenant_id, user_id=factories.user(owner, ada.tenant_id))
    other_tenant = factories.tenant(owner)
    stranger = Customer(
        tenant_id=other_tenant, user_id=factories.user(owner, other_tenant), is_admin=True
    )
    for outsider in (neighbour, stranger):
        with pytest.raises(BookingNotFound, match=f"I found no booking {reference} of yours."):
            await world.itineraries.show(reference, outsider)
        with pytest.raises(BookingNotFound):
            await world.cancellations.cancel(reference, outsider)
        assert await world.itineraries.list(outsider) == []
    assert owner.execute("SELECT status FROM bookings").fetchone() == ("confirmed",)
    admin = Customer(tenant_id=ada.tenant_id, user_id=neighbour.user_id, is_admin=True)
    assert (await world.itineraries.show(reference, admin)).reference == reference


async def test_cancel_applies_each_items_rules_once(
    world: World, ada: Customer, owner: Any
) -> None:
    flight, hotel = await world.flight(refundable=True), await world.hotel(refundable=True)
    booking = await world.bookings.book(request(flight, hotel), customer=ada)
    fee = flight.conditions.cancellation_fee or Decimal("0")

    cancelled = await world.cancellations.cancel(booking.booking_reference, ada)
    assert not cancelled.already_cancelled
    assert cancelled.refund == flight.total_price - fee + hotel.total_price
    assert f"refundable fare less a €{fee:,} fee" in cancelled.message()
    assert "free cancellation until" in cancelled.message()
    assert owner.execute("SELECT status, refund_amount FROM bookings").fetchone() == (
        "cancelled", cancelled.refund,
    )  # fmt: skip

    twice = await world.cancellations.cancel(booking.booking_reference, ada)
    assert twice.already_cancelled
    assert twice.message().startswith(f"Booking {booking.booking_reference} was already cancelled")
    events = [e[0] for e in owner.execute("SELECT event_type FROM analytics_events")]
    assert events.count("booking_cancelled") == 1


async def test_non_refundable_and_late_cancellations_refund_nothing(
    world: World, ada: Customer
) -> None:
    booking = await world.bookings.book(
        request(await world.flight(refundable=False), await world.hotel(refundable=False)),
        customer=ada,
    )
    cancelled = await world.cancellations.cancel(booking.booking_reference, ada)
    assert cancelled.refund == Decimal("0")
    assert "non-refundable fare" in cancelled.message()
    assert "non-refundable rate" in cancelled.message()


async def test_a_departed_flight_cannot_be_cancelled(world: World, ada: Customer) -> None:
    offer = await world.flight()
    booking = await world.bookings.book(request(offer), customer=ada)
    world.clock.now = offer.journeys[0].departure + timedelta(minutes=1)
    with pytest.raises(CannotCancel, match="has already left"):
        await world.cancellations.cancel(booking.booking_reference, ada)


async def test_bookings_are_listed_newest_first(world: World, ada: Customer) -> None:
    made = [
        (await world.bookings.book(request(offer), customer=ada)).booking_reference
        for offer in (await world.flight(), await world.hotel())
    ]
    listed = await world.itineraries.list(ada)
    assert [summary.reference for summary in listed] == made[::-1]


async def test_references_are_unique_under_many_concurrent_bookings(
    world: World, ada: Customer, owner: Any
) -> None:
    offer = await world.flight()
    made = await asyncio.gather(
        *(world.bookings.book(request(offer), customer=ada) for _ in range(40))
    )
    references = {booking.booking_reference for booking in made}
    assert len(references) == 40
    assert counts(owner)["bookings"] == 40


async def test_a_reference_collision_draws_again(
    world: World, ada: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer = await world.flight()
    first = await world.bookings.book(request(offer), customer=ada)
    drawn = iter([first.booking_reference, first.booking_reference, "QRST23"])
    monkeypatch.setattr(booking_ledger, "new_reference", lambda: next(drawn))
    second = await world.bookings.book(request(offer), customer=ada)
    assert second.booking_reference == "QRST23"


async def test_an_unknown_outcome_is_never_called_nothing(
    world: World, ada: Customer, owner: Any
) -> None:
    async def unsure(_offer: FlightOffer, **_details: Any) -> PlacedOrder:
        raise OutcomeUnknown("the airline did not answer in time", status=504, code=None)

    world.desk.order_flight = unsure  # type: ignore[method-assign]
    with pytest.raises(BookingError) as caught:
        await world.bookings.book(request(await world.flight()), customer=ada)
    assert "it may have gone through with the provider" in caught.value.message
    assert "Please do not book again yet" in caught.value.message
    assert "nothing was booked" not in caught.value.message
    assert owner.execute("SELECT status, failure_reason FROM bookings").fetchall() == [
        ("needs_review", "the airline did not answer in time")
    ]
