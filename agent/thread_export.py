"""Exporting a thread as a thread file (agent/thread_file.py), read under its tenant.

Every row is read in one transaction under the tenant's row-level security; LangGraph's
checkpoint tables carry no tenant, so they are read only once the thread's session shows it
belongs to that tenant (as replay does).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from agent.conversation.turns import Conversations
from agent.thread_file import (
    FORMAT,
    BookingRecord,
    Checkpoint,
    CheckpointBlob,
    CheckpointWrite,
    Message,
    SearchRecord,
    Session,
    ThreadFile,
    ToolRecords,
    Traveller,
)
from db.unit_of_work import UnitOfWork
from tools.agent_tools import answered_searches

SESSION = text(
    "SELECT id, user_id, title, status, context, checkpoint_ns, created_at, last_message_at,"
    " deleted_at FROM chat_sessions WHERE thread_id = :thread"
)
TRAVELLER = text("SELECT email, full_name, locale, preferred_currency FROM users WHERE id = :user")
MESSAGES = text(
    "SELECT id, created_at, role, content, tool_calls, tool_call_id, tool_name, model_name,"
    " prompt_tokens, completion_tokens, latency_ms, attributes, superseded_at"
    " FROM chat_messages WHERE session_id = :session"
    # Never older than their session: the partitions before it are not read at all.
    " AND created_at >= CAST(:since AS timestamptz) - interval '1 day'"
    " ORDER BY created_at, id"
)
CHECKPOINTS = text(
    "SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata"
    " FROM checkpoints WHERE thread_id = :thread ORDER BY checkpoint_ns, checkpoint_id"
)
BLOBS = text(
    "SELECT checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs"
    " WHERE thread_id = :thread ORDER BY checkpoint_ns, channel, version"
)
WRITES = text(
    "SELECT checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob"
    " FROM checkpoint_writes WHERE thread_id = :thread"
    " ORDER BY checkpoint_ns, checkpoint_id, task_id, idx"
)
CHECKPOINT_SCHEMA = text("SELECT max(v) FROM checkpoint_migrations")
# Contact details and travellers' names stay behind: the record is what was booked and how
# it went, not who travels.
BOOKINGS = text(
    "SELECT id, booking_reference AS reference, status, provider,"
    " total_amount::text AS total_amount, currency, failure_reason,"
    " refund_amount::text AS refund_amount, attributes, created_at, confirmed_at, cancelled_at"
    " FROM bookings WHERE session_id = :session ORDER BY created_at, id"
)
BOOKING_ITEMS = text(
    "SELECT i.booking_id, i.item_type, i.position, i.amount::text AS amount, i.currency,"
    " to_jsonb(f) - 'id' - 'tenant_id' AS flight, to_jsonb(h) - 'id' - 'tenant_id' AS hotel"
    " FROM booking_items i LEFT JOIN flight_bookings f ON f.id = i.flight_booking_id"
    " LEFT JOIN hotel_bookings h ON h.id = i.hotel_booking_id"
    " WHERE i.booking_id = ANY(CAST(:bookings AS uuid[])) ORDER BY i.booking_id, i.position"
)


class ThreadNotFound(LookupError):
    """No such thread in the tenant."""


async def export_thread(
    conversations: Conversations, tenant_id: uuid.UUID, thread_id: uuid.UUID
) -> ThreadFile:
    """The thread file of `thread_id`, a thread of the tenant `tenant_id` (ThreadNotFound
    otherwise, whether it is another tenant's or nobody's)."""
    sessions = conversations.store.chat_sessions.sessions
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        connection = await uow.session.connection()
        session = (await _rows(connection, SESSION, thread=thread_id))[:1]
        if not session:
            raise ThreadNotFound(f"There is no conversation {thread_id}.")
        row = session[0]
        traveller = (await _rows(connection, TRAVELLER, user=row["user_id"]))[0]
        messages = await _rows(connection, MESSAGES, session=row["id"], since=row["created_at"])
        thread = str(thread_id)
        checkpoints = await _rows(connection, CHECKPOINTS, thread=thread)
        blobs = await _rows(connection, BLOBS, thread=thread)
        writes = await _rows(connection, WRITES, thread=thread)
        schema = (await connection.execute(CHECKPOINT_SCHEMA)).scalar()
        bookings = await _bookings(connection, row["id"])
    state = await conversations.graph.aget_state({"configurable": {"thread_id": thread}})
    searches = answered_searches(state.values.get("messages", []) if state.values else [])
    return ThreadFile(
        format=FORMAT,
        exported_at=datetime.now(UTC),
        thread_id=thread_id,
        checkpoint_schema=int(schema or 0),
        traveller=Traveller(**traveller),
        session=Session(**{k: v for k, v in row.items() if k not in ("id", "user_id")}),
        messages=[Message(**message) for message in messages],
        checkpoints=[Checkpoint(**checkpoint) for checkpoint in checkpoints],
        checkpoint_blobs=[CheckpointBlob(**blob) for blob in blobs],
        checkpoint_writes=[CheckpointWrite(**write) for write in writes],
        tool_records=ToolRecords(
            searches=[
                SearchRecord(
                    tool=name,
                    arguments=arguments,
                    content=record.content,
                    artifact=record.artifact,
                )
                for name, arguments, record in searches
            ],
            bookings=bookings,
        ),
    )


async def _rows(connection: AsyncConnection, statement: Any, **params: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in (await connection.execute(statement, params)).mappings()]


async def _bookings(connection: AsyncConnection, session_id: uuid.UUID) -> list[BookingRecord]:
    bookings = await _rows(connection, BOOKINGS, session=session_id)
    if not bookings:
        return []
    items = await _rows(connection, BOOKING_ITEMS, bookings=[b["id"] for b in bookings])
    return [
        BookingRecord(
            **{k: v for k, v in booking.items() if k != "id"},
            items=[
                {k: v for k, v in item.items() if k != "booking_id" and v is not None}
                for item in items
                if item["booking_id"] == booking["id"]
            ],
        )
        for booking in bookings
    ]
