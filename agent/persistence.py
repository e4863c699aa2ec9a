"""Every turn lands in our tables: chat_sessions, chat_messages, analytics_events, at once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from psycopg_pool import AsyncConnectionPool

from agent.accounts import Traveller
from db.analytics import event_row
from db.chat_log import BlobRow, ChatLog, CheckpointRow, MessageRow
from db.ids import new_id
from db.models.enums import EventType, MessageRole
from db.text import storable

TITLE_LENGTH = 80


class NotYourConversation(LookupError):
    """A thread id that belongs to someone else (or to nobody)."""


@dataclass(frozen=True)
class Said:
    """One message of a turn as stored; `key` ties it to the graph's message (or interrupt)."""

    key: str
    role: MessageRole
    content: str
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    tool_name: str | None = None
    model_name: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    attributes: dict[str, Any] | None = None


def said_by_graph(message: BaseMessage, *, model_name: str) -> Said | None:
    """How a message of the graph's state is stored (None for what travellers never see)."""
    key = f"lc:{message.id}"
    if isinstance(message, HumanMessage):
        return Said(key, MessageRole.USER, str(message.content))
    if isinstance(message, ToolMessage):
        return Said(
            key,
            MessageRole.TOOL,
            str(message.content),
            tool_call_id=message.tool_call_id,
            tool_name=message.name,
        )
    if isinstance(message, AIMessage):
        usage: dict[str, Any] = dict(message.usage_metadata or {})
        return Said(
            key,
            MessageRole.ASSISTANT,
            str(message.content),
            tool_calls=[
                {"id": call["id"], "name": call["name"], "args": call["args"]}
                for call in message.tool_calls
            ]
            or None,
            model_name=str(message.response_metadata.get("model_name") or model_name)[:100],
            prompt_tokens=usage.get("input_tokens"),
            completion_tokens=usage.get("output_tokens"),
        )
    return None


@dataclass(frozen=True)
class OpenSession:
    """The traveller's chat session a turn is written to."""

    id: uuid.UUID
    context: dict[str, Any]
    first_turn: bool
    """Nothing has been said in it yet."""
    awaiting_answer: bool
    """The agent asked a question (a confirmation) that this turn answers."""
    checkpoint_id: str | None
    """The thread's latest checkpoint, as the database has it now (None: none yet)."""


# Migration 0013's function: creates the session on the first turn (giving way to the
# interface creating it at the same moment), titles a session opened before anything was said,
# and reads it back with whether the agent awaits an answer and the thread's latest checkpoint.
# One statement, one round trip.
_OPEN_SESSION = (
    "SELECT id, user_id, context, message_count, deleted_at, awaiting_answer, checkpoint_id"
    " FROM open_chat_session(%s, %s, %s, %s, %s, %s::jsonb)"
)


async def open_session(
    pool: AsyncConnectionPool[Any],
    traveller: Traveller,
    thread_id: uuid.UUID,
    *,
    title: str,
    context: dict[str, Any] | None = None,
    session_id: uuid.UUID | None = None,
) -> OpenSession:
    """The traveller's session for `thread_id`, created on the first turn (with `session_id`
    if given: a turn on a new thread knows its session's id before it is stored)."""
    clean_title = " ".join(storable(title).split())[:TITLE_LENGTH] or None
    params = (
        session_id or new_id(),
        traveller.tenant_id,
        traveller.user_id,
        thread_id,
        clean_title,
        json.dumps(context or {}),
    )
    async with pool.connection() as connection:
        # The pool's connections are in autocommit: the statement is its own transaction.
        found = await connection.execute(_OPEN_SESSION, params)
        row: dict[str, Any] | None = await found.fetchone()
    if row is None or row["user_id"] != traveller.user_id or row["deleted_at"] is not None:
        # Another tenant's thread is invisible here (row-level security): same answer.
        raise NotYourConversation(f"There is no conversation {thread_id} of yours.")
    return OpenSession(
        row["id"],
        row["context"] or {},
        row["message_count"] == 0,
        row["awaiting_answer"],
        row["checkpoint_id"],
    )


async def record_turn(
    chat_log: ChatLog,
    traveller: Traveller,
    chat: OpenSession,
    said: list[Said],
    *,
    first_turn: bool,
    latency_ms: float,
    checkpoints: Sequence[CheckpointRow] = (),
    blobs: Sequence[BlobRow] = (),
) -> int:
    """Write the turn's messages and its checkpoint's rows in one transaction, then post its
    analytics events; returns the messages written.

    The chat log group-commits the rows with whatever other turns are writing at the same
    moment, and returns once they are committed. The events (analytics, which no reply
    depends on) follow in a transaction of their own or with the next turn's rows, while the
    reply goes back; a shutdown writes them before it ends (`ChatLog.aclose`).
    """
    messages = [_row(message, traveller, chat) for message in said]
    events = [
        event_row(
            kind,
            tenant=traveller.tenant_id,
            user=traveller.user_id,
            session=chat.id,
            properties=properties,
        )
        for kind, properties in _events(said, first_turn=first_turn, latency_ms=latency_ms)
    ]
    await chat_log.write(
        traveller.tenant_id, messages, checkpoints=checkpoints, blobs=blobs, afterwards=events
    )
    return len(messages)


def _row(message: Said, traveller: Traveller, chat: OpenSession) -> MessageRow:
    return MessageRow(
        id=new_id(),
        tenant_id=traveller.tenant_id,
        session_id=chat.id,
        role=message.role.value,
        content=storable(message.content),
        tool_calls=_json(message.tool_calls) if message.tool_calls else None,
        tool_call_id=message.tool_call_id,
        tool_name=message.tool_name,
        model_name=message.model_name,
        prompt_tokens=message.prompt_tokens,
        completion_tokens=message.completion_tokens,
        latency_ms=message.latency_ms,
        attributes=_json({**(message.attributes or {}), "key": message.key}),
    )


_JSON = json.JSONEncoder(ensure_ascii=False)
"""json.dumps builds an encoder per call unless every option is its default."""


def _json(value: Any) -> str:
    # jsonb holds no NUL (\u0000) and no lone surrogate either.
    return storable(_JSON.encode(value))


def _events(
    said: list[Said], *, first_turn: bool, latency_ms: float
) -> list[tuple[EventType, dict[str, Any]]]:
    if not said:
        return []
    events: list[tuple[EventType, dict[str, Any]]] = []
    if first_turn:
        events.append((EventType.SESSION_STARTED, {}))
    for message in said:
        if message.role is MessageRole.USER:
            events.append((EventType.MESSAGE_SENT, {"length": len(message.content)}))
        for call in message.tool_calls or []:
            events.append((EventType.TOOL_CALLED, {"tool": call["name"]}))
    events.append((EventType.TURN_COMPLETED, {"latency_ms": round(latency_ms, 2)}))
    return events
