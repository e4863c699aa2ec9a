"""Redis stopped mid-conversation, then started again: no turn fails (the database tier of the
search cache serves), and the hot tier comes back by itself."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.world import Tally, rows, running, traveller
from tests.support.redis_server import RedisServer
from tools.cache import REDIS_RETRY_AFTER

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SEARCH = "Flights from London to Lisbon in 3 weeks"
ANSWER = "flights London (LON) to Lisbon (LIS)"


async def tiers(owner: str) -> list[str]:
    """The cache tier that answered each search, in order."""
    found = await rows(
        owner,
        "SELECT properties->>'tier' FROM analytics_events"
        " WHERE event_type = 'search_performed' ORDER BY id",
    )
    return [tier for (tier,) in found]


async def test_redis_going_away_and_coming_back_costs_no_turn(
    database: str, runtime_database: str, redis_server: RedisServer
) -> None:
    tally = Tally()
    async with running(database, runtime_database, REDIS_URL=redis_server.url) as services:
        ada = await traveller(services)

        async def search(thread: str | None = None) -> str:
            result, _ = await tally.turn(services, ada, SEARCH, thread)
            if ANSWER not in result.reply:
                tally.failure(result.reply)
            return result.thread_id

        thread = await search()
        await search(thread)
        assert await tiers(database) == ["provider", "redis"]

        redis_server.stop()
        for _ in range(5):
            await search(thread)
        assert (await tiers(database))[2:] == ["db"] * 5

        redis_server.start()  # empty, on the same port
        stopped_at = time.perf_counter()
        while (await tiers(database))[-1] != "redis":
            assert time.perf_counter() - stopped_at < 3 * REDIS_RETRY_AFTER, "no hot tier"
            await asyncio.sleep(0.5)
            await search(thread)
        resumed = time.perf_counter() - stopped_at
    print(
        f"Redis stopped for 5 turns, restarted: {tally.summary()}; hot again after {resumed:.1f} s"
    )
    assert tally.failed == []
