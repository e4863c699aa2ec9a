"""Our checkpointer keeps LangGraph's contract: its rows are the library's, it passes the
library's conformance suite, and the private parts it leans on are still there."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import _DeltaSnapshot

from agent.bootstrap import Services
from agent.conversation.checkpoint_rows import checkpoint_rows
from agent.conversation.checkpointer import (
    CheckpointSchemaMismatch,
    PooledPostgresSaver,
    expected_checkpoint_migration,
)
from db.engine import create_checkpoint_pool
from db.ids import new_id
from tests.integration.agent_world import stack, traveller
from tests.integration.test_cli import environment

pytestmark = pytest.mark.integration


async def test_a_turns_checkpoint_rows_are_the_ones_langgraph_writes(
    services: Services, owner: psycopg.Connection[Any]
) -> None:
    """Built without the base class (no worker-thread hop), a turn's rows must be exactly
    what `AsyncPostgresSaver.aput` stores, for every kind of channel value."""
    ada = await traveller(services)
    thread = (await services.conversations.turn(ada, "Flights from Paris to Rome")).thread_id
    saver = services.checkpointer
    stored = await saver.aget_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})
    assert stored is not None
    checkpoint: Any = {
        **stored.checkpoint,
        "id": str(new_id()),
        "channel_values": {
            **stored.checkpoint["channel_values"],
            "plain": "inline text",
            "count": 3,
            "nothing": None,
            "snapshot": _DeltaSnapshot(["accumulated"]),
        },
    }
    versions = dict.fromkeys(checkpoint["channel_values"], "00000000000000000000000000000009.1")
    checkpoint["channel_versions"] = {**checkpoint["channel_versions"], **versions}
    # The library writes its rows for another thread; ours are built for the same one.
    theirs_thread = str(new_id())
    config: Any = {"configurable": {**stored.config["configurable"], "thread_id": theirs_thread}}
    await AsyncPostgresSaver.aput(saver, config, checkpoint, stored.metadata, versions)
    # As in a turn: the copy kept in memory encodes every channel, the rows reuse its bytes.
    encoded = InMemorySaver(serde=saver.serde)
    encoded.put(config, checkpoint, stored.metadata, dict(checkpoint["channel_versions"]))
    row, blobs = checkpoint_rows(saver, config, checkpoint, stored.metadata, versions, encoded)

    their_row = owner.execute(
        "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint,"
        " metadata FROM checkpoints WHERE thread_id = %s",
        (theirs_thread,),
    ).fetchall()
    as_stored = json.loads(json.dumps([row.checkpoint.obj, row.metadata.obj]))
    assert their_row == [(*row[:4], *as_stored)]
    their_blobs = owner.execute(
        "SELECT thread_id, checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs"
        " WHERE thread_id = %s ORDER BY channel",
        (theirs_thread,),
    ).fetchall()
    assert their_blobs == sorted(tuple(blob) for blob in blobs)
    channels = {blob.channel for blob in blobs}
    assert {"messages", "snapshot"} <= channels
    assert not channels & {"plain", "count", "nothing"}
    assert row.checkpoint.obj["channel_values"]["snapshot"] is True


async def test_the_checkpointer_passes_langgraphs_conformance_suite(runtime_database: str) -> None:
    pool = create_checkpoint_pool(runtime_database, min_size=1, max_size=4)
    await pool.open(wait=True)

    @checkpointer_test(name="PooledPostgresSaver")
    async def pooled() -> AsyncIterator[PooledPostgresSaver]:
        yield PooledPostgresSaver(pool)

    try:
        report = await validate(pooled)
    finally:
        await pool.close()
    failed = {name: result.failures for name, result in report.results.items() if result.failures}
    assert report.passed_all_base(), failed
    assert report.passed_all(), failed
    assert sum(result.tests_passed for result in report.results.values()) > 20


async def test_the_base_class_goes_through_the_saver_lock_as_wide_as_the_pool(
    runtime_database: str,
) -> None:
    """`AsyncPostgresSaver` holds `self.lock` around each call; ours is a semaphore the size of
    the pool. If the library stops taking it (or takes another), this fails."""
    pool = create_checkpoint_pool(runtime_database, min_size=1, max_size=3)
    await pool.open(wait=True)
    saver = PooledPostgresSaver(pool)
    config: Any = {"configurable": {"thread_id": "nobody", "checkpoint_ns": ""}}
    try:
        for _ in range(2):
            await saver.lock.acquire()
        assert await asyncio.wait_for(saver.aget_tuple(config), 5) is None  # one slot left
        await saver.lock.acquire()
        blocked = asyncio.ensure_future(saver.aget_tuple(config))
        await asyncio.sleep(0.3)
        assert not blocked.done()
        saver.lock.release()
        assert await asyncio.wait_for(blocked, 5) is None
    finally:
        await pool.close()


async def test_the_app_refuses_checkpoint_tables_of_another_langgraph(
    database: str, runtime_database: str, owner: psycopg.Connection[Any]
) -> None:
    latest = expected_checkpoint_migration()
    owner.execute("DELETE FROM checkpoint_migrations WHERE v = %s", (latest,))
    with pytest.raises(CheckpointSchemaMismatch, match=f"at migration {latest - 1}, but the"):
        async with stack(database, runtime_database):
            pass
    served = subprocess.run(
        [sys.executable, "-m", "cli", "serve", "--port", "1"],
        env=environment(DATABASE_URL=database),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert served.returncode == 1
    assert served.stderr.startswith("travelhub: The database's LangGraph checkpoint tables are")
    assert len(served.stderr.strip().splitlines()) == 1
