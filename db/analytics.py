"""Analytics event rows, and writing them from raw SQL paths in the caller's transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.chat_log import EventRow
from db.ids import new_id
from db.models.enums import EventType

INSERT_EVENT = text(
    "INSERT INTO analytics_events (id, tenant_id, user_id, session_id, event_type, properties)"
    " VALUES (:id, :tenant_id, :user_id, :session_id, :event_type, CAST(:properties AS jsonb))"
)


def event_row(
    kind: EventType,
    *,
    tenant: uuid.UUID,
    user: uuid.UUID | None = None,
    session: uuid.UUID | None = None,
    properties: dict[str, Any] | None = None,
) -> EventRow:
    """One analytics event row: for the chat log, or `record_events` in a transaction."""
    return EventRow(
        id=new_id(),
        tenant_id=tenant,
        user_id=user,
        session_id=session,
        event_type=kind.value,
        properties=json.dumps(properties or {}),
    )


async def record_events(connection: AsyncConnection, events: list[EventRow]) -> None:
    """Insert the events in one statement (nothing for none); the caller commits."""
    if events:
        await connection.execute(INSERT_EVENT, [row._asdict() for row in events])
