"""Many at once on real PostgreSQL: the last seats of a flight, a double "yes", and `maintain`
running while travellers talk and book."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.bootstrap import Services
from agent.conversation.turns import SORRY, TurnResult
from db.engine import create_app_engine
from db.maintenance import Report, month_start, run_maintenance
from db.models import Booking
from db.unit_of_work import tenant_sessionmaker
from db.urls import libpq_url
from tests import factories
from tests.integration.agent_world import stack, traveller
from tools.booking import BookingRequest, BookingService, Customer
from tools.cancellation import CancellationService
from tools.errors import BookingError, ProviderUnavailable
from tools.offers import FlightOffer
from tools.orders import Contact, Passenger
from tools.places import gazetteer
from tools.providers.base import FlightOrders, HotelOrders
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders
from tools.providers.offline_stock import PostgresSeatStock, flight_key
from tools.queries import FlightQuery, HotelQuery

pytestmark = pytest.mark.integration

SEARCHED_AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
DAY = date(2027, 1, 15)
CAPACITY, SOLD_ELSEWHERE = 180, 172  # an A320neo with 8 seats left
SINGLES, PAIRS = 24, 6  # pairs: every fifth traveller
TRAVELLERS_AT_ONCE = 6
MAINTENANCE_RUNS = 5
MAINTENANCE_PAUSE = 0.2  # seconds between two runs; the app's default is minutes
REFUSED = re.compile(
    r"Sorry, flight \w+ LHR-LIS on 15 Jan has (just sold out|only 1 seat left, not 2);"
    r" I have not booked it\. Shall I look for another flight\?"
    r"|The flight LHR-LIS on 15 Jan is no longer available; I have not booked it\."
)


def booked_at() -> datetime:
    return SEARCHED_AT + timedelta(minutes=5)


class Desks(TypedDict):
    flight_orders: dict[str, FlightOrders]
    hotel_orders: dict[str, HotelOrders]


def desks(vendor: OfflineOrders) -> Desks:
    return {"flight_orders": {"offline": vendor}, "hotel_orders": {"offline": vendor}}


class AppProcess:
    """What one web worker holds: its own pool and its own offline vendor client, on the
    seat stock every worker shares."""

    def __init__(self, runtime_database: str) -> None:
        self.engine: AsyncEngine = create_app_engine(runtime_database, pool_size=5)
        sessions = tenant_sessionmaker(self.engine)
        places = gazetteer()
        self.stock = PostgresSeatStock(runtime_database)
        flights = OfflineFlights(places, now=lambda: SEARCHED_AT, stock=self.stock)
        self.vendor = OfflineOrders(flights, OfflineHotels(places, now=lambda: SEARCHED_AT))
        self.bookings = BookingService(sessions=sessions, now=booked_at, **desks(self.vendor))
        self.cancellations = CancellationService(
            sessions=sessions, now=booked_at, **desks(self.vendor)
        )

    async def offers(self, adults: int) -> list[FlightOffer]:
        query = FlightQuery(origin="LHR", destination="LIS", departure_date=DAY, adults=adults)
        found = await self.vendor._flights.search_flights(query)
        return [offer.model_copy(update={"search": query}) for offer in found]


@pytest.fixture
async def workers(runtime_database: str) -> AsyncIterator[tuple[AppProcess, AppProcess]]:
    built = (AppProcess(runtime_database), AppProcess(runtime_database))
    yield built
    for worker in built:
        await worker.stock.aclose()
        await worker.engine.dispose()


def first_direct(offers: list[FlightOffer]) -> FlightOffer:
    return next(offer for offer in offers if offer.stops == 0)


def key_of(offer: FlightOffer) -> str:
    return flight_key(offer.journeys[0].segments[0])


def request(offer: FlightOffer, name: str) -> BookingRequest:
    party = [Passenger(given_name=name, family_name=str(n)) for n in range(offer.passengers)]
    return BookingRequest(
        offers=(offer,),
        contact=Contact(name=name, email=f"{name}@example.com"),
        travellers=tuple(party),
        idempotency_key=uuid.uuid4().hex,
    )


def scalar(owner: Any, sql: str, *params: Any) -> Any:
    return owner.execute(sql, params).fetchone()[0]


async def test_the_last_seats_go_to_exactly_as_many_travellers_as_fit(
    workers: tuple[AppProcess, AppProcess], owner: Any
) -> None:
    single = first_direct(await workers[0].offers(adults=1))
    flight = key_of(single)
    pair = next(o for o in await workers[0].offers(adults=2) if key_of(o) == flight)
    owner.execute(
        "INSERT INTO offline_vendor.flight_seats (flight, capacity, sold) VALUES (%s, %s, %s)",
        (flight, CAPACITY, SOLD_ELSEWHERE),
    )
    tenants = [factories.tenant(owner) for _ in range(3)]
    rush = []
    for n in range(SINGLES + PAIRS):
        tenant = tenants[n % 3]
        customer = Customer(tenant_id=tenant, user_id=factories.user(owner, tenant))
        offer = pair if n % 5 == 4 else single  # a pair among every five
        # Two app processes take orders at once: only a stock they share keeps count.
        rush.append(workers[n % 2].bookings.book(request(offer, f"t{n}"), customer=customer))

    outcomes = await asyncio.gather(*rush, return_exceptions=True)

    confirmed = [o for o in outcomes if isinstance(o, Booking)]
    refused = [o for o in outcomes if isinstance(o, BookingError)]
    assert len(confirmed) + len(refused) == SINGLES + PAIRS, outcomes  # nothing else raised
    seats = sum(len(booking.travellers) for booking in confirmed)
    # More singles than seats, so singles were refused, which only a full flight justifies:
    # every seat is sold, and not one more.
    assert seats == CAPACITY - SOLD_ELSEWHERE
    assert {booking.status.value for booking in confirmed} == {"confirmed"}
    for refusal in refused:
        assert REFUSED.fullmatch(refusal.message), refusal.message

    # Nothing half-written (seen as the owner): each booking whole and settled; a traveller
    # refused at order time keeps a failed booking, with no order at the vendor behind it.
    assert scalar(owner, "SELECT count(*) FROM bookings WHERE status = 'confirmed'") == len(
        confirmed
    )
    failed = scalar(owner, "SELECT count(*) FROM bookings WHERE status = 'failed'")
    assert scalar(owner, "SELECT count(*) FROM bookings") == len(confirmed) + failed
    assert failed <= len(refused)  # the rest were refused by the reprice, before any claim
    assert scalar(
        owner,
        "SELECT count(*) FROM flight_bookings f WHERE provider_order_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM offline_vendor.flight_orders o"
        " WHERE o.order_id = f.provider_order_id AND o.cancelled_at IS NULL)",
    ) == 0  # fmt: skip
    assert scalar(
        owner, "SELECT count(*) FROM offline_vendor.flight_orders WHERE cancelled_at IS NULL"
    ) == len(confirmed)  # fmt: skip
    assert scalar(
        owner,
        "SELECT count(*) FROM bookings b WHERE (SELECT count(*) FROM booking_items i"
        " WHERE i.booking_id = b.id) <> 1",
    ) == 0  # fmt: skip
    assert scalar(
        owner,
        "SELECT count(*) FROM booking_items i LEFT JOIN flight_bookings f"
        " ON f.id = i.flight_booking_id WHERE f.id IS NULL",
    ) == 0  # fmt: skip
    assert scalar(
        owner,
        "SELECT count(*) FROM flight_bookings f WHERE NOT EXISTS"
        " (SELECT 1 FROM booking_items i WHERE i.flight_booking_id = f.id)",
    ) == 0  # fmt: skip
    assert (
        scalar(owner, "SELECT count(*) FROM analytics_events WHERE event_type = 'booking_created'")
        == len(confirmed) + failed
    )

    # The vendor's books agree with ours, seat for seat.
    booked = scalar(
        owner,
        "SELECT sum(f.passengers) FROM flight_bookings f JOIN booking_items i"
        " ON i.flight_booking_id = f.id JOIN bookings b ON b.id = i.booking_id"
        " WHERE b.status = 'confirmed'",
    )
    assert booked == seats
    assert owner.execute(
        "SELECT capacity, sold FROM offline_vendor.flight_seats WHERE flight = %s", (flight,)
    ).fetchone() == (CAPACITY, SOLD_ELSEWHERE + seats)
    orders = dict(owner.execute("SELECT order_id, seats FROM offline_vendor.flight_orders"))
    assert set(orders) == {b.provider_order_id for b in confirmed}
    assert sum(orders.values()) == seats

    # Searches tell the truth: the flight is gone for anyone, on either worker.
    for worker in workers:
        assert flight not in {key_of(o) for o in await worker.offers(adults=1)}
        assert await worker.vendor.reprice_flight(single) is None


async def test_a_cancelled_booking_puts_its_seats_back_on_sale_once(
    workers: tuple[AppProcess, AppProcess], owner: Any
) -> None:
    offer = first_direct(await workers[0].offers(adults=2))
    flight = key_of(offer)
    owner.execute(
        "INSERT INTO offline_vendor.flight_seats (flight, capacity, sold) VALUES (%s, 180, 178)",
        (flight,),
    )
    tenant = factories.tenant(owner)
    ada = Customer(tenant_id=tenant, user_id=factories.user(owner, tenant))
    confirmation = request(offer, "ada")
    booking = await workers[0].bookings.book(confirmation, customer=ada)
    assert flight not in {key_of(o) for o in await workers[1].offers(adults=1)}

    cancelled, again = await asyncio.gather(
        workers[1].cancellations.cancel(booking.booking_reference, ada),
        workers[0].cancellations.cancel(booking.booking_reference, ada),
    )
    assert sorted([cancelled.already_cancelled, again.already_cancelled]) == [False, True]
    assert (
        scalar(owner, "SELECT sold FROM offline_vendor.flight_seats WHERE flight = %s", flight)
        == 178
    )
    assert owner.execute(
        "SELECT order_id, cancelled_at IS NOT NULL FROM offline_vendor.flight_orders"
    ).fetchall() == [(booking.provider_order_id, True)]
    back = next(o for o in await workers[1].offers(adults=2) if key_of(o) == flight)
    assert back.seats_left == 2

    # The same order placed again (a retried confirmation) holds its seats anew.
    again_placed = await workers[1].vendor.order_flight(
        offer,
        travellers=list(confirmation.travellers),
        contact=confirmation.contact,
        idempotency_key=f"{confirmation.idempotency_key}:0",
    )
    assert again_placed.order_id == booking.provider_order_id
    assert owner.execute(
        "SELECT f.sold, o.cancelled_at FROM offline_vendor.flight_seats f,"
        " offline_vendor.flight_orders o WHERE f.flight = %s",
        (flight,),
    ).fetchall() == [(180, None)]


async def test_an_unreachable_seat_stock_is_one_sentence_not_a_crash() -> None:
    closed = "postgresql://travelhub_app@127.0.0.1:1/nowhere"  # nothing listens on port 1
    stock = PostgresSeatStock(closed, wait_seconds=0.5)
    flights = OfflineFlights(gazetteer(), now=lambda: SEARCHED_AT, stock=stock)
    query = FlightQuery(origin="LHR", destination="LIS", departure_date=DAY)
    try:
        with pytest.raises(ProviderUnavailable, match=r"^The flight inventory is not answering;"):
            await flights.search_flights(query)
    finally:
        await stock.aclose()


class StaleVendor(OfflineOrders):
    """A vendor whose price check reads a cache: the seats can be gone by the time of the order."""

    def __init__(self, fresh: OfflineOrders) -> None:
        super().__init__(fresh._flights, fresh._hotels)
        self.cancelled: list[str] = []

    async def reprice_flight(self, offer: FlightOffer) -> FlightOffer | None:
        return offer

    async def cancel_hotel_order(self, order_id: str) -> None:
        self.cancelled.append(order_id)


async def test_a_trip_whose_flight_sold_out_at_the_last_moment_keeps_no_order(
    workers: tuple[AppProcess, AppProcess], owner: Any
) -> None:
    flight = first_direct(await workers[0].offers(adults=1))
    stay = HotelQuery(city_code="LIS", check_in=DAY, check_out=DAY + timedelta(days=2))
    hotel = (await workers[0].vendor._hotels.search_hotels(stay))[0]
    owner.execute(
        "INSERT INTO offline_vendor.flight_seats (flight, capacity, sold) VALUES (%s, 180, 180)",
        (key_of(flight),),
    )
    vendor = StaleVendor(workers[0].vendor)
    bookings = BookingService(
        sessions=tenant_sessionmaker(workers[0].engine), now=booked_at, **desks(vendor)
    )
    tenant = factories.tenant(owner)
    ada = Customer(tenant_id=tenant, user_id=factories.user(owner, tenant))
    trip = request(flight, "ada").model_copy(
        update={"offers": (hotel.model_copy(update={"search": stay}), flight)}
    )
    with pytest.raises(BookingError) as refused:
        await bookings.book(trip, customer=ada)
    assert REFUSED.fullmatch(refused.value.message), refused.value.message
    assert len(vendor.cancelled) == 1  # the hotel, ordered first, was cancelled again
    assert scalar(owner, "SELECT status FROM bookings") == "failed"
    assert scalar(owner, "SELECT count(*) FROM offline_vendor.flight_orders") == 0


async def test_two_yeses_at_once_on_one_thread_book_once(
    database: str, runtime_database: str, owner: Any
) -> None:
    # The service-level race (one idempotency key, two confirms) is
    # test_bookings.py::test_two_concurrent_confirms_make_one_booking; this is the traveller's
    # double click, through the agent.
    async with stack(database, runtime_database) as services:
        ada = await traveller(services)
        searched = await services.conversations.turn(ada, "Flights from Paris to Rome in 3 weeks")
        thread = searched.thread_id
        asked = await services.conversations.turn(ada, "book the cheapest", thread_id=thread)
        assert asked.awaiting_confirmation
        first, second = await asyncio.gather(
            services.conversations.turn(ada, "yes", thread_id=thread),
            services.conversations.turn(ada, "yes", thread_id=thread),
        )
    assert owner.execute("SELECT status, count(*) FROM bookings GROUP BY 1").fetchall() == [
        ("confirmed", 1)
    ]
    (reference,) = owner.execute("SELECT booking_reference FROM bookings").fetchone()
    for reply in (first, second):
        assert reply.reply != SORRY
        assert reference in reply.reply


async def _three_turns(services: Services, email: str) -> list[TurnResult]:
    person = await traveller(services, email)
    said = [await services.conversations.turn(person, "Flights from Paris to Rome in 3 weeks")]
    thread = said[0].thread_id
    said.append(await services.conversations.turn(person, "book the cheapest", thread_id=thread))
    said.append(await services.conversations.turn(person, "yes", thread_id=thread))
    return said


def _maintain_repeatedly(database: str) -> list[Report]:
    """`maintain` back to back, as the app's background upkeep runs it at a far slower pace
    (`travelhub maintain` is this same call behind the command line)."""
    done: list[Report] = []
    for _ in range(MAINTENANCE_RUNS):
        time.sleep(MAINTENANCE_PAUSE)  # the first run too: travellers are mid-turn by then
        done.append(run_maintenance(database, retention_months=24, archive_grace_days=30))
    return done


async def test_maintain_runs_clean_while_travellers_talk_and_book(
    database: str, runtime_database: str, owner: Any
) -> None:
    async with stack(database, runtime_database) as services:
        # Work for maintenance under load: a deleted conversation's checkpoints, expired
        # search results, a person forgotten long enough ago to be purged.
        leaver = await traveller(services, "gone@example.com")
        asked = "Flights from London to Lisbon in two weeks"
        gone = await services.conversations.turn(leaver, asked)
        owner.execute(
            "UPDATE chat_sessions SET deleted_at = now() WHERE thread_id = %s", (gone.thread_id,)
        )
        owner.execute("UPDATE flight_search_cache SET expires_at = now() - interval '1 hour'")
        forgotten = factories.full_tenant(owner)
        owner.execute(
            "UPDATE users SET deleted_at = now() - interval '40 days' WHERE id = %s",
            (forgotten["users"],),
        )
        conversations: list[list[TurnResult]] = []
        upkeep = asyncio.create_task(asyncio.to_thread(_maintain_repeatedly, database))
        while not conversations or not upkeep.done():  # the load lasts as long as the upkeep
            conversations += await asyncio.gather(
                *(
                    _three_turns(services, f"rush{len(conversations) + n}@example.com")
                    for n in range(TRAVELLERS_AT_ONCE)
                )
            )
        runs = await upkeep

    for search, question, answer in conversations:
        assert "flights Paris (PAR) to Rome (ROM)" in search.reply, search.reply
        assert question.awaiting_confirmation, question.reply
        assert answer.reply.startswith("Booked! Your reference is **"), answer.reply
    assert owner.execute(
        "SELECT count(*) FROM bookings b JOIN users u ON u.id = b.user_id"
        " WHERE u.email LIKE 'rush%%' AND b.status = 'confirmed'"
    ).fetchone() == (len(conversations),)
    assert [report.skipped for report in runs] == [None] * MAINTENANCE_RUNS
    done = [line for report in runs for line in report.done]
    assert "delete the checkpoints of 1 deleted conversation(s)" in done
    assert "delete 1 user(s) forgotten more than 30 days ago" in done
    assert any(line.startswith("delete 1 expired rows of flight_search_cache") for line in done)
    assert owner.execute(
        "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (gone.thread_id,)
    ).fetchone() == (0,)


def _waiting_for_a_lock(owner: Any) -> bool:
    row = owner.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return bool(row[0])


def test_a_new_month_made_while_a_turn_writes_is_not_a_deadlock(database: str, owner: Any) -> None:
    """The moment that happens once a month in production, forced: maintenance makes the
    month ahead of analytics_events between a turn's chat messages and its events."""
    ids = factories.full_tenant(owner)
    owner.execute(f"DROP TABLE analytics_events_y{month_start(date.today(), 3):%Ym%m}")
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        psycopg.connect(libpq_url(database)) as turn,
    ):
        factories.chat_message(turn, ids["tenant_id"], ids["chat_sessions"])
        upkeep = pool.submit(run_maintenance, database, retention_months=24, archive_grace_days=30)
        deadline = time.monotonic() + 10
        while not _waiting_for_a_lock(owner) and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            factories.analytics_event(turn, ids["tenant_id"], ids["users"], kind="turn_completed")
            turn.commit()
        finally:
            report = upkeep.result()  # raises if maintenance was the one aborted
    assert report.skipped is None
