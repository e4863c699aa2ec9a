"""Chat: sessions (one per LangGraph thread) and their messages (design sections 2.2, 2.7)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from db.models.columns import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    jsonb_field,
    tenant_field,
    timestamp_field,
    updated_at_field,
)
from db.models.enums import MessageRole, SessionStatus

DEFAULT_CHECKPOINT_NS = "travel_agent"


class ChatSession(SQLModel, table=True):
    __tablename__ = "chat_sessions"
    __table_args__ = (
        UniqueConstraint("thread_id", name="uq_chat_sessions_thread_id"),
        Index(
            "ix_chat_sessions_user_recent",
            "user_id",
            text("updated_at DESC"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # What the log tables' composite foreign keys reference (migration 0010); it also
        # serves lookups by tenant.
        UniqueConstraint("tenant_id", "id", name="uq_chat_sessions_tenant_id_id"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    user_id: uuid.UUID = fk_field("users.id", ondelete="CASCADE", nullable=False)
    thread_id: uuid.UUID = Field(description="The LangGraph thread this session's state lives in.")
    checkpoint_ns: str = Field(
        default=DEFAULT_CHECKPOINT_NS,
        max_length=255,
        sa_column_kwargs={"server_default": DEFAULT_CHECKPOINT_NS},
    )
    title: str | None = Field(default=None, max_length=255)
    status: SessionStatus = enum_field(
        SessionStatus, length=20, default=SessionStatus.ACTIVE, server_default="active"
    )
    context: dict[str, Any] = jsonb_field(default={}, server_default="{}")
    message_count: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    last_message_at: datetime | None = timestamp_field()
    deleted_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()


class ChatMessage(SQLModel, table=True):
    """One message of a conversation; monthly RANGE partitions on `created_at`."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_session_created", "session_id", text("created_at DESC")),
        Index("ix_chat_messages_created_brin", "created_at", postgresql_using="brin"),
        Index(
            "ix_chat_messages_ui_ids",
            text("(attributes->'ui_ids')"),
            postgresql_using="gin",
            postgresql_where=text("attributes ? 'ui_ids'"),
        ),
        # The session of the row's own tenant: one check per row, not one on the session and
        # one on the (shared, hot) tenant row.
        ForeignKeyConstraint(
            ["tenant_id", "session_id"],
            ["chat_sessions.tenant_id", "chat_sessions.id"],
            name="fk_chat_messages_session",
            ondelete="CASCADE",
        ),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: uuid.UUID = id_field()
    created_at: datetime | None = created_at_field(primary_key=True)
    tenant_id: uuid.UUID = Field(nullable=False)
    session_id: uuid.UUID = Field(nullable=False)
    role: MessageRole = enum_field(MessageRole, length=20)
    content: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    tool_calls: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONB)
    tool_call_id: str | None = Field(default=None, max_length=255)
    tool_name: str | None = Field(default=None, max_length=100)
    model_name: str | None = Field(default=None, max_length=100)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    attributes: dict[str, Any] = jsonb_field(default={}, server_default="{}")
    superseded_at: datetime | None = timestamp_field()
    """When an edit of an earlier message replaced this one's branch (None: current branch)."""
