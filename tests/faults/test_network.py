"""A bad network between the app and its PostgreSQL and Redis: a TCP proxy on each path adds
latency, resets connections (RST) or drops them (FIN). Turns succeed when the network is only
slow; a turn caught by a broken connection says so in one sentence, and the next ones recover."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from agent.bootstrap import Services
from tests.faults.world import (
    RECOVERY_SECONDS,
    Tally,
    address,
    app_waits_on_a_lock,
    one_clear_sentence,
    running,
    table_locked,
    traveller,
    via,
)
from tests.support.proxy import FaultyLink
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@dataclass
class Network:
    postgres: FaultyLink
    redis: FaultyLink


@pytest.fixture
async def network(runtime_database: str, redis_server: RedisServer) -> AsyncIterator[Network]:
    links = Network(
        FaultyLink(address(runtime_database)), FaultyLink(("127.0.0.1", redis_server.port))
    )
    await links.postgres.start()
    await links.redis.start()
    try:
        yield links
    finally:
        await links.postgres.close()
        await links.redis.close()


@asynccontextmanager
async def app_behind(network: Network, database: str, runtime: str) -> AsyncIterator[Services]:
    """The app with every connection it makes at run time going through the proxies (the
    owner's, for migrations and upkeep, goes straight: it is not what these tests are about)."""
    redis = f"redis://127.0.0.1:{network.redis.port}/0"
    async with running(database, via(runtime, network.postgres.port), REDIS_URL=redis) as app:
        yield app


SEARCH = "Flights from London to {} in 3 weeks"


async def converse(services: Services, tally: Tally, destination: str) -> list[str]:
    """Search, choose, confirm: the replies of a booking conversation."""
    ada = await traveller(services)
    found, _ = await tally.turn(services, ada, SEARCH.format(destination))
    asked, _ = await tally.turn(services, ada, "book the cheapest", found.thread_id)
    done, _ = await tally.turn(services, ada, "yes", found.thread_id)
    return [found.reply, asked.reply, done.reply]


async def test_a_slow_network_slows_turns_but_fails_none(
    database: str, runtime_database: str, network: Network
) -> None:
    tally = Tally()
    async with app_behind(network, database, runtime_database) as services:
        ada = await traveller(services)
        quick, quick_seconds = await tally.turn(services, ada, SEARCH.format("Lisbon"))
        network.postgres.latency = network.redis.latency = 0.02
        slow = await converse(services, tally, "Madrid")
        # Redis slower than its socket timeout is Redis down: the database tier answers.
        network.redis.latency = 0.6
        slower, _ = await tally.turn(services, ada, SEARCH.format("Madrid"), quick.thread_id)
    print(
        f"20 ms per chunk both ways, then Redis at 600 ms: {tally.summary()};"
        f" {quick_seconds:.2f} s for a search at full speed"
    )
    for search in (quick.reply, slow[0], slower.reply):
        assert "flights London (LON)" in search
    assert slow[1].startswith("Please confirm this booking")
    assert slow[2].startswith("Booked! Your reference is **"), slow[2]
    assert max(tally.seconds) < RECOVERY_SECONDS


@pytest.mark.parametrize("how", ["reset", "drop"])
async def test_broken_connections_cost_the_turn_caught_in_them_only(
    database: str, runtime_database: str, network: Network, how: str
) -> None:
    tally = Tally()

    def cut() -> int:
        links = (network.postgres, network.redis)
        return sum(link.reset() if how == "reset" else link.drop() for link in links)

    async with app_behind(network, database, runtime_database) as services:
        ada = await traveller(services)
        first, _ = await tally.turn(services, ada, "Flights from London to Lisbon in 3 weeks")
        thread = first.thread_id

        cut_idle = cut()  # between turns: every pooled connection is broken, unseen
        # The proxy shares this event loop: let it put the RSTs / FINs on the wire before
        # the next turn, as the network would have delivered them between two turns.
        await asyncio.sleep(0.05)
        between, between_seconds = await tally.turn(
            services, ada, "Flights from London to Oslo in 3 weeks", thread
        )
        assert "flights London (LON) to Oslo (OSL)" in between.reply, between.reply

        async with table_locked(database, "flight_search_cache"):
            caught = asyncio.create_task(
                tally.turn(services, ada, "Flights from London to Rome in 3 weeks", thread)
            )
            await app_waits_on_a_lock(database)
            cut_busy = cut()  # while a search waits on the database
            failed, _ = await caught
        tally.failure(failed.reply)
        assert one_clear_sentence(failed.reply), failed.reply

        recovered = []
        for destination in ("Rome", "Paris", "Berlin"):
            after, seconds = await tally.turn(
                services, ada, f"Flights from London to {destination} in 4 weeks", thread
            )
            assert f"to {destination} (" in after.reply, after.reply
            recovered.append(seconds)
    print(
        f"{how}: {cut_idle} idle and {cut_busy} busy connections cut; {tally.summary()};"
        f" next turns {', '.join(f'{s:.2f}' for s in recovered)} s"
    )
    assert between_seconds < RECOVERY_SECONDS
    assert recovered[0] < RECOVERY_SECONDS
    assert len(tally.failed) == 1
