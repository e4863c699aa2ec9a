"""Search cache: per-tier latency against a provider that takes 300 ms, and a stampede."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent.bootstrap import SEARCH_LOCK_CONNECTIONS, SEARCH_LOCK_WAIT_SECONDS
from agent.settings import Settings
from bench.common import scratch_database, summary, write_results
from db.engine import create_app_engine
from db.unit_of_work import resolve_tenant, tenant_sessionmaker
from tools.cache import SearchCache
from tools.offers import FlightOffer, HotelOffer
from tools.places import gazetteer
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.queries import FlightFilters, FlightQuery, HotelQuery
from tools.search import Searcher, SearchService
from tools.single_flight import lease_for

PROVIDER_SECONDS = 0.3
LEASE = lease_for(Settings.model_fields["provider_budget_seconds"].default)
NOW = datetime.now(UTC)


class SlowFlights:
    """The offline inventory behind a 300 ms wait and a call counter: a paid API's shape."""

    name = "offline"

    def __init__(self) -> None:
        self.calls = 0
        self._inventory = OfflineFlights(gazetteer(), now=lambda: NOW)

    async def search_flights(self, query: FlightQuery) -> list[FlightOffer]:
        self.calls += 1
        await asyncio.sleep(PROVIDER_SECONDS)
        return await self._inventory.search_flights(query)


class Hotels:
    name = "offline"

    def __init__(self) -> None:
        self._inventory = OfflineHotels(gazetteer(), now=lambda: NOW)

    async def search_hotels(self, query: HotelQuery) -> list[HotelOffer]:
        return await self._inventory.search_hotels(query)


def _query(number: int) -> FlightQuery:
    return FlightQuery(
        origin="LON", destination="LIS", departure_date=date.today() + timedelta(days=30 + number)
    )


async def _timed(
    service: SearchService, query: FlightQuery, searcher: Searcher
) -> tuple[str, float]:
    started = time.perf_counter()
    result = await service.search_flights(query, FlightFilters(), searcher=searcher)
    return result.tier, (time.perf_counter() - started) * 1000


async def run(searches: int, stampede: int) -> dict[str, Any]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    with scratch_database() as (_owner, runtime):
        engine = create_app_engine(runtime, pool_size=10)
        locks = create_app_engine(
            runtime, pool_size=SEARCH_LOCK_CONNECTIONS, pool_timeout=SEARCH_LOCK_WAIT_SECONDS
        )
        sessions = tenant_sessionmaker(engine)
        client = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        redis: Redis | None = client
        try:
            await client.ping()
        except RedisError:
            print(f"Redis not reachable at {redis_url}: the redis tier is not measured")
            await client.aclose()
            redis = None
        flights = SlowFlights()
        cache = SearchCache(
            sessions=sessions,
            redis=redis,
            locks=locks,
            lease=LEASE,
            db_ttl=timedelta(minutes=10),
            redis_prefix=f"bench:{uuid.uuid4().hex}",
        )
        service = SearchService(
            flights=flights, hotels=Hotels(), cache=cache, gazetteer=gazetteer(),
            today=lambda _zone: date.today(), analytics=None,
        )  # fmt: skip
        searcher = Searcher(tenant_id=await resolve_tenant(sessions, "default"))
        tiers: dict[str, list[float]] = {"provider": [], "db": [], "redis": []}
        for number in range(searches):
            tier, ms = await _timed(service, _query(number), searcher)
            tiers[tier].append(ms)
        if redis is not None:
            for number in range(searches):
                tier, ms = await _timed(service, _query(number), searcher)
                tiers[tier].append(ms)
        # The database tier alone: a fresh cache object with no Redis in front.
        db_only = SearchService(
            flights=flights, hotels=Hotels(), gazetteer=gazetteer(),
            cache=SearchCache(
                sessions=sessions, redis=None, locks=locks, lease=LEASE,
                db_ttl=timedelta(minutes=10),
            ),
            today=lambda _zone: date.today(), analytics=None,
        )  # fmt: skip
        for number in range(searches):
            tier, ms = await _timed(db_only, _query(number), searcher)
            tiers[tier].append(ms)
        calls_before = flights.calls
        stampede_query = _query(searches + 1)
        await asyncio.gather(*(_timed(service, stampede_query, searcher) for _ in range(stampede)))
        stampede_calls = flights.calls - calls_before
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
        await locks.dispose()
    figures = {tier: summary(samples) for tier, samples in tiers.items() if samples}
    provider_p50 = figures["provider"]["p50_ms"]
    for tier, figure in figures.items():
        ratio = figure["p50_ms"] / provider_p50
        print(
            f"cache {tier:>8}: p50 {figure['p50_ms']:8.2f} ms  p99 {figure['p99_ms']:8.2f} ms"
            f"  ratio to provider {ratio:.4f}  (n={figure['n']})"
        )
    print(f"cache stampede: {stampede} identical searches -> {stampede_calls} provider call(s)")
    return {"cache_tiers": figures, "stampede_provider_calls": stampede_calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    args = parser.parse_args()
    searches, stampede = (10, 100) if args.quick else (50, 100)
    figures = asyncio.run(run(searches, stampede))
    write_results(figures, {"cache_searches": searches, "cache_stampede": stampede})


if __name__ == "__main__":
    main()
