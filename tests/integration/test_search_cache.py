"""The two-tier cache on real PostgreSQL and Redis: tiers, promotion, TTL, hits, stampedes,
and Redis going away and coming back."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from db.chat_log import ChatLog
from db.engine import create_app_engine, create_checkpoint_pool
from db.unit_of_work import tenant_sessionmaker
from tests import factories
from tests.support.redis_server import RedisServer
from tools.cache import SearchCache
from tools.errors import InvalidSearch
from tools.offers import FlightOffer, HotelOffer
from tools.places import gazetteer
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.queries import FlightFilters, FlightQuery, HotelFilters, HotelQuery
from tools.search import Searcher, SearchService

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TRIP = FlightQuery(origin="LON", destination="LIS", departure_date=date(2027, 1, 15))
STAY = HotelQuery(city_code="LIS", check_in=date(2027, 1, 15), check_out=date(2027, 1, 18))


class CountingFlights:
    """The offline inventory behind a counter and a delay, like a slow paid API."""

    name = "offline"

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self._inventory = OfflineFlights(gazetteer(), now=lambda: NOW)

    async def search_flights(self, query: FlightQuery) -> list[FlightOffer]:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return await self._inventory.search_flights(query)


class CountingHotels:
    name = "offline"

    def __init__(self) -> None:
        self.calls = 0
        self._inventory = OfflineHotels(gazetteer(), now=lambda: NOW)

    async def search_hotels(self, query: HotelQuery) -> list[HotelOffer]:
        self.calls += 1
        return await self._inventory.search_hotels(query)


class World:
    """A search service over the test's database and Redis, with counting providers."""

    def __init__(self, runtime_database: str, redis: Redis | None, *, delay: float = 0.0) -> None:
        self.engine = create_app_engine(runtime_database, pool_size=5, max_overflow=60)
        self.locks = create_app_engine(runtime_database, pool_size=4, pool_timeout=0.25)
        self.sessions = tenant_sessionmaker(self.engine)
        self.flights = CountingFlights(delay)
        self.hotels = CountingHotels()
        self.cache = SearchCache(
            sessions=self.sessions,
            redis=redis,
            locks=self.locks,
            lease=timedelta(seconds=30),
            db_ttl=timedelta(minutes=10),
            redis_prefix=f"test:{uuid.uuid4().hex}",
            redis_retry_after=0.2,
        )
        # Search events go through the chat log, as in the app.
        self.pool = create_checkpoint_pool(runtime_database, min_size=0, max_size=2)
        self.chat_log = ChatLog(self.pool)
        self.search = SearchService(
            flights=self.flights,
            hotels=self.hotels,
            cache=self.cache,
            gazetteer=gazetteer(),
            today=lambda _zone: TODAY,
            analytics=self.chat_log,
        )

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.chat_log.aclose()
        await self.pool.close()
        await self.engine.dispose()
        await self.locks.dispose()


@pytest.fixture
async def world(runtime_database: str, redis: Redis) -> AsyncIterator[World]:
    built = World(runtime_database, redis)
    await built.open()
    yield built
    await built.close()


@pytest.fixture
def searcher(owner: Any) -> Searcher:
    tenant = factories.tenant(owner)
    return Searcher(tenant_id=tenant, user_id=factories.user(owner, tenant))


async def _flights(world: World, searcher: Searcher, query: FlightQuery = TRIP) -> str:
    return (await world.search.search_flights(query, FlightFilters(), searcher=searcher)).tier


async def test_tiers_in_order_and_promotion(world: World, searcher: Searcher, redis: Redis) -> None:
    assert await _flights(world, searcher) == "provider"
    assert await _flights(world, searcher) == "redis"
    await redis.flushdb()
    assert await _flights(world, searcher) == "db"  # and promoted again
    assert await _flights(world, searcher) == "redis"
    assert world.flights.calls == 1


async def test_respelled_search_hits_the_cache(world: World, searcher: Searcher) -> None:
    await _flights(world, searcher)
    respelled = FlightQuery.model_validate(
        {"departure_date": "2027-01-15", "destination": "lis", "origin": " lon", "adults": 1}
    )
    assert await _flights(world, searcher, respelled) == "redis"
    assert world.flights.calls == 1


async def test_hits_are_counted_in_one_write(
    world: World, searcher: Searcher, owner: Any, redis: Redis
) -> None:
    await _flights(world, searcher)
    await _flights(world, searcher)  # redis
    await redis.flushdb()
    await _flights(world, searcher)  # db
    assert owner.execute("SELECT hit_count FROM flight_search_cache").fetchone() == (0,)
    assert await world.cache.hits.flush(world.sessions) == 2
    hits, last = owner.execute("SELECT hit_count, last_hit_at FROM flight_search_cache").fetchone()
    assert hits == 2
    assert last is not None


