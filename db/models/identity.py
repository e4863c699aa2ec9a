"""Identity: users and the OAuth accounts linked to them (design sections 1.2, 2.3, 2.6)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr
from sqlalchemy import DateTime, ForeignKeyConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from db.models.columns import (
    created_at_field,
    currency_field,
    enum_field,
    fk_field,
    id_field,
    tenant_field,
    timestamp_field,
    updated_at_field,
)
from db.models.enums import UserRole, UserStatus


class UserBase(SQLModel):
    email: str = Field(max_length=255, description="Stored lower-case.")
    full_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    locale: str | None = Field(default=None, max_length=16)
    preferred_currency: str | None = currency_field(nullable=True)
    role: UserRole = enum_field(UserRole, length=20, default=UserRole.USER, server_default="user")
    status: UserStatus = enum_field(
        UserStatus, length=20, default=UserStatus.ACTIVE, server_default="active"
    )
    data_processing_consent: bool = Field(
        default=False, sa_column_kwargs={"server_default": text("false")}
    )
    marketing_consent: bool = Field(
        default=False, sa_column_kwargs={"server_default": text("false")}
    )


class UserCreate(SQLModel):
    email: EmailStr = Field(max_length=255)
    password: str | None = Field(default=None, min_length=8, max_length=128)
    full_name: str | None = Field(default=None, max_length=100)
    tenant_slug: str | None = Field(default=None, max_length=63)


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (
        Index(
            "ux_users_email_active",
            "email",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # What the log tables' composite foreign keys reference (migration 0010); it also
        # serves lookups by tenant.
        UniqueConstraint("tenant_id", "id", name="uq_users_tenant_id_id"),
        Index("ix_users_deleted_at", "deleted_at", postgresql_where=text("deleted_at IS NOT NULL")),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    hashed_password: str | None = Field(default=None, max_length=255)
    consent_granted_at: datetime | None = timestamp_field()
    last_login_at: datetime | None = timestamp_field()
    deleted_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()


class UserPublic(UserBase):
    id: uuid.UUID
    tenant_id: uuid.UUID
    created_at: datetime | None


class OAuthAccount(SQLModel, table=True):
    __tablename__ = "oauth_accounts"
    __table_args__ = (
        UniqueConstraint(
            "provider", "provider_account_id", name="uq_oauth_accounts_provider_account"
        ),
        Index("ix_oauth_accounts_user_id", "user_id"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    user_id: uuid.UUID = fk_field("users.id", ondelete="CASCADE", nullable=False)
    provider: str = Field(max_length=50)
    provider_account_id: str = Field(max_length=255)
    provider_email: str | None = Field(default=None, max_length=255)
    access_token_encrypted: str | None = Field(default=None, max_length=8192)
    refresh_token_encrypted: str | None = Field(default=None, max_length=8192)
    token_expires_at: datetime | None = timestamp_field()
    scope: str | None = Field(default=None, max_length=1024)
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()


class UserSession(SQLModel, table=True):
    """One sign-in: its id travels in the session token, which is honoured only while the
    row is neither revoked (signed out, password changed) nor expired."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_user_sessions_user",
            ondelete="CASCADE",
        ),
        Index("ix_user_sessions_user_live", "user_id", postgresql_where=text("revoked_at IS NULL")),
        Index("ix_user_sessions_expires_at", "expires_at"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    user_id: uuid.UUID = Field(nullable=False)
    created_at: datetime | None = created_at_field()
    expires_at: datetime = Field(nullable=False, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = timestamp_field()
