"""The reconciler on real PostgreSQL: bookings a dead process left half-way are settled by asking
the vendor, and the traveller's repeated confirmation gets the settled booking."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from db.engine import create_app_engine
from db.models.enums import BookingStatus
from db.unit_of_work import tenant_sessionmaker
from tests import factories
from tests.integration.agent_world import stack, traveller
from tests.integration.test_bookings import SEARCHED_AT, TRIP, World, ada, request, world
from tests.integration.test_cli import environment, run
from tools.booking import BookingService, Customer
from tools.errors import BookingError, ProviderError, ProviderUnavailable
from tools.offers import FlightOffer, HotelOffer
from tools.orders import PlacedOrder
from tools.places import gazetteer
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders
from tools.providers.offline_stock import PostgresSeatStock
from tools.queries import FlightFilters, FlightQuery
from tools.search import Searcher

pytestmark = pytest.mark.integration
__all__ = ["ada", "world"]  # the fixtures this module borrows

LEASE = timedelta(seconds=30)


class Killed(BaseException):
    """The process dying at this point: nothing after it runs, no except clause catches it."""


@pytest.fixture
async def booked(world: World) -> World:
    """`world` whose booking service has a short lease, as the reconciler's tests want."""
    desks = {"flight_orders": {"offline": world.desk}, "hotel_orders": {"offline": world.desk}}
    world.bookings = BookingService(
        sessions=world.sessions,
        now=world.clock,
        lease=LEASE,
        **desks,  # type: ignore[arg-type]
    )
    return world


def die_before_ordering_flights(world: World) -> None:
    async def killed(_offer: FlightOffer, **_details: Any) -> PlacedOrder:
        raise Killed

    world.desk.order_flight = killed  # type: ignore[method-assign]


def die_once_the_flight_is_ordered(world: World) -> None:
    ordered = world.desk.order_flight

    async def killed(offer: FlightOffer, **details: Any) -> PlacedOrder:
        await ordered(offer, **details)
        raise Killed

    world.desk.order_flight = killed  # type: ignore[method-assign]


def die_before_ordering_hotels(world: World) -> None:
    async def killed(_offer: HotelOffer, **_details: Any) -> PlacedOrder:
        raise Killed

    world.desk.order_hotel = killed  # type: ignore[method-assign]


async def crash(world: World, customer: Customer, *offers: Any, key: str) -> None:
    with pytest.raises(Killed):
        await world.bookings.book(request(*offers, key=key), customer=customer)


def vendor_slower_than_the_lease(world: World) -> None:
    """The vendor takes longer than the lease: meanwhile the reconciler finds no order and
    fails the booking; then the vendor takes the order."""
    ordered = world.desk.order_flight

    async def slow(offer: FlightOffer, **details: Any) -> PlacedOrder:
        later(world)
        assert (await world.bookings.reconciler.settle_due())[0].outcome is BookingStatus.FAILED
        return await ordered(offer, **details)

    world.desk.order_flight = slow  # type: ignore[method-assign]


def later(world: World) -> None:
    """Past the lease: the dead process's step can no longer be still under way."""
    world.clock.now += LEASE + timedelta(seconds=1)


async def held_at_vendor(world: World, flight: FlightOffer, key: str) -> str | None:
    """The id of the live flight order the vendor holds for the booking's first item."""
    found = await world.desk.find_flight_order(
        offer_id=flight.id, idempotency_key=f"{key}:0", order_id=None
    )
    return found.order_id if found else None


def statuses(owner: Any) -> list[tuple[str, str | None]]:
    return owner.execute("SELECT status, failure_reason FROM bookings").fetchall()


def settled_events(owner: Any) -> list[tuple[str, str | None]]:
    return owner.execute(
        "SELECT event_type, properties->>'settled_by' FROM analytics_events"
        " WHERE event_type <> 'booking_created' ORDER BY id"
    ).fetchall()


async def test_an_order_the_vendor_took_before_the_process_died_is_confirmed(
    booked: World, ada: Customer, owner: Any
) -> None:
    flight = await booked.flight()
    die_once_the_flight_is_ordered(booked)
    await crash(booked, ada, flight, key="crash-after-order")
    assert statuses(owner) == [("ordering", None)]

    assert await booked.bookings.reconciler.settle_due() == []  # within the lease: left alone
    later(booked)
    (settled,) = await booked.bookings.reconciler.settle_due()

    assert settled.outcome is BookingStatus.CONFIRMED
    assert statuses(owner) == [("confirmed", None)]
    (order,) = owner.execute("SELECT provider_order_id FROM flight_bookings").fetchone()
    assert await held_at_vendor(booked, flight, "crash-after-order") == order
    assert settled_events(owner) == [("booking_confirmed", "reconciler")]
    # The traveller's retry of the same confirmation gets that booking, and orders nothing.
    again = await booked.bookings.book(request(flight, key="crash-after-order"), customer=ada)
    assert again.booking_reference == settled.reference
    assert booked.desk.orders == 1


