"""The search cache's single flight across processes on real PostgreSQL and Redis: slow
providers hold no connection of the app's pool, one provider call per key, a dead holder
blocks no one for longer than its lease, and an expired holder cannot free the next one's lock."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import psycopg
import pytest
from redis.asyncio import Redis
from sqlalchemy import event

from db.engine import create_app_engine
from db.models import Booking
from db.unit_of_work import tenant_sessionmaker
from db.urls import libpq_url
from tests import factories
from tools.booking import BookingRequest, BookingService, Customer
from tools.cache import Cached, SearchCache
from tools.offers import FlightOffer
from tools.orders import Contact, Passenger
from tools.places import gazetteer
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders
from tools.queries import FlightFilters, FlightQuery
from tools.search import Searcher, SearchService
from tools.single_flight import RedisFlight, lock_id

pytestmark = pytest.mark.integration

Mode = Literal["redis", "no redis"]
MODES: list[Mode] = ["redis", "no redis"]
POOL_SIZE = 10  # the app's pool (Settings.db_pool_max_size's default)
PROVIDER_SECONDS = 2.0
SEARCHED_AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ORPHAN = hashlib.sha256(b"orphan").hexdigest()
TRIP = FlightQuery(origin="LHR", destination="LIS", departure_date=date(2027, 1, 15))


class SlowFlights:
    """The offline inventory behind a wait, counting the calls in flight, like a paid API."""

    name = "offline"

    def __init__(self, seconds: float, *, expected: int = 0) -> None:
        self.seconds = seconds
        self.calls = 0
        self.in_flight = 0
        self.expected = expected
        self.all_in_flight = asyncio.Event()
        self._inventory = OfflineFlights(gazetteer(), now=lambda: SEARCHED_AT)

    async def search_flights(self, query: FlightQuery) -> list[FlightOffer]:
        self.calls += 1
        self.in_flight += 1
        if self.in_flight == self.expected:
            self.all_in_flight.set()
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.in_flight -= 1
        return await self._inventory.search_flights(query)


class PeakCheckouts:
    """The most connections of a pool checked out at once while `watching`: a checkout can
    only have waited for a connection if all `pool_size` were out (there is no overflow)."""

    def __init__(self, engine: Any) -> None:
        self.peak = 0
        self.watching = False
        pool = engine.sync_engine.pool
        event.listen(pool, "checkout", lambda *_: self._seen(pool.checkedout()))

    def _seen(self, out: int) -> None:
        if self.watching:
            self.peak = max(self.peak, out)


class Process:
    """One app process's search stack: its own pools, its own in-process single flight."""

    def __init__(
        self, runtime_database: str, redis: Redis | None, *, prefix: str, lease: float = 30.0
    ) -> None:
        self.engine = create_app_engine(runtime_database, pool_size=POOL_SIZE)
        self.locks = create_app_engine(runtime_database, pool_size=4, pool_timeout=0.25)
        self.sessions = tenant_sessionmaker(self.engine)
        self.cache = SearchCache(
            sessions=self.sessions,
            redis=redis,
            locks=self.locks,
            lease=timedelta(seconds=lease),
            db_ttl=timedelta(minutes=10),
            redis_prefix=prefix,
        )

    async def close(self) -> None:
        await self.engine.dispose()
        await self.locks.dispose()


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}"


def _redis_for(mode: Mode, redis: Redis) -> Redis | None:
    return redis if mode == "redis" else None


@pytest.mark.parametrize("mode", MODES)
async def test_slow_searches_leave_the_pool_to_bookings(
    mode: Mode, runtime_database: str, redis: Redis, prefix: str, owner: Any
) -> None:
    misses = 12
    app = Process(runtime_database, _redis_for(mode, redis), prefix=prefix)
    peak = PeakCheckouts(app.engine)
    flights = SlowFlights(PROVIDER_SECONDS, expected=misses)
    search = SearchService(
        flights=flights, hotels=OfflineHotels(gazetteer(), now=lambda: SEARCHED_AT),
        cache=app.cache, gazetteer=gazetteer(), today=lambda _zone: SEARCHED_AT.date(),
        analytics=None,
    )  # fmt: skip
    desk = OfflineOrders(
        OfflineFlights(gazetteer(), now=lambda: SEARCHED_AT),
        OfflineHotels(gazetteer(), now=lambda: SEARCHED_AT),
    )
    bookings = BookingService(
        sessions=app.sessions, flight_orders={"offline": desk}, hotel_orders={"offline": desk},
        now=lambda: SEARCHED_AT + timedelta(minutes=5),
    )  # fmt: skip
    tenant = factories.tenant(owner)
    customer = Customer(tenant_id=tenant, user_id=factories.user(owner, tenant))
    searcher = Searcher(tenant_id=tenant)
    offer = (await desk._flights.search_flights(TRIP))[0].model_copy(update={"search": TRIP})

    async def book_while_searching() -> tuple[int, int, list[float]]:
        await flights.all_in_flight.wait()
        held = app.engine.pool.checkedout()  # type: ignore[attr-defined]
        peak.watching = True
        took: list[float] = []

        async def book(number: int) -> Booking:
            started = time.perf_counter()
            made = await bookings.book(_request(offer, number), customer=customer)
            took.append(time.perf_counter() - started)
            return made

        made = await asyncio.gather(*(book(n) for n in range(5)))
        peak.watching = False
        assert all(b.status.value == "confirmed" for b in made)
        return held, flights.in_flight, took

    try:
        *tiers, (held, still_in_flight, took) = await asyncio.gather(
            *(
                search.search_flights(
                    TRIP.model_copy(update={"departure_date": TRIP.departure_date + timedelta(n)}),
                    FlightFilters(),
                    searcher=searcher,
                )
                for n in range(misses)
            ),
            book_while_searching(),
        )
    finally:
        await app.close()
    assert [t.tier for t in tiers] == ["provider"] * misses
    assert flights.calls == misses
    assert held == 0  # twelve searches waiting for their provider, no connection of the pool
    assert still_in_flight == misses  # every booking was done before any search came back
    assert max(took) < PROVIDER_SECONDS / 2
    assert 0 < peak.peak < POOL_SIZE  # so no booking ever waited for a connection


