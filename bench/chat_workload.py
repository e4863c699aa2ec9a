"""The chat workload the write benchmarks share: conversations in two tenants, turns of
realistic messages, and `app_write`, the application's write path they measure."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from accounts.directory import Account, account_by_email
from agent.bootstrap import Services
from agent.conversation.store import OpenSession
from agent.conversation.transcript import TurnMessage
from db.models.enums import MessageRole
from db.urls import libpq_url
from tools.money import format_money

TENANTS = ("default", "bench-second")
CONVERSATIONS_PER_TRAVELLER = 4
WRITERS = 50
"""Conversations written at once by `app_write`: a busy instance's worth of live chats."""
SETUP_WRITERS = 20
MODEL = "offline-travel"
ROUTES = [("LHR", "LIS", "London", "Lisbon"), ("CDG", "BCN", "Paris", "Barcelona"),
          ("JFK", "MIA", "New York", "Miami"), ("FRA", "FCO", "Frankfurt", "Rome"),
          ("AMS", "ATH", "Amsterdam", "Athens"), ("MAD", "OPO", "Madrid", "Porto")]  # fmt: skip
CARRIERS = ["TP", "IB", "AF", "LH", "KL", "A3", "VY", "FR"]


@dataclass(frozen=True)
class Conversation:
    traveller: Account
    thread_id: uuid.UUID
    chat: OpenSession


@dataclass(frozen=True)
class Turn:
    """One turn as the agent hands it to persistence."""

    traveller: Account
    chat: OpenSession
    number: int
    """Its place in the conversation, from 0."""
    said: list[TurnMessage]
    latency_ms: float

    @property
    def first_turn(self) -> bool:
        return self.number == 0


async def app_write(services: Services, turns: Sequence[Turn], *, writers: int = WRITERS) -> None:
    """Write `turns` the way the application does: each conversation's turns in order (a
    conversation never has two turns in flight), `writers` conversations at a time.

    The one place the benchmarks call the write path (the turn store's `record`, onto the
    group-committing chat log): change it here and bench.ingest and bench.datalayer follow.
    """
    by_chat: dict[uuid.UUID, list[Turn]] = {}
    for turn in turns:
        by_chat.setdefault(turn.chat.id, []).append(turn)
    pending: Iterator[list[Turn]] = iter(list(by_chat.values()))

    async def writer() -> None:
        # A shared iterator: asyncio switches tasks only at an await, so `next` is safe.
        for conversation in pending:
            for turn in conversation:
                await services.conversations.store.record(
                    turn.traveller,
                    dataclasses.replace(turn.chat, first_turn=turn.first_turn),
                    turn.said,
                    latency_ms=turn.latency_ms,
                )

    await asyncio.gather(*(writer() for _ in range(min(writers, len(by_chat)))))


