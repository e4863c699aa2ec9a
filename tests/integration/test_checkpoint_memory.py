"""A turn starts from the checkpoint this process wrote, only while the database agrees it is
the thread's latest; every checkpoint still lands in PostgreSQL before the reply."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from agent.bootstrap import Services
from agent.conversation.turns import UNSAVED
from db.chat_log import ChatLog
from tests.integration.agent_world import stack, traveller

pytestmark = pytest.mark.integration


@pytest.fixture
def database_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Thread ids of the checkpoints read from PostgreSQL (the base saver's own query)."""
    loads: list[str] = []
    load = AsyncPostgresSaver.aget_tuple

    async def counted(self: AsyncPostgresSaver, config: Any) -> Any:
        loads.append(config["configurable"]["thread_id"])
        return await load(self, config)

    monkeypatch.setattr(AsyncPostgresSaver, "aget_tuple", counted)
    return loads


def latest_checkpoints(owner: Any, thread: str) -> tuple[int, str | None]:
    row = owner.execute(
        "SELECT count(*), max(checkpoint_id) FROM checkpoints WHERE thread_id = %s", (thread,)
    ).fetchone()
    return row[0], row[1]


async def test_a_thread_written_here_is_not_read_back(
    services: Services, owner: Any, database_loads: list[str]
) -> None:
    ada = await traveller(services)
    talk = services.conversations
    first = await talk.turn(ada, "Flights from Paris to Rome in 3 weeks")
    asked = await talk.turn(ada, "book the cheapest", thread_id=first.thread_id)
    assert asked.awaiting_confirmation
    done = await talk.turn(ada, "yes", thread_id=first.thread_id)
    assert done.reply.startswith("Booked! Your reference is **")
    # A new thread has nothing to load, and the next turns start from what this process wrote.
    assert database_loads == []
    # Yet every turn's checkpoint is in the database by the time its reply is back.
    count, latest = latest_checkpoints(owner, first.thread_id)
    assert count == 3
    state = await talk.graph.aget_state({"configurable": {"thread_id": first.thread_id}})
    assert state.config["configurable"]["checkpoint_id"] == latest
    assert [m.content for m in state.values["messages"] if m.type == "human"] == [
        "Flights from Paris to Rome in 3 weeks",
        "book the cheapest",
    ]


async def test_a_thread_moved_on_elsewhere_is_read_from_the_database(
    database: str, runtime_database: str, owner: Any, database_loads: list[str]
) -> None:
    async with (
        stack(database, runtime_database) as here,
        stack(database, runtime_database) as elsewhere,
    ):
        ada = await traveller(here)
        thread = (
            await here.conversations.turn(ada, "Flights from Paris to Rome in 3 weeks")
        ).thread_id
        # Another process answers the next turn on the same thread...
        await elsewhere.conversations.turn(ada, "book the cheapest", thread_id=thread)
        assert database_loads == [thread]
        # ...so this one's copy is stale: it loads the thread, question pending included.
        done = await here.conversations.turn(ada, "yes", thread_id=thread)
        assert done.reply.startswith("Booked! Your reference is **")
        assert database_loads == [thread, thread]
        assert latest_checkpoints(owner, thread)[0] == 3


async def test_a_deleted_thread_is_forgotten(
    services: Services, owner: Any, database_loads: list[str]
) -> None:
    ada = await traveller(services)
    thread = (await services.conversations.turn(ada, "Hotels in Lisbon next Friday")).thread_id
    await services.checkpointer.adelete_thread(thread)
    assert latest_checkpoints(owner, thread) == (0, None)
    # The session remains (the interface deletes it separately): the thread starts afresh.
    again = await services.conversations.turn(
        ada, "Flights from Paris to Rome in 3 weeks", thread_id=thread
    )
    assert "Rome" in again.reply
    state = await services.conversations.graph.aget_state({"configurable": {"thread_id": thread}})
    assert [m.content for m in state.values["messages"] if m.type == "human"] == [
        "Flights from Paris to Rome in 3 weeks"
    ]
    assert database_loads == [thread]  # the aget_state above; the turn had nothing to load


async def test_a_turn_not_stored_leaves_nothing_for_the_next(
    services: Services, owner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy in memory is made before the turn commits; a commit that fails must not let
    the next turn carry on from what the traveller was told was not saved."""
    ada = await traveller(services)
    talk = services.conversations
    thread = (await talk.turn(ada, "Flights from Paris to Rome in 3 weeks")).thread_id
    write = ChatLog.write

    async def refused(*_: Any, **__: Any) -> None:
        raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")

    monkeypatch.setattr(ChatLog, "write", refused)
    lost = await talk.turn(ada, "Flights from Paris to Oslo in 3 weeks", thread_id=thread)
    assert lost.reply == UNSAVED
    monkeypatch.setattr(ChatLog, "write", write)
    await talk.turn(ada, "Hotels in Lisbon next Friday", thread_id=thread)
    state = await talk.graph.aget_state({"configurable": {"thread_id": thread}})
    assert [m.content for m in state.values["messages"] if m.type == "human"] == [
        "Flights from Paris to Rome in 3 weeks",
        "Hotels in Lisbon next Friday",
    ]
    assert latest_checkpoints(owner, thread)[0] == 2


async def test_only_the_most_recent_threads_are_remembered(
    database: str, runtime_database: str, database_loads: list[str]
) -> None:
    async with stack(database, runtime_database, TRAVELHUB_REMEMBERED_THREADS=1) as services:
        ada = await traveller(services)
        talk = services.conversations
        first = (await talk.turn(ada, "Flights from Paris to Rome in 3 weeks")).thread_id
        second = (await talk.turn(ada, "Flights from Paris to Oslo in 3 weeks")).thread_id
        await talk.turn(ada, "Flights from Paris to Oslo in 4 weeks", thread_id=second)
        assert database_loads == []
        # Only one thread fits: the first one's copy made room for the second's.
        again = await talk.turn(ada, "Flights from Paris to Rome in 4 weeks", thread_id=first)
        assert "Rome" in again.reply
        assert database_loads == [first]


async def test_a_conversation_state_is_stored_compressed_with_lz4_where_the_server_has_it(
    services: Services, owner: Any
) -> None:
    ada = await traveller(services)
    talk = services.conversations
    thread = (await talk.turn(ada, "Flights from Paris to Rome in 3 weeks")).thread_id
    await talk.turn(ada, "Flights from Paris to Oslo in 3 weeks", thread_id=thread)
    has_lz4 = owner.execute(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    ).fetchone()[0]
    methods = {
        row[0]
        for row in owner.execute(
            "SELECT pg_column_compression(blob) FROM checkpoint_blobs"
            " WHERE thread_id = %s AND length(blob) > 8000",
            (thread,),
        )
    }
    assert methods == ({"lz4"} if has_lz4 else {"pglz"})