@pytest.mark.parametrize("mode", MODES)
async def test_two_processes_call_the_provider_once_for_one_search(
    mode: Mode, runtime_database: str, redis: Redis, prefix: str
) -> None:
    # Two stacks (pools, in-process maps) over one database and, in "redis" mode, one Redis:
    # only the cross-process single flight stands between them and a second call.
    first, second = (
        Process(runtime_database, _redis_for(mode, redis), prefix=prefix) for _ in range(2)
    )
    flights = SlowFlights(0.3)
    try:
        found = await asyncio.gather(
            *(_ask(p.cache, "same", flights) for p in (first, second) for _ in range(10))
        )
    finally:
        await first.close()
        await second.close()
    assert flights.calls == 1
    assert {c.tier for c in found} == {"provider", "redis" if mode == "redis" else "db"}
    assert all(c.results == found[0].results for c in found)


@pytest.mark.parametrize("mode", MODES)
async def test_a_holder_that_died_does_not_block_its_search(
    mode: Mode, runtime_database: str, redis: Redis, prefix: str
) -> None:
    process = Process(runtime_database, _redis_for(mode, redis), prefix=prefix)
    flights = SlowFlights(0.0)
    started = time.perf_counter()
    try:
        if mode == "redis":
            # Another process took the lock with a 1 s lease, then died without releasing it.
            dead = RedisFlight[Cached](redis, prefix=f"{prefix}:lock", lease=timedelta(seconds=1))
            assert await dead.lock(f"flight:{ORPHAN}").acquire(blocking=False)
            found = await _ask(process.cache, "orphan", flights)
        else:
            # Another process holds the advisory lock; its connection dies after 1 s.
            async with await psycopg.AsyncConnection.connect(libpq_url(runtime_database)) as other:
                await other.execute(
                    "SELECT pg_advisory_xact_lock(%s)", (lock_id(f"flight:{ORPHAN}"),)
                )
                asking = asyncio.create_task(_ask(process.cache, "orphan", flights))
                await asyncio.sleep(1.0)
                assert not asking.done()  # it waited for the holder
            found = await asking
    finally:
        await process.close()
    assert found.tier == "provider"
    assert flights.calls == 1
    assert 0.9 < time.perf_counter() - started < 5


async def test_a_holder_past_its_lease_cannot_release_the_next_holders_lock(
    redis: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    flight = RedisFlight[str](redis, prefix=prefix, lease=timedelta(seconds=30))
    working, finish = asyncio.Event(), asyncio.Event()

    async def slow_work() -> str:
        working.set()
        await finish.wait()
        return "first"

    async def nothing() -> str | None:
        return None

    first = asyncio.create_task(flight.run("key", peek=nothing, ready=nothing, work=slow_work))
    await working.wait()
    await redis.pexpire(f"{prefix}:key", 1)  # the first holder stalled past its lease
    await asyncio.sleep(0.05)
    second = flight.lock("key")
    assert await second.acquire(blocking=False)  # the next holder, with a token of its own
    finish.set()
    with caplog.at_level(logging.WARNING, logger="tools.single_flight"):
        assert await first == "first"
    assert "no longer ours to release" in caplog.text
    assert await second.owned()  # the first holder's release left the second's lock alone
    assert not await flight.lock("key").acquire(blocking=False)
    await second.release()
    assert await redis.exists(f"{prefix}:key") == 0


async def _ask(cache: SearchCache, key: str, flights: SlowFlights) -> Cached:
    async def fetch() -> list[dict[str, Any]]:
        return [o.model_dump(mode="json") for o in await flights.search_flights(TRIP)]

    digest = hashlib.sha256(key.encode()).hexdigest()  # the table holds hashes only
    return await cache.get_or_fetch(
        "flight", digest, provider="offline", params={"key": key}, fetch=fetch
    )


def _request(offer: FlightOffer, number: int) -> BookingRequest:
    return BookingRequest(
        offers=(offer,),
        contact=Contact(name=f"Traveller {number}", email=f"t{number}@example.com"),
        travellers=(Passenger(given_name="Traveller", family_name=str(number)),),
        idempotency_key=uuid.uuid4().hex,
    )