async def test_expired_rows_are_not_served(
    world: World, searcher: Searcher, owner: Any, redis: Redis
) -> None:
    await _flights(world, searcher)
    await redis.flushdb()
    owner.execute("UPDATE flight_search_cache SET expires_at = now() - interval '1 second'")
    assert await _flights(world, searcher) == "provider"
    assert world.flights.calls == 2
    (expires,) = owner.execute("SELECT expires_at FROM flight_search_cache").fetchone()
    assert expires > datetime.now(UTC) + timedelta(minutes=9)


async def test_fifty_identical_searches_call_the_provider_once(
    runtime_database: str, redis: Redis, searcher: Searcher
) -> None:
    world = World(runtime_database, redis, delay=0.3)
    await world.open()
    try:
        tiers = await asyncio.gather(*(_flights(world, searcher) for _ in range(50)))
    finally:
        await world.close()
    assert world.flights.calls == 1
    assert tiers.count("provider") == 50  # they all waited for the one call


async def test_redis_stopping_and_coming_back(
    runtime_database: str, searcher: Searcher, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer()
    server.start()
    client = Redis.from_url(server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    world = World(runtime_database, client)
    await world.open()
    try:
        assert await _flights(world, searcher) == "provider"
        assert await _flights(world, searcher) == "redis"
        server.stop()
        with caplog.at_level(logging.WARNING, logger="tools.cache"):
            tiers = [await _flights(world, searcher) for _ in range(5)]
        assert tiers == ["db"] * 5
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "Redis unavailable" in warnings[0].getMessage()
        server.start()  # empty, on the same port
        await asyncio.sleep(0.3)
        assert await _flights(world, searcher) == "db"  # promoted into the new Redis
        assert await _flights(world, searcher) == "redis"
        assert world.flights.calls == 1
    finally:
        await world.close()
        await client.aclose()
        server.stop()


async def test_every_search_is_an_analytics_event(
    world: World, searcher: Searcher, owner: Any
) -> None:
    await _flights(world, searcher)
    await _flights(world, searcher)
    results = await world.search.search_hotels(STAY, HotelFilters(), searcher=searcher)
    await world.chat_log.aclose()  # written after the reply: all of it by now
    rows = owner.execute(
        "SELECT tenant_id, user_id, properties FROM analytics_events"
        " WHERE event_type = 'search_performed' ORDER BY created_at, id"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(searcher.tenant_id, searcher.user_id)] * 3
    assert [r[2]["tier"] for r in rows] == ["provider", "redis", "provider"]
    assert [r[2]["kind"] for r in rows] == ["flight", "flight", "hotel"]
    assert rows[2][2]["result_count"] == len(results.offers)
    assert all(r[2]["latency_ms"] > 0 for r in rows)


async def test_filters_and_sorting_do_not_change_the_key(world: World, searcher: Searcher) -> None:
    cheapest = await world.search.search_flights(TRIP, FlightFilters(), searcher=searcher)
    direct = await world.search.search_flights(
        TRIP, FlightFilters(nonstop=True, sort="duration"), searcher=searcher
    )
    assert world.flights.calls == 1
    assert direct.tier == "redis"
    prices = [o.total_price for o in cheapest.offers]
    assert prices == sorted(prices)
    assert all(o.stops == 0 for o in direct.offers)
    durations = [o.duration_minutes for o in direct.offers]
    assert durations == sorted(durations)


async def test_flexible_dates_give_the_cheapest_per_day(world: World, searcher: Searcher) -> None:
    results = await world.search.search_flights(TRIP, FlightFilters(flex_days=2), searcher=searcher)
    days = [o.journeys[0].departure.date() for o in results.offers]
    assert days == [TRIP.departure_date + timedelta(days=d) for d in range(-2, 3)]
    assert world.flights.calls == 5


async def test_past_dates_are_refused(world: World, searcher: Searcher) -> None:
    past = TRIP.model_copy(update={"departure_date": date(2026, 11, 27)})
    with pytest.raises(InvalidSearch, match="27 Nov 2026 is in the past"):
        await world.search.search_flights(past, FlightFilters(), searcher=searcher)
    stale = STAY.model_copy(update={"check_in": date(2026, 11, 1)})
    with pytest.raises(InvalidSearch, match="check-in date 01 Nov 2026 is in the past"):
        await world.search.search_hotels(stale, HotelFilters(), searcher=searcher)
    assert world.flights.calls == 0
