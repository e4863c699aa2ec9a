"""A flight provider that times out, fails (5xx), throttles (429) or talks nonsense, seen through
real agent turns against a local Duffel: retried within bounds, then one clear sentence; the
circuit opens, then closes; a provider that never answers is given up on within its budget."""

from __future__ import annotations

import asyncio

import pytest

from agent.bootstrap import Services
from tests.faults.world import Tally, one_clear_sentence, running, traveller
from tests.support.duffel_stub import DuffelStub, Mode

pytestmark = [pytest.mark.integration, pytest.mark.faults]

ANSWER = "flights London (LON) to New York (NYC)"
TIMEOUT = 0.5
COOLDOWN = 1.0
ATTEMPTS = 3  # Resilience's default
# Three attempts of TIMEOUT, and two backoffs of at most 0.5 + 0.5 and 1 + 0.5 seconds.
SLOWEST_FAILURE = ATTEMPTS * TIMEOUT + 2.5 + 1.0  # + a second of slack for a loaded machine


def duffel_settings(stub: DuffelStub, **more: object) -> dict[str, object]:
    return {
        "TRAVEL_PROVIDER": "duffel",
        "DUFFEL_ACCESS_TOKEN": "duffel_test_stub",
        "DUFFEL_BASE_URL": stub.url,
        "TRAVELHUB_PROVIDER_TIMEOUT": TIMEOUT,
        "TRAVELHUB_PROVIDER_COOLDOWN": COOLDOWN,
        **more,
    }


async def search(services: Services, tally: Tally, stub: DuffelStub) -> tuple[str, int, float]:
    """One search turn, for a date not searched before (no cache may answer): (the reply,
    requests Duffel received, seconds)."""
    ada = await traveller(services)
    before = stub.searches
    weeks = len(tally.seconds) + 2
    result, seconds = await tally.turn(
        services, ada, f"Flights from London to New York in {weeks} weeks"
    )
    return result.reply, stub.searches - before, seconds


# Mode, the sentence the traveller reads, and the requests it takes to give up.
FAULTS = [
    (Mode.DOWN, "Duffel is not answering right now; please try again in a minute.", ATTEMPTS),
    (Mode.BUSY, "Duffel is too busy right now; please try again in a minute.", ATTEMPTS),
    (Mode.BUSY_FOR_LONG, "Duffel asks us to wait; please try again in 2 minutes.", 1),
    (Mode.GARBAGE, "Duffel sent a reply I could not read; please try again in a little while.", 1),
    (Mode.SILENT, "Duffel is taking too long to answer; please try again in a minute.", ATTEMPTS),
]


async def test_each_fault_is_retried_within_bounds_then_told_and_the_circuit_breaks(
    database: str, runtime_database: str, duffel: DuffelStub
) -> None:
    tally = Tally()
    async with running(database, runtime_database, **duffel_settings(duffel)) as services:
        reply, calls, _ = await search(services, tally, duffel)
        assert ANSWER in reply, reply

        # Five failed searches in a row (the breaker's threshold), a different fault each.
        figures = []
        for mode, sentence, attempts in FAULTS:
            duffel.mode = mode
            reply, calls, seconds = await search(services, tally, duffel)
            tally.failure(reply)
            assert reply == sentence
            assert one_clear_sentence(reply)
            assert calls == attempts, mode
            assert seconds < SLOWEST_FAILURE, mode
            figures.append(f"{mode}: {calls} requests, {seconds:.2f} s")

        # The circuit is open: Duffel is not called at all, even though it is well again.
        duffel.mode = Mode.OK
        reply, calls, seconds = await search(services, tally, duffel)
        tally.failure(reply)
        assert reply == "Duffel is unavailable for the moment; please try again in a few minutes."
        assert (calls, seconds < 1.0) == (0, True)

        # After the cooldown one trial goes through; it succeeds, and the circuit closes.
        await asyncio.sleep(COOLDOWN)
        reply, calls, _ = await search(services, tally, duffel)
        assert ANSWER in reply, reply
        assert calls == 1
    print(f"Duffel faults: {'; '.join(figures)}; {tally.summary()}")


async def test_a_provider_that_never_answers_is_given_up_within_the_budget(
    database: str, runtime_database: str, duffel: DuffelStub
) -> None:
    settings = duffel_settings(duffel, TRAVELHUB_PROVIDER_TIMEOUT=30, TRAVELHUB_PROVIDER_BUDGET=1.5)
    tally = Tally()
    async with running(database, runtime_database, **settings) as services:
        duffel.mode = Mode.SILENT
        reply, calls, seconds = await search(services, tally, duffel)
    print(f"silent Duffel, 1.5 s budget: {calls} request(s), answered in {seconds:.2f} s")
    assert reply == "Duffel is taking too long to answer; please try again in a minute."
    assert seconds < 1.5 + 1.0
