"""Editing a message travels back in time: the agent forgets the turns it replaced, the log
keeps them marked superseded, and a booking made in them stays booked (and is named)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from accounts.directory import Account
from agent.bootstrap import Services
from agent.conversation.turns import TurnResult
from agent.replay import replay
from tests.integration.agent_world import traveller
from tests.integration.test_cli import environment, run
from web import runtime
from web.data_layer import TravelDataLayer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("installed_services")]


def rows(owner: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in owner.execute(sql, params).fetchall()]


class Chat:
    """One chat window: each message shown with an id of its own, an edit with the same."""

    def __init__(self, services: Services, account: Account) -> None:
        self.services, self.account = services, account
        self.thread: str | None = None

    async def say(self, text: str, ui_id: str | None = None) -> tuple[TurnResult, str]:
        shown_as = ui_id or str(uuid.uuid4())
        result = await self.services.conversations.turn(
            self.account, text, thread_id=self.thread, ui_id=shown_as
        )
        self.thread = result.thread_id
        return result, shown_as


async def remembered(services: Services, thread: str) -> str:
    """Everything the agent's latest checkpoint holds, as text."""
    state = await services.conversations.graph.aget_state({"configurable": {"thread_id": thread}})
    return " ".join(
        f"{m.content} {getattr(m, 'artifact', '')} {getattr(m, 'tool_calls', '')}"
        for m in state.values["messages"]
    )


async def test_an_edit_replaces_the_turn_in_the_agents_memory(
    services: Services, owner: Any
) -> None:
    chat = Chat(services, await traveller(services))
    paris, first_id = await chat.say("Flights from London to Paris in 3 weeks")
    assert "Paris (PAR)" in paris.reply
    rome, _ = await chat.say("Flights from London to Rome in 3 weeks", first_id)
    assert "Rome (ROM)" in rome.reply
    assert "Paris" not in await remembered(services, rome.thread_id)

    asked, _ = await chat.say("book the cheapest")
    assert asked.awaiting_confirmation
    assert "FCO" in asked.reply or "CIA" in asked.reply  # a Rome airport
    assert "Paris" not in asked.reply
    assert "CDG" not in asked.reply

    # The log keeps the Paris turn, superseded; the Rome turns are the current branch.
    logged = rows(
        owner,
        "SELECT role, content, superseded_at IS NOT NULL FROM chat_messages"
        " ORDER BY created_at, id",
    )
    superseded = [content for _, content, gone in logged if gone]
    current_users = [content for role, content, gone in logged if role == "user" and not gone]
    assert superseded[0] == "Flights from London to Paris in 3 weeks"
    assert any("Paris (PAR)" in content for content in superseded)
    assert current_users == ["Flights from London to Rome in 3 weeks", "book the cheapest"]
    assert not any("Paris" in content for _, content, gone in logged if not gone)


async def test_an_edit_of_an_edit_and_of_a_middle_turn(services: Services, owner: Any) -> None:
    chat = Chat(services, await traveller(services))
    await chat.say("Flights from London to Paris in 3 weeks")
    _, second_id = await chat.say("Flights from London to Madrid in 3 weeks")
    await chat.say("Flights from London to Lisbon in 3 weeks")
    # The middle message edited: the first turn stays, the second and third are replaced.
    rome, _ = await chat.say("Flights from London to Rome in 3 weeks", second_id)
    # ... and edited again: the replacement, not the original, is what the second edit finds.
    berlin, _ = await chat.say("Flights from London to Berlin in 3 weeks", second_id)
    assert "Berlin (BER)" in berlin.reply
    memory = await remembered(services, berlin.thread_id)
    assert "Paris" in memory
    assert not any(city in memory for city in ("Madrid", "Lisbon", "Rome"))
    users = rows(
        owner,
        "SELECT content, superseded_at IS NULL FROM chat_messages WHERE role = 'user'"
        " ORDER BY created_at, id",
    )
    assert [content.split(" to ")[1][:6] for content, current in users if current] == [
        "Paris ",
        "Berlin",
    ]
    assert len(users) == 5  # nothing deleted
    assert "Rome (ROM)" in rome.reply


async def test_replay_shows_both_branches_and_a_resumed_thread_the_current_one(
    services: Services, database: str
) -> None:
    ada = await traveller(services)
    chat = Chat(services, ada)
    _, first_id = await chat.say("Flights from London to Paris in 3 weeks")
    await chat.say("Flights from London to Rome in 3 weeks", first_id)
    assert chat.thread is not None

    document = (await replay(services.conversations, ada, chat.thread)).document()
    users = [(m["content"], m["superseded_at"] is not None) for m in document["messages"]
             if m["role"] == "user"]  # fmt: skip
    assert users == [
        ("Flights from London to Paris in 3 weeks", True),
        ("Flights from London to Rome in 3 weeks", False),
    ]
    # Two branches, both from the thread's start: the Paris checkpoint and the Rome one.
    checkpoints = document["checkpoints"]
    assert len(checkpoints) == 2
    assert [c["parent_checkpoint_id"] for c in checkpoints] == [None, None]

    printed = run("replay", chat.thread, env=environment(DATABASE_URL=database, REDIS_URL=None))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("[superseded]") == 4  # the Paris turn: its four messages

    thread = await TravelDataLayer(runtime.services).get_thread(chat.thread)
    assert thread is not None
    outputs = [step["output"] for step in thread["steps"]]
    assert outputs[0] == "Flights from London to Rome in 3 weeks"
    assert not any("Paris" in output for output in outputs)


async def test_a_booking_made_in_a_replaced_turn_stays_booked_and_is_named(
    services: Services, owner: Any
) -> None:
    chat = Chat(services, await traveller(services))
    _, first_id = await chat.say("Flights from Paris to Rome in 3 weeks")
    await chat.say("book the cheapest")
    done, _ = await chat.say("yes")
    ((reference,),) = rows(owner, "SELECT booking_reference FROM bookings")
    assert reference in done.reply

    madrid, _ = await chat.say("Flights from Paris to Madrid in 3 weeks", first_id)
    assert "Madrid (MAD)" in madrid.reply
    assert madrid.reply.endswith(
        f"Your booking {reference} made earlier in this chat stays booked; cancel it if you"
        " no longer want it."
    )
    assert rows(owner, "SELECT status FROM bookings") == [("confirmed",)]
    stored = rows(owner, "SELECT content FROM chat_messages WHERE superseded_at IS NULL")
    assert any(f"Your booking {reference}" in content for (content,) in stored)

    # An edit that replaces no booking says nothing of one.
    lisbon, _ = await chat.say("Flights from Paris to Lisbon in 3 weeks", first_id)
    assert "stays booked" not in lisbon.reply


async def test_an_edited_answer_answers_the_question_again(services: Services, owner: Any) -> None:
    chat = Chat(services, await traveller(services))
    await chat.say("Flights from Paris to Rome in 3 weeks")
    await chat.say("book the cheapest")
    declined, answer_id = await chat.say("no")
    assert not declined.awaiting_confirmation
    assert "Booked!" not in declined.reply
    assert rows(owner, "SELECT count(*) FROM bookings") == [(0,)]

    confirmed, _ = await chat.say("yes", answer_id)
    assert confirmed.reply.startswith("Booked! Your reference is **")
    assert rows(owner, "SELECT status FROM bookings") == [("confirmed",)]
    assert rows(
        owner, "SELECT content FROM chat_messages WHERE role = 'user' AND superseded_at IS NOT NULL"
    ) == [("no",)]
