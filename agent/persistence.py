"""Every turn lands in our tables: chat_sessions, chat_messages, analytics_events, at once."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from agent.accounts import Traveller
from db.analytics import event, record_events
from db.ids import new_id
from db.models import ChatSession
from db.models.enums import EventType, MessageRole
from db.unit_of_work import UnitOfWork

TITLE_LENGTH = 80


class NotYourConversation(LookupError):
    """A thread id that belongs to someone else (or to nobody)."""


@dataclass(frozen=True)
class Said:
    """One message of a turn as stored: `key` makes a retried turn write it only once."""

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


async def open_session(
    sessions: async_sessionmaker[AsyncSession],
    traveller: Traveller,
    thread_id: uuid.UUID,
    *,
    title: str,
    context: dict[str, Any] | None = None,
) -> tuple[ChatSession, bool]:
    """The traveller's session for `thread_id`, created on the first turn: (session, first).

    The interface may create it at the same moment (its first interaction), so the insert
    gives way to a concurrent one instead of failing.
    """
    clean_title = " ".join(title.split())[:TITLE_LENGTH] or None
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        connection = await uow.session.connection()
        await connection.execute(
            text(
                "INSERT INTO chat_sessions (id, tenant_id, user_id, thread_id, title, context)"
                " VALUES (:id, :tenant, :user, :thread, :title, CAST(:context AS jsonb))"
                " ON CONFLICT (thread_id) DO NOTHING"
            ),
            {
                "id": new_id(),
                "tenant": traveller.tenant_id,
                "user": traveller.user_id,
                "thread": thread_id,
                "title": clean_title,
                "context": json.dumps(context or {}),
            },
        )
        found = (
            await uow.session.exec(select(ChatSession).where(ChatSession.thread_id == thread_id))
        ).first()
        if found is None or found.user_id != traveller.user_id or found.deleted_at is not None:
            # Another tenant's thread is invisible here (row-level security): same answer.
            raise NotYourConversation(f"There is no conversation {thread_id} of yours.")
        if not found.title and clean_title:  # opened by the interface before anything was said
            found.title = clean_title
            uow.session.add(found)
        await uow.commit()
        return found, found.message_count == 0


async def record_turn(
    sessions: async_sessionmaker[AsyncSession],
    traveller: Traveller,
    chat: ChatSession,
    said: list[Said],
    *,
    first_turn: bool,
    latency_ms: float,
) -> int:
    """Write the turn's messages and events in one transaction; returns the rows written.

    Messages already stored (a retried turn) are skipped by their key, so nothing is written
    twice; the session row is locked so two writers of one session take turns.
    """
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        connection = await uow.session.connection()
        await connection.execute(
            text("SELECT 1 FROM chat_sessions WHERE id = :id FOR UPDATE"), {"id": chat.id}
        )
        stored = {
            row[0]
            for row in await connection.execute(
                text("SELECT attributes->>'key' FROM chat_messages WHERE session_id = :id"),
                {"id": chat.id},
            )
        }
        fresh = [message for message in said if message.key not in stored]
        if fresh:
            await connection.execute(
                text(
                    "INSERT INTO chat_messages (id, tenant_id, session_id, role, content,"
                    " tool_calls, tool_call_id, tool_name, model_name, prompt_tokens,"
                    " completion_tokens, latency_ms, attributes) VALUES (:id, :tenant, :session,"
                    " :role, :content, CAST(:tool_calls AS jsonb), :tool_call_id, :tool_name,"
                    " :model_name, :prompt_tokens, :completion_tokens, :latency_ms,"
                    " CAST(:attributes AS jsonb))"
                ),
                [_row(message, traveller, chat) for message in fresh],
            )
        await record_events(
            connection,
            [
                event(
                    kind,
                    tenant=traveller.tenant_id,
                    user=traveller.user_id,
                    session=chat.id,
                    properties=properties,
                )
                for kind, properties in _events(fresh, first_turn=first_turn, latency_ms=latency_ms)
            ],
        )
        await uow.commit()
    return len(fresh)


def _row(message: Said, traveller: Traveller, chat: ChatSession) -> dict[str, Any]:
    return {
        "id": new_id(),
        "tenant": traveller.tenant_id,
        "session": chat.id,
        "role": message.role.value,
        "content": message.content,
        "tool_calls": json.dumps(message.tool_calls) if message.tool_calls else None,
        "tool_call_id": message.tool_call_id,
        "tool_name": message.tool_name,
        "model_name": message.model_name,
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
        "latency_ms": message.latency_ms,
        "attributes": json.dumps({**(message.attributes or {}), "key": message.key}),
    }


def _events(
    fresh: list[Said], *, first_turn: bool, latency_ms: float
) -> list[tuple[EventType, dict[str, Any]]]:
    if not fresh:
        return []  # a retried turn already counted
    events: list[tuple[EventType, dict[str, Any]]] = []
    if first_turn:
        events.append((EventType.SESSION_STARTED, {}))
    for message in fresh:
        if message.role is MessageRole.USER:
            events.append((EventType.MESSAGE_SENT, {"length": len(message.content)}))
        for call in message.tool_calls or []:
            events.append((EventType.TOOL_CALLED, {"tool": call["name"]}))
    events.append((EventType.TURN_COMPLETED, {"latency_ms": round(latency_ms, 2)}))
    return events
