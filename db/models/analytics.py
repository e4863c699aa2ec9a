"""Analytics events: an append-only log, monthly RANGE partitions on `created_at`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index
from sqlmodel import Field, SQLModel

from db.models.columns import (
    created_at_field,
    enum_field,
    id_field,
    jsonb_field,
)
from db.models.enums import EventType


class AnalyticsEvent(SQLModel, table=True):
    __tablename__ = "analytics_events"
    __table_args__ = (
        Index("ix_analytics_events_type_created", "event_type", "created_at"),
        Index("ix_analytics_events_user_created", "user_id", "created_at"),
        Index("ix_analytics_events_created_brin", "created_at", postgresql_using="brin"),
        # The user and session of the row's own tenant (see chat_messages); erasing one
        # leaves the event, without it.
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_analytics_events_user",
            ondelete="SET NULL (user_id)",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "session_id"],
            ["chat_sessions.tenant_id", "chat_sessions.id"],
            name="fk_analytics_events_session",
            ondelete="SET NULL (session_id)",
        ),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: uuid.UUID = id_field()
    created_at: datetime | None = created_at_field(primary_key=True)
    tenant_id: uuid.UUID = Field(nullable=False)
    user_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    event_type: EventType = enum_field(EventType, length=50)
    properties: dict[str, Any] = jsonb_field(default={}, server_default="{}")