async def open_conversations(services: Services, owner: str, count: int) -> list[Conversation]:
    """`count` conversations opened through the app, split over the tenants in TENANTS."""
    with psycopg.connect(libpq_url(owner), autocommit=True) as db:
        # Tenants are an operator's to make: the runtime role may only read them.
        for slug in TENANTS:
            db.execute(
                "INSERT INTO tenants (slug, name) VALUES (%s, %s) ON CONFLICT (slug) DO NOTHING",
                (slug, f"Bench tenant {slug}"),
            )
    travellers = -(-count // CONVERSATIONS_PER_TRAVELLER)
    gate = asyncio.Semaphore(SETUP_WRITERS)
    run = uuid.uuid4().hex[:8]

    async def traveller(number: int) -> Account:
        async with gate:
            return await account_by_email(
                services.sessions,
                TENANTS[number % len(TENANTS)],
                f"bench-{run}-{number}@example.com",
                create=True,
            )

    people = await asyncio.gather(*(traveller(number) for number in range(travellers)))

    async def conversation(number: int) -> Conversation:
        person, thread = people[number % travellers], uuid.uuid4()
        async with gate:
            chat = await services.conversations.store.open(person, thread, title=f"Trip {number}")
        return Conversation(person, thread, chat)

    return list(await asyncio.gather(*(conversation(number) for number in range(count))))


def build_turns(conversations: Sequence[Conversation], per_conversation: int) -> list[Turn]:
    """`per_conversation` turns for each conversation, in order, with deterministic content."""
    chance = random.Random(11)
    return [
        Turn(
            conversation.traveller,
            conversation.chat,
            number,
            _said(chance),
            latency_ms=round(chance.uniform(400, 2500), 2),
        )
        for conversation in conversations
        for number in range(per_conversation)
    ]


def _said(chance: random.Random) -> list[TurnMessage]:
    """A search turn: the traveller asks, the model calls a tool, the tool answers with
    about 1 KB of JSON, the model replies."""
    origin, destination, origin_city, destination_city = chance.choice(ROUTES)
    day = (date(2026, 1, 1) + timedelta(days=chance.randrange(300))).isoformat()
    adults = chance.randint(1, 4)
    call_id = f"call_{uuid.UUID(int=chance.getrandbits(128)).hex[:24]}"
    args = {"origin": origin, "destination": destination, "departure_date": day,
            "adults": adults, "cabin": "economy"}  # fmt: skip
    offers = [_offer(chance, origin, destination, day, rank) for rank in range(3)]
    result = json.dumps({"kind": "flights", "tier": "db", "offers": offers})
    cheapest = min(offers, key=lambda offer: Decimal(str(offer["total_price"])))
    price = format_money(Decimal(str(cheapest["total_price"])), "EUR")
    reply = (
        f"I found {len(offers)} flights from {origin_city} to {destination_city} on {day} for"
        f" {adults} adult{'s' if adults > 1 else ''}. The cheapest is {cheapest['carrier']}"
        f" {cheapest['flight_number']} at {price}, leaving at"
        f" {str(cheapest['departure_at'])[11:16]}. Say 'book option 1' to book it, or ask me for"
        " hotels in the city."
    )
    key = uuid.UUID(int=chance.getrandbits(128))
    return [
        TurnMessage(f"lc:{key}-u", MessageRole.USER,
             f"Flights from {origin_city} to {destination_city} on {day} for {adults} adults"),
        TurnMessage(f"lc:{key}-c", MessageRole.ASSISTANT, "",
             tool_calls=[{"id": call_id, "name": "search_flights", "args": args}],
             model_name=MODEL, prompt_tokens=chance.randint(600, 900),
             completion_tokens=chance.randint(20, 40)),
        TurnMessage(f"lc:{key}-t", MessageRole.TOOL, result, tool_call_id=call_id,
             tool_name="search_flights"),
        TurnMessage(f"lc:{key}-a", MessageRole.ASSISTANT, reply, model_name=MODEL,
             prompt_tokens=chance.randint(1200, 1600), completion_tokens=chance.randint(60, 90)),
    ]  # fmt: skip


def _offer(
    chance: random.Random, origin: str, destination: str, day: str, rank: int
) -> dict[str, object]:
    carrier = chance.choice(CARRIERS)
    hour = chance.randrange(6, 21)
    return {
        "offer_id": f"off_{uuid.UUID(int=chance.getrandbits(128)).hex[:20]}",
        "provider": "offline",
        "carrier": carrier,
        "flight_number": f"{carrier}{chance.randrange(100, 9999)}",
        "origin": origin,
        "destination": destination,
        "departure_at": f"{day}T{hour:02d}:{chance.choice(['05', '25', '45'])}:00+00:00",
        "arrival_at": f"{day}T{hour + 2:02d}:{chance.choice(['10', '30', '50'])}:00+00:00",
        "stops": rank % 2,
        "cabin": "economy",
        "total_price": f"{chance.uniform(60, 400):.2f}",
        "currency": "EUR",
        "expires_at": f"{day}T00:00:00+00:00",
    }


def rounds(turns: Sequence[Turn], count: int) -> list[list[Turn]]:
    """The turns in `count` rounds, each holding every conversation's next few turns: the
    two sides of a benchmark take turns round by round, so a machine slowing down or
    speeding up mid-run weighs on both alike."""
    last = max(turn.number for turn in turns) + 1
    return [
        [turn for turn in turns if turn.number * count // last == round_] for round_ in range(count)
    ]
