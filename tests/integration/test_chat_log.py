"""The chat log's group commit: concurrent turns share transactions, and lose nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from agent.conversation.checkpoint_rows import (
    CHECKPOINT_BLOBS,
    CHECKPOINTS,
    BlobRow,
    CheckpointRow,
)
from db.analytics import event_row
from db.chat_log import ChatLog, MessageRow
from db.engine import create_checkpoint_pool
from db.ids import new_id
from db.models.enums import EventType
from tests import factories

pytestmark = pytest.mark.integration


@pytest.fixture
async def chat_log(runtime_database: str) -> AsyncIterator[ChatLog]:
    pool = create_checkpoint_pool(runtime_database, min_size=1, max_size=4)
    await pool.open(wait=True)
    log = ChatLog(pool)
    try:
        yield log
    finally:
        await log.aclose()
        await pool.close()


def message(tenant: uuid.UUID, session: uuid.UUID, content: str) -> MessageRow:
    return MessageRow(
        id=new_id(),
        tenant_id=tenant,
        session_id=session,
        role="user",
        content=content,
        tool_calls=None,
        tool_call_id=None,
        tool_name=None,
        model_name=None,
        prompt_tokens=None,
        completion_tokens=None,
        latency_ms=None,
        attributes=json.dumps({"key": content}),
    )


def count(owner: psycopg.Connection[Any], sql: str) -> Any:
    row = owner.execute(sql).fetchone()
    assert row is not None
    return row[0]


async def test_concurrent_turns_of_two_tenants_share_transactions(
    chat_log: ChatLog, owner: psycopg.Connection[Any]
) -> None:
    sessions: list[tuple[uuid.UUID, uuid.UUID]] = []
    for slug in ("north", "south"):
        tenant = factories.tenant(owner, slug)
        for _ in range(10):
            sessions.append(
                (tenant, factories.chat_session(owner, tenant, factories.user(owner, tenant)))
            )

    async def turn(tenant: uuid.UUID, session: uuid.UUID, number: int) -> None:
        rows = [message(tenant, session, f"{session}:{number}:{part}") for part in range(3)]
        events = [event_row(EventType.TURN_COMPLETED, tenant=tenant, session=session)]
        await chat_log.write(tenant, rows, events)

    await asyncio.gather(
        *(turn(tenant, session, n) for n in range(5) for tenant, session in sessions)
    )
    assert count(owner, "SELECT count(*) FROM chat_messages") == 20 * 5 * 3
    assert count(owner, "SELECT count(*) FROM analytics_events") == 20 * 5
    # Every row under its own tenant, and each session's count kept by the trigger.
    assert (
        count(
            owner,
            "SELECT count(*) FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id"
            " WHERE s.tenant_id <> m.tenant_id",
        )
        == 0
    )
    assert owner.execute("SELECT DISTINCT message_count FROM chat_sessions").fetchall() == [(15,)]
    # A hundred writes, far fewer transactions: they were group-committed.
    assert 1 <= chat_log.transactions <= 10


async def test_one_bad_write_fails_alone(chat_log: ChatLog, owner: psycopg.Connection[Any]) -> None:
    tenant = factories.tenant(owner, "solo")
    session = factories.chat_session(owner, tenant, factories.user(owner, tenant))
    too_long = "x" * 100_001  # over the content CHECK

    results = await asyncio.gather(
        chat_log.write(tenant, [message(tenant, session, "fine one")]),
        chat_log.write(tenant, [message(tenant, session, too_long)]),
        chat_log.write(tenant, [message(tenant, session, "fine two")]),
        return_exceptions=True,
    )
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], psycopg.errors.CheckViolation)
    contents = {row[0] for row in owner.execute("SELECT content FROM chat_messages")}
    assert contents == {"fine one", "fine two"}


async def test_a_value_its_column_cannot_hold_fails_alone(
    chat_log: ChatLog, owner: psycopg.Connection[Any]
) -> None:
    # Refused while the statement is built, before anything is sent: no SQLSTATE to go by.
    tenant = factories.tenant(owner, "solo")
    session = factories.chat_session(owner, tenant, factories.user(owner, tenant))
    not_a_count = message(tenant, session, "bad tokens")._replace(prompt_tokens=2**40)

    results = await asyncio.gather(
        chat_log.write(tenant, [message(tenant, session, "fine one")]),
        chat_log.write(tenant, [not_a_count]),
        chat_log.write(tenant, [message(tenant, session, "fine two")]),
        return_exceptions=True,
    )
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], psycopg.DataError)
    contents = {row[0] for row in owner.execute("SELECT content FROM chat_messages")}
    assert contents == {"fine one", "fine two"}


def checkpoint(thread: str) -> tuple[CheckpointRow, BlobRow]:
    """A turn's checkpoint rows as LangGraph's saver makes them (contents beside the point)."""
    return (
        CheckpointRow(thread, "", f"{thread}-1", None, Jsonb({"v": 4}), Jsonb({"step": 1})),
        BlobRow(thread, "", "messages", "1", "msgpack", b"\x90"),
    )


async def test_a_turns_checkpoint_is_stored_with_its_messages_or_not_at_all(
    chat_log: ChatLog, owner: psycopg.Connection[Any]
) -> None:
    tenant = factories.tenant(owner, "atomic")
    session = factories.chat_session(owner, tenant, factories.user(owner, tenant))
    stored, refused = checkpoint("thread-stored"), checkpoint("thread-refused")

    results = await asyncio.gather(
        chat_log.write(
            tenant,
            [message(tenant, session, "kept")],
            beside={CHECKPOINTS: [stored[0]], CHECKPOINT_BLOBS: [stored[1]]},
        ),
        chat_log.write(
            tenant,
            [message(tenant, session, "x" * 100_001)],
            beside={CHECKPOINTS: [refused[0]], CHECKPOINT_BLOBS: [refused[1]]},
        ),
        return_exceptions=True,
    )
    assert results[0] is None
    assert isinstance(results[1], psycopg.errors.CheckViolation)
    for table in ("checkpoints", "checkpoint_blobs"):
        threads = {row[0] for row in owner.execute(f"SELECT thread_id FROM {table}")}
        assert threads == {"thread-stored"}, table
    contents = {row[0] for row in owner.execute("SELECT content FROM chat_messages")}
    assert contents == {"kept"}


async def test_analytics_nobody_waits_for_are_written_by_close(
    chat_log: ChatLog, owner: psycopg.Connection[Any]
) -> None:
    tenant = factories.tenant(owner, "quiet")
    chat_log.linger_seconds = 60.0  # only the close may write them
    for _ in range(7):
        chat_log.post(tenant, [event_row(EventType.SEARCH_PERFORMED, tenant=tenant)])
    assert count(owner, "SELECT count(*) FROM analytics_events") == 0
    await chat_log.aclose()
    assert count(owner, "SELECT count(*) FROM analytics_events") == 7


async def test_analytics_afterwards_follow_the_commit_once_even_for_a_caller_gone(
    chat_log: ChatLog, owner: psycopg.Connection[Any]
) -> None:
    tenant = factories.tenant(owner, "after")
    session = factories.chat_session(owner, tenant, factories.user(owner, tenant))
    chat_log.linger_seconds = 60.0  # written promptly, not after a linger
    done = event_row(EventType.TURN_COMPLETED, tenant=tenant, session=session)
    await chat_log.write(tenant, [message(tenant, session, "seen")], afterwards=[done])
    # Not in the rows' transaction: the reply did not wait for them.
    assert count(owner, "SELECT count(*) FROM analytics_events") == 0
    await chat_log.flushed()
    assert count(owner, "SELECT count(*) FROM analytics_events") == 1
    # A caller that stops waiting (a turn at its deadline) still has them follow its rows.
    gone = asyncio.ensure_future(
        chat_log.write(
            tenant,
            [message(tenant, session, "stored anyway")],
            afterwards=[event_row(EventType.TURN_COMPLETED, tenant=tenant, session=session)],
        )
    )
    await asyncio.sleep(0)
    gone.cancel()
    await chat_log.aclose()
    assert count(owner, "SELECT count(*) FROM chat_messages") == 2
    assert count(owner, "SELECT count(*) FROM analytics_events") == 2
    # A write that failed has none follow it.
    with pytest.raises(psycopg.errors.CheckViolation):
        await ChatLog(chat_log.pool).write(
            tenant,
            [message(tenant, session, "x" * 100_001)],
            afterwards=[event_row(EventType.TURN_COMPLETED, tenant=tenant, session=session)],
        )
    assert count(owner, "SELECT count(*) FROM analytics_events") == 2


async def test_a_row_of_another_tenant_is_refused(
    chat_log: ChatLog, owner: psycopg.Connection[Any]
) -> None:
    mine, theirs = factories.tenant(owner, "mine"), factories.tenant(owner, "theirs")
    their_session = factories.chat_session(owner, theirs, factories.user(owner, theirs))
    # Claimed as mine, but the row says theirs: row-level security refuses it.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await chat_log.write(mine, [message(theirs, their_session, "smuggled")])
    assert count(owner, "SELECT count(*) FROM chat_messages") == 0
