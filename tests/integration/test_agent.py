"""The agent end to end on real PostgreSQL: turns, confirmations, and what lands in the tables."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from agent.bootstrap import Services
from agent.conversation.chat_sessions import NotYourConversation
from tests.integration.agent_world import stack, traveller

pytestmark = pytest.mark.integration


def rows(owner: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in owner.execute(sql, params).fetchall()]


async def test_a_search_turn_is_answered_and_recorded(services: Services, owner: Any) -> None:
    ada = await traveller(services)
    result = await services.conversations.turn(ada, "Flights from London to Lisbon in two weeks")
    assert not result.awaiting_confirmation
    assert "flights London (LON) to Lisbon (LIS)" in result.reply
    assert "book option 1" in result.reply  # the offers themselves are cards in the chat
    listed = rows(owner, "SELECT content FROM chat_messages WHERE role = 'tool'")
    assert "\n1. " in listed[0][0]  # the model reads them as numbered lines

    messages = rows(
        owner,
        "SELECT role, tool_name, tool_calls IS NOT NULL, model_name FROM chat_messages ORDER BY id",
    )
    assert [m[0] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1][2] is True
    assert messages[2][1] == "search_flights"
    assert messages[3][3] == "offline-travel-model"
    session = rows(
        owner, "SELECT thread_id::text, title, message_count, user_id FROM chat_sessions"
    )
    assert session == [
        (result.thread_id, "Flights from London to Lisbon in two weeks", 4, ada.user_id)
    ]
    await services.chat_log.flushed()  # the turn's events follow its reply
    events = sorted(e[0] for e in rows(owner, "SELECT event_type FROM analytics_events"))
    assert events == sorted(
        ["session_started", "message_sent", "tool_called", "search_performed", "turn_completed"]
    )
    (latency,) = rows(owner, "SELECT latency_ms FROM chat_messages WHERE latency_ms IS NOT NULL")[0]
    assert latency >= 0


async def test_booking_asks_first_and_yes_books(services: Services, owner: Any) -> None:
    ada = await traveller(services)
    first = await services.conversations.turn(ada, "Flights from Paris to Rome in 3 weeks")
    thread = first.thread_id
    asked = await services.conversations.turn(ada, "book the cheapest", thread_id=thread)
    assert asked.awaiting_confirmation
    assert asked.reply.startswith("Please confirm this booking for ada:")
    assert rows(owner, "SELECT count(*) FROM bookings") == [(0,)]

    done = await services.conversations.turn(ada, "yes", thread_id=thread)
    assert not done.awaiting_confirmation
    assert done.reply.startswith("Booked! Your reference is **")
    (reference, status, user) = rows(
        owner, "SELECT booking_reference, status, user_id FROM bookings"
    )[0]
    assert (status, user) == ("confirmed", ada.user_id)
    assert reference in done.reply
    stored = [r[0] for r in rows(owner, "SELECT content FROM chat_messages ORDER BY id")]
    assert asked.reply in stored  # the question the traveller saw
    assert "yes" in stored


async def test_anything_but_yes_declines(services: Services, owner: Any) -> None:
    ada = await traveller(services)
    thread = (
        await services.conversations.turn(ada, "A hotel in Lisbon for 2 nights from 12 Feb")
    ).thread_id
    asked = await services.conversations.turn(ada, "option 2", thread_id=thread)
    assert asked.awaiting_confirmation
    declined = await services.conversations.turn(ada, "hmm, no thanks", thread_id=thread)
    assert declined.reply == "The traveller declined; nothing was booked."
    assert not declined.awaiting_confirmation
    assert rows(owner, "SELECT count(*) FROM bookings") == [(0,)]


async def test_cancel_by_reference_with_confirmation(services: Services, owner: Any) -> None:
    ada = await traveller(services)
    thread = (
        await services.conversations.turn(ada, "hotel in Madrid from 10 Mar to 12 Mar")
    ).thread_id
    await services.conversations.turn(ada, "book option 1", thread_id=thread)
    await services.conversations.turn(ada, "yes", thread_id=thread)
    (reference,) = rows(owner, "SELECT booking_reference FROM bookings")[0]

    asked = await services.conversations.turn(ada, f"please cancel {reference}")
    assert asked.awaiting_confirmation
    assert f"cancel booking {reference}" in asked.reply
    done = await services.conversations.turn(ada, "yes", thread_id=asked.thread_id)
    assert done.reply.startswith(f"Booking {reference} is cancelled. Refund:")
    assert rows(owner, "SELECT status FROM bookings") == [("cancelled",)]


@pytest.mark.parametrize(
    ("message", "answer"),
    [
        (
            "flights from Lodnon to Paris tomorrow",
            "No airport matches 'lodnon'; did you mean London (LON)?",
        ),
        (
            "flights from London to Paris on 2020-01-01",
            "The departure date 01 Jan 2020 is in the past.",
        ),
        (
            "flights from London to Paris tomorrow for 12 people",
            "at most 9 travellers at once, not 12.",
        ),
        ("a hotel in Paris", "From which date would you like the hotel?"),
        ("flights to Paris tomorrow", "Where will you be flying from?"),
        ("cancel ZZZZ99", "I found no booking ZZZZ99 of yours."),
    ],
)
async def test_problems_are_one_clear_sentence(
    services: Services, message: str, answer: str
) -> None:
    ada = await traveller(services)
    result = await services.conversations.turn(ada, message)
    assert answer in result.reply
    assert "Traceback" not in result.reply


async def test_a_clarifying_question_is_answered_next_turn(services: Services) -> None:
    ada = await traveller(services)
    asked = await services.conversations.turn(ada, "flights to Barcelona in two weeks")
    assert asked.reply == "Where will you be flying from?"
    found = await services.conversations.turn(ada, "Amsterdam", thread_id=asked.thread_id)
    assert "Amsterdam (AMS) to Barcelona (BCN)" in found.reply


async def test_every_message_is_recorded_once(services: Services, owner: Any) -> None:
    ada = await traveller(services)
    first = await services.conversations.turn(ada, "Flights from Berlin to Vienna in 10 days")
    asked = await services.conversations.turn(ada, "book the cheapest", thread_id=first.thread_id)
    assert asked.awaiting_confirmation
    await services.conversations.turn(ada, "yes", thread_id=first.thread_id)
    config = {"configurable": {"thread_id": first.thread_id}}
    state = await services.conversations.graph.aget_state(config)  # type: ignore[arg-type]
    in_state = {f"lc:{m.id}" for m in state.values["messages"]}
    keys = [key for (key,) in rows(owner, "SELECT attributes->>'key' FROM chat_messages")]
    assert len(keys) == len(set(keys)), "a message was recorded twice"
    # Every message of the graph's state once, plus the question asked and its answer.
    assert {key for key in keys if key.startswith("lc:")} == in_state
    assert sorted(key.split(":")[0] for key in keys if not key.startswith("lc:")) == [
        "answer",
        "question",
    ]
    assert rows(owner, "SELECT message_count FROM chat_sessions") == [(len(keys),)]
    await services.chat_log.flushed()
    assert rows(
        owner, "SELECT count(*) FROM analytics_events WHERE event_type = 'turn_completed'"
    ) == [(3,)]


async def test_nobody_continues_another_travellers_thread(services: Services) -> None:
    ada, bob = await traveller(services), await traveller(services, "bob@example.com")
    thread = (await services.conversations.turn(ada, "hello")).thread_id
    with pytest.raises(NotYourConversation):
        await services.conversations.turn(bob, "show my bookings", thread_id=thread)


async def test_a_session_is_titled_once_by_its_first_words(services: Services, owner: Any) -> None:
    ada, bob = await traveller(services), await traveller(services, "bob@example.com")
    store, thread = services.conversations.store, uuid.uuid4()

    def title() -> list[tuple[Any, ...]]:
        return rows(owner, "SELECT title FROM chat_sessions WHERE thread_id = %s", thread)

    opened = await store.open(ada, thread, title="  ")  # as the interface opens one
    assert title() == [(None,)]
    first = await store.open(ada, thread, title="Flights to Porto in May")
    assert (first.id, title()) == (opened.id, [("Flights to Porto in May",)])
    later = await store.open(ada, thread, title="and hotels there")
    assert (later.id, title()) == (opened.id, [("Flights to Porto in May",)])
    with pytest.raises(NotYourConversation):
        await store.open(bob, thread, title="mine now")
    assert title() == [("Flights to Porto in May",)]
    assert rows(owner, "SELECT count(*) FROM chat_sessions") == [(1,)]


async def test_an_overlong_message_is_refused_politely(services: Services, owner: Any) -> None:
    ada = await traveller(services)
    result = await services.conversations.turn(ada, "x" * 5000)
    assert result.reply.startswith("That message is too long for me (5000 characters")
    assert rows(owner, "SELECT count(*) FROM chat_messages") == [(0,)]


class Killed(BaseException):
    """The process dying mid-turn: nothing after it runs, no except clause catches it."""


async def test_a_booking_cut_short_is_told_when_the_traveller_comes_back(
    database: str, runtime_database: str, owner: Any
) -> None:
    async with stack(
        database, runtime_database, TRAVELHUB_BOOKING_LEASE=1, TRAVELHUB_PROVIDER_BUDGET=0.5
    ) as services:
        ada = await traveller(services)
        thread = (
            await services.conversations.turn(ada, "Flights from Paris to Rome in 3 weeks")
        ).thread_id
        assert (
            await services.conversations.turn(ada, "book the cheapest", thread_id=thread)
        ).awaiting_confirmation
        take = services.seats.take

        async def taken_then_killed(*args: Any, **kwargs: Any) -> None:
            await take(*args, **kwargs)  # the vendor has the order...
            raise Killed  # ...and the app is gone before it knows

        services.seats.take = taken_then_killed  # type: ignore[method-assign]
        with pytest.raises(Killed):
            await services.conversations.turn(ada, "yes", thread_id=thread)
        services.seats.take = take  # type: ignore[method-assign]
        assert rows(owner, "SELECT status FROM bookings") == [("ordering",)]

        # Whatever the traveller says next, the confirmation they gave is answered: the
        # booking, settled from the vendor's books once its lease is over.
        back = await services.conversations.turn(ada, "did that go through?", thread_id=thread)

    assert back.reply.startswith("Booked! Your reference is **"), back.reply
    assert rows(owner, "SELECT status FROM bookings") == [("confirmed",)]
