"""Turns beyond TRAVELHUB_MAX_TURNS wait before they start, within their deadline."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from agent.conversation import turns
from tests.integration.agent_world import stack, traveller

pytestmark = pytest.mark.integration


def count_runs(monkeypatch: pytest.MonkeyPatch, *, hold: float, holding: int = 1_000) -> list[int]:
    """Wrap the graph run of turns: the first `holding` hold `hold` seconds more, and the
    returned list records how many runs were going on each time one started."""
    real_run = turns.run_graph
    running = [0]
    seen: list[int] = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        running[0] += 1
        seen.append(running[0])
        try:
            if len(seen) <= holding:
                await asyncio.sleep(hold)
            return await real_run(*args, **kwargs)
        finally:
            running[0] -= 1

    monkeypatch.setattr(turns, "run_graph", counted)
    return seen


async def test_turns_beyond_the_limit_wait_their_turn_and_all_are_answered(
    database: str, runtime_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with stack(database, runtime_database, TRAVELHUB_MAX_TURNS=2) as services:
        people = [await traveller(services, f"t{number}@example.com") for number in range(6)]
        seen = count_runs(monkeypatch, hold=0.2)
        results = await asyncio.gather(
            *(
                services.conversations.turn(person, "Flights from London to Lisbon in 3 weeks")
                for person in people
            )
        )
    assert [("flights London (LON) to Lisbon (LIS)" in r.reply) for r in results] == [True] * 6
    assert len(seen) == 6
    assert max(seen) == 2


async def test_waiting_to_start_counts_towards_the_deadline(
    database: str, runtime_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {"TRAVELHUB_MAX_TURNS": 1, "TURN_DEADLINE_SECONDS": 30}
    async with stack(database, runtime_database, **settings) as services:
        ada, bob = await traveller(services), await traveller(services, "bob@example.com")
        conversations = services.conversations
        count_runs(monkeypatch, hold=2.5, holding=1)  # the first is slow; the second would be quick
        first = asyncio.create_task(
            conversations.turn(ada, "Flights from London to Oslo in 3 weeks")
        )
        await asyncio.sleep(0.2)  # the first is running, with 30 s to go
        conversations.admission.deadline_seconds = 1
        started = time.perf_counter()
        second = await conversations.turn(bob, "Flights from London to Rome in 3 weeks")
        waited = time.perf_counter() - started
        assert second.reply == turns.TOO_SLOW
        assert waited < 2  # told at its own deadline, still waiting for the first
        assert "flights London (LON) to Oslo (OSL)" in (await first).reply