async def test_a_booking_that_died_before_its_order_left_is_failed(
    booked: World, ada: Customer, owner: Any
) -> None:
    die_before_ordering_flights(booked)
    await crash(booked, ada, await booked.flight(), key="crash-before-order")
    later(booked)

    (settled,) = await booked.bookings.reconciler.settle_due()

    assert settled.outcome is BookingStatus.FAILED
    assert statuses(owner) == [
        ("failed", "the booking was interrupted and the provider holds no order for it")
    ]
    assert settled_events(owner) == [("booking_failed", "reconciler")]


async def test_a_trip_half_ordered_is_undone_at_the_vendor(booked: World, ada: Customer) -> None:
    flight, hotel = await booked.flight(), await booked.hotel()
    die_before_ordering_hotels(booked)
    await crash(booked, ada, flight, hotel, key="crash-mid-trip")
    ordered = await held_at_vendor(booked, flight, "crash-mid-trip")
    assert ordered is not None
    later(booked)

    (settled,) = await booked.bookings.reconciler.settle_due()

    assert settled.outcome is BookingStatus.FAILED
    assert "only part of it was ordered, which was cancelled" in settled.reason
    assert booked.desk.cancelled == [ordered]  # the flight, given back
    with pytest.raises(BookingError, match="nothing was booked"):
        await booked.bookings.book(request(flight, hotel, key="crash-mid-trip"), customer=ada)


async def test_a_vendor_that_cannot_say_leaves_the_booking_to_an_operator(
    booked: World, ada: Customer, owner: Any
) -> None:
    die_once_the_flight_is_ordered(booked)
    await crash(booked, ada, await booked.flight(), key="crash-vendor-mute")

    async def mute(**_lookup: Any) -> PlacedOrder | None:
        raise ProviderError("the airline's system is down")

    booked.desk.find_flight_order = mute  # type: ignore[method-assign]
    later(booked)
    (settled,) = await booked.bookings.reconciler.settle_due()

    assert settled.outcome is BookingStatus.NEEDS_REVIEW
    assert statuses(owner)[0][0] == "needs_review"
    assert settled_events(owner) == [("booking_needs_review", "reconciler")]
    (shown,) = await booked.itineraries.list(ada)
    assert shown.status_words == "being checked by our team"


async def test_a_vendor_that_is_down_is_asked_again_on_the_next_pass(
    booked: World, ada: Customer, owner: Any
) -> None:
    die_once_the_flight_is_ordered(booked)
    await crash(booked, ada, await booked.flight(), key="crash-vendor-down")
    answering = booked.desk.find_flight_order

    async def down(**_lookup: Any) -> PlacedOrder | None:
        raise ProviderUnavailable("The flight inventory is not answering.")

    booked.desk.find_flight_order = down  # type: ignore[method-assign]
    later(booked)
    assert await booked.bookings.reconciler.settle_due() == []
    assert statuses(owner) == [("ordering", None)]  # not flagged: nothing was learnt

    booked.desk.find_flight_order = answering  # type: ignore[method-assign]
    later(booked)  # the lease the first pass took
    (settled,) = await booked.bookings.reconciler.settle_due()
    assert settled.outcome is BookingStatus.CONFIRMED


async def test_a_repeated_confirmation_settles_a_dead_booking_itself(
    booked: World, ada: Customer, owner: Any
) -> None:
    flight = await booked.flight()
    die_once_the_flight_is_ordered(booked)
    await crash(booked, ada, flight, key="crash-then-retry")
    later(booked)

    again = await booked.bookings.book(request(flight, key="crash-then-retry"), customer=ada)

    assert again.status is BookingStatus.CONFIRMED
    assert statuses(owner) == [("confirmed", None)]
    assert booked.desk.orders == 1


async def test_a_process_that_outlived_its_lease_undoes_its_late_order(
    booked: World, ada: Customer, owner: Any
) -> None:
    flight = await booked.flight()
    vendor_slower_than_the_lease(booked)
    with pytest.raises(BookingError, match="nothing was booked"):
        await booked.bookings.book(request(flight, key="slow-vendor"), customer=ada)

    assert statuses(owner)[0][0] == "failed"
    assert booked.desk.cancelled  # the late order, cancelled by the process that placed it


