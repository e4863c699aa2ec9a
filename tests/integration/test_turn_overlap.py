"""A turn on a conversation this process answered last (or on a new one) starts its run while
the database confirms the session: nothing is done, heard or stored before it has, and a run
begun from a conversation that moved on is void and started again from the database."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

import agent.turns
from agent.accounts import Traveller
from agent.bootstrap import Services
from agent.offline.model import OfflineTravelModel
from agent.persistence import NotYourConversation, OpenSession
from tests.integration.agent_world import stack, traveller
from tools.search import SearchService

pytestmark = pytest.mark.integration


@pytest.fixture
async def services(database: str, runtime_database: str) -> AsyncIterator[Services]:
    async with stack(database, runtime_database) as built:
        yield built


class Heard:
    """A listener (as the chat interface is): what it heard, in order."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.tools: list[str] = []

    async def token(self, text: str) -> None:
        self.tokens.append(text)

    async def tool_started(self, name: str, arguments: dict[str, Any]) -> None:
        del arguments
        self.tools.append(name)

    async def tool_finished(self, name: str, content: str, artifact: Any) -> None:
        del name, content, artifact


@pytest.fixture
def moments(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[float]]:
    """When the session was confirmed (the database answered, 0.3 s late), when the model
    was asked, and when a flight search ran."""
    seen: dict[str, list[float]] = {"confirmed": [], "model": [], "search": []}
    open_session = agent.turns.open_session
    ask = OfflineTravelModel._agenerate
    search = SearchService.search_flights

    async def slow_open(*args: Any, **kwargs: Any) -> OpenSession:
        await asyncio.sleep(0.3)
        try:
            return await open_session(*args, **kwargs)
        finally:
            seen["confirmed"].append(time.monotonic())

    async def asked(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen["model"].append(time.monotonic())
        return await ask(self, *args, **kwargs)

    async def searched(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen["search"].append(time.monotonic())
        return await search(self, *args, **kwargs)

    monkeypatch.setattr(agent.turns, "open_session", slow_open)
    monkeypatch.setattr(OfflineTravelModel, "_agenerate", asked)
    monkeypatch.setattr(SearchService, "search_flights", searched)
    return seen


async def settled(*stacks: Services) -> None:
    """Everything the turns left running has finished: checkpoint writes, analytics, and
    any run nobody closed (which would write its checkpoint when collected)."""
    gc.collect()
    await asyncio.sleep(0.1)  # a collected generator's closing runs as a task of its own
    for services in stacks:
        await asyncio.gather(*services.checkpointer._background, return_exceptions=True)
        await services.chat_log.flushed()


def stored_checkpoints(owner: Any, thread: str) -> int:
    query = "SELECT count(*) FROM checkpoints WHERE thread_id = %s"
    return int(owner.execute(query, (thread,)).fetchone()[0])


def orphan_writes(owner: Any) -> int:
    query = (
        "SELECT count(*) FROM checkpoint_writes w WHERE NOT EXISTS (SELECT 1 FROM checkpoints c"
        " WHERE c.thread_id = w.thread_id AND c.checkpoint_id = w.checkpoint_id)"
    )
    return int(owner.execute(query).fetchone()[0])


def searches(owner: Any) -> int:
    query = "SELECT count(*) FROM analytics_events WHERE event_type = 'search_performed'"
    return int(owner.execute(query).fetchone()[0])


async def test_the_model_is_asked_while_the_session_is_confirmed_and_no_tool_runs_before(
    services: Services, moments: dict[str, list[float]]
) -> None:
    ada = await traveller(services)
    talk = services.conversations
    first = await talk.turn(ada, "Flights from Paris to Rome in 3 weeks")  # a new thread
    second = await talk.turn(
        ada, "Flights from Paris to Oslo in 3 weeks", thread_id=first.thread_id
    )
    assert "Oslo" in second.reply
    # Both turns: the model was asked before the database confirmed the session; the
    # search it asked for ran only after.
    for turn in range(2):
        confirmed = moments["confirmed"][turn]
        assert moments["model"][2 * turn] < confirmed <= moments["search"][turn]


@asynccontextmanager
async def moved_on_elsewhere(
    database: str, runtime_database: str, said_elsewhere: str
) -> AsyncIterator[tuple[Services, Services, Traveller, str]]:
    """A thread this process ("here") answered, then another process answered its next turn
    (`said_elsewhere`): this process's idea of the thread is stale."""
    async with (
        stack(database, runtime_database) as here,
        stack(database, runtime_database) as elsewhere,
    ):
        ada = await traveller(here)
        said = "Flights from Paris to Rome in 3 weeks"
        thread = (await here.conversations.turn(ada, said)).thread_id
        await elsewhere.conversations.turn(ada, said_elsewhere, thread_id=thread)
        yield here, elsewhere, ada, thread


async def test_a_conversation_moved_on_elsewhere_is_answered_from_the_database(
    database: str, runtime_database: str, owner: Any
) -> None:
    async with moved_on_elsewhere(database, runtime_database, "book the cheapest") as (
        here,
        elsewhere,
        ada,
        thread,
    ):
        heard = Heard()
        done = await here.conversations.turn(ada, "yes", thread_id=thread, listener=heard)
        # Answered as the database has it (a question was pending: "yes" books), and the run
        # begun from this process's stale copy left no trace: one search (the first turn's),
        # nothing heard of it, and the stored messages are the real run's only.
        assert done.reply.startswith("Booked! Your reference is **")
        await settled(here, elsewhere)
        assert searches(owner) == 1
        assert stored_checkpoints(owner, thread) == 3
        assert orphan_writes(owner) == 0
        # The copy this process keeps is the real run's: the next turn starts from it.
        latest = owner.execute(
            "SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = %s", (thread,)
        ).fetchone()[0]
        assert here.checkpointer.remembers(thread, latest)
        assert heard.tools == []
        assert "".join(heard.tokens) == done.reply
        (count, stored) = owner.execute(
            "SELECT s.message_count, count(m.id) FROM chat_sessions s"
            " JOIN chat_messages m ON m.session_id = s.id WHERE s.thread_id = %s"
            " GROUP BY s.message_count",
            (thread,),
        ).fetchone()
        assert count == stored
        keys = [
            row[0]
            for row in owner.execute(
                "SELECT attributes->>'key' FROM chat_messages WHERE content = 'yes'"
            )
        ]
        assert len(keys) == 1
        assert keys[0].startswith("answer:")


async def test_a_search_is_not_run_on_a_conversation_moved_on_elsewhere(
    database: str, runtime_database: str, owner: Any
) -> None:
    said_elsewhere = "Flights from Paris to Oslo in 3 weeks"
    async with moved_on_elsewhere(database, runtime_database, said_elsewhere) as (
        here,
        elsewhere,
        ada,
        thread,
    ):
        heard = Heard()
        third = await here.conversations.turn(
            ada, "Flights from Paris to Madrid in 3 weeks", thread_id=thread, listener=heard
        )
        assert "Madrid" in third.reply
        # The void run's model asked for a search; it never ran (three turns, three searches)
        # and the listener heard the real run's once.
        await settled(here, elsewhere)
        assert searches(owner) == 3
        assert heard.tools == ["search_flights"]
        assert stored_checkpoints(owner, thread) == 3
        assert orphan_writes(owner) == 0, "the void run wrote to the database"
        state = await here.conversations.graph.aget_state({"configurable": {"thread_id": thread}})
        humans = [m.content for m in state.values["messages"] if m.type == "human"]
        assert humans == [
            "Flights from Paris to Rome in 3 weeks",
            "Flights from Paris to Oslo in 3 weeks",
            "Flights from Paris to Madrid in 3 weeks",
        ]


async def test_a_deleted_conversation_is_refused_before_anything_is_done(
    services: Services, owner: Any
) -> None:
    ada = await traveller(services)
    thread = (
        await services.conversations.turn(ada, "Flights from Paris to Rome in 3 weeks")
    ).thread_id
    owner.execute("UPDATE chat_sessions SET deleted_at = now() WHERE thread_id = %s", (thread,))
    with pytest.raises(NotYourConversation):
        await services.conversations.turn(
            ada, "Flights from Paris to Oslo in 3 weeks", thread_id=thread
        )
    await settled(services)
    assert searches(owner) == 1
    stored = owner.execute("SELECT count(*) FROM chat_messages").fetchone()[0]
    assert stored == 4  # the first turn's
    assert stored_checkpoints(owner, thread) == 1
    assert orphan_writes(owner) == 0


async def test_another_travellers_thread_is_never_run_from_this_process_s_copy(
    services: Services, moments: dict[str, list[float]]
) -> None:
    ada, bob = await traveller(services), await traveller(services, "bob@example.com")
    thread = (
        await services.conversations.turn(ada, "Flights from Paris to Rome in 3 weeks")
    ).thread_id
    asked_before = len(moments["model"])
    with pytest.raises(NotYourConversation):
        await services.conversations.turn(bob, "Flights from Paris to Oslo", thread_id=thread)
    # Bob's turn waited for the database, which refused it: the model never saw Ada's thread.
    assert len(moments["model"]) == asked_before
