"""Analytics events: an append-only log, monthly RANGE partitions on `created_at`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import SQLModel

from db.models.columns import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    jsonb_field,
    tenant_field,
)
from db.models.enums import EventType


class AnalyticsEvent(SQLModel, table=True):
    __tablename__ = "analytics_events"
    __table_args__ = (
        Index("ix_analytics_events_type_created", "event_type", "created_at"),
        Index("ix_analytics_events_user_created", "user_id", "created_at"),
        Index("ix_analytics_events_created_brin", "created_at", postgresql_using="brin"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: uuid.UUID = id_field()
    created_at: datetime | None = created_at_field(primary_key=True)
    tenant_id: uuid.UUID = tenant_field()
    user_id: uuid.UUID | None = fk_field("users.id", ondelete="SET NULL", nullable=True)
    session_id: uuid.UUID | None = fk_field("chat_sessions.id", ondelete="SET NULL", nullable=True)
    event_type: EventType = enum_field(EventType, length=50)
    properties: dict[str, Any] = jsonb_field(default={}, server_default="{}")