async def test_maintain_settles_what_a_killed_app_left_with_the_vendor(
    database: str, runtime_database: str, owner: Any
) -> None:
    """The order taken by the vendor (its books in PostgreSQL, as the app keeps them), the
    process killed before it stored the order's id; then an operator runs `maintain`."""
    engine = create_app_engine(runtime_database, pool_size=2)
    stock = PostgresSeatStock(runtime_database)
    places = gazetteer()
    vendor = OfflineOrders(
        OfflineFlights(places, now=lambda: SEARCHED_AT, stock=stock),
        OfflineHotels(places, now=lambda: SEARCHED_AT),
    )
    ordered = vendor.order_flight

    async def killed(offer: FlightOffer, **details: Any) -> PlacedOrder:
        await ordered(offer, **details)
        raise Killed

    vendor.order_flight = killed  # type: ignore[method-assign]
    bookings = BookingService(
        sessions=tenant_sessionmaker(engine),
        flight_orders={"offline": vendor},
        hotel_orders={"offline": vendor},
        now=lambda: SEARCHED_AT + timedelta(minutes=5),
    )
    tenant = factories.tenant(owner)
    customer = Customer(tenant_id=tenant, user_id=factories.user(owner, tenant))
    offer = (await vendor._flights.search_flights(TRIP))[0].model_copy(update={"search": TRIP})
    try:
        with pytest.raises(Killed):
            await bookings.book(request(offer, key="killed-then-maintained"), customer=customer)
    finally:
        await stock.aclose()
        await engine.dispose()
    (reference,) = owner.execute("SELECT booking_reference FROM bookings").fetchone()
    owner.execute("UPDATE bookings SET settle_after = now() - interval '1 second'")  # lease over

    done = run("maintain", env=environment(DATABASE_URL=database, REDIS_URL=None))

    assert done.returncode == 0, done.stderr
    assert f"settled booking {reference}: confirmed" in done.stdout
    assert owner.execute("SELECT status FROM bookings").fetchone() == ("confirmed",)
    assert owner.execute(
        "SELECT count(*) FROM analytics_events WHERE event_type = 'booking_confirmed'"
        " AND properties->>'settled_by' = 'reconciler'"
    ).fetchone() == (1,)


async def test_serve_settles_due_bookings_at_start_up_and_on_its_timer(
    database: str, runtime_database: str, owner: Any
) -> None:
    async with stack(database, runtime_database, TRAVELHUB_RECONCILE_INTERVAL=0.2) as services:
        customer = await traveller(services)
        booking = Customer(tenant_id=customer.tenant_id, user_id=customer.user_id)
        take = services.seats.take

        async def taken_then_killed(*args: Any, **kwargs: Any) -> None:
            await take(*args, **kwargs)
            raise Killed

        services.seats.take = taken_then_killed  # type: ignore[method-assign]
        flights = await services.search.search_flights(
            FlightQuery(origin="PAR", destination="ROM", departure_date=TRIP.departure_date),
            FlightFilters(),
            searcher=Searcher(tenant_id=customer.tenant_id, user_id=customer.user_id),
        )
        offer = flights.offers[0]
        with pytest.raises(Killed):
            await services.bookings.book(request(offer, key="left-by-a-dead-app"), customer=booking)
        owner.execute("UPDATE bookings SET settle_after = now() - interval '1 second'")

        services.start_background()  # as `serve` does: a first pass now, then every 0.2 s
        for _ in range(100):
            if statuses(owner) != [("ordering", None)]:
                break
            await asyncio.sleep(0.05)

    assert statuses(owner) == [("confirmed", None)]


async def test_a_booking_cut_short_between_vendor_calls_is_let_go_at_once(
    booked: World, ada: Customer
) -> None:
    async def cut_short(_offer: FlightOffer) -> FlightOffer | None:
        raise asyncio.CancelledError  # the turn's deadline, during the re-price

    booked.desk.reprice_flight = cut_short  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await booked.bookings.book(request(await booked.flight(), key="cut-short"), customer=ada)

    booked.clock.now += timedelta(seconds=6)  # not the whole lease: 5 s
    (settled,) = await booked.bookings.reconciler.settle_due()
    assert settled.outcome is BookingStatus.FAILED
    assert settled.reason == "the booking was interrupted before anything was ordered"


async def test_a_booking_cut_short_while_its_order_is_sent_keeps_its_lease(
    booked: World, ada: Customer, owner: Any
) -> None:
    async def cut_short(_offer: FlightOffer, **_details: Any) -> PlacedOrder:
        raise asyncio.CancelledError  # the vendor may still take this order

    booked.desk.order_flight = cut_short  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await booked.bookings.book(
            request(await booked.flight(), key="cut-mid-order"), customer=ada
        )

    booked.clock.now += timedelta(seconds=6)
    assert await booked.bookings.reconciler.settle_due() == []
    assert statuses(owner) == [("ordering", None)]
    later(booked)
    (settled,) = await booked.bookings.reconciler.settle_due()
    assert settled.outcome is BookingStatus.FAILED  # the vendor never took it


async def test_a_late_order_the_vendor_will_not_cancel_is_flagged_for_review(
    booked: World, ada: Customer, owner: Any
) -> None:
    flight = await booked.flight()
    vendor_slower_than_the_lease(booked)

    async def stuck(_order_id: str) -> None:
        raise ProviderError("the airline's system is down")

    booked.desk.cancel_flight_order = stuck  # type: ignore[method-assign]
    with pytest.raises(BookingError, match="it may have gone through"):
        await booked.bookings.book(request(flight, key="late-and-stuck"), customer=ada)

    ((status, reason),) = statuses(owner)
    assert status == "needs_review"
    assert "stayed open" in str(reason)
    assert settled_events(owner) == [
        ("booking_failed", "reconciler"),
        ("booking_needs_review", None),
    ]
