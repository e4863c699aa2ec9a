"""Column helpers shared by the table models, so every table spells keys and times alike."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import CHAR, DateTime, Enum, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from db.ids import new_id

NOW = text("now()")


def id_field(*, primary_key: bool = True) -> Any:
    """A UUIDv7 key made by the application; the database default is only a fallback."""
    return Field(
        default_factory=new_id,
        primary_key=primary_key,
        nullable=False,
        sa_column_kwargs={"server_default": text("uuid_generate_v7()")},
    )


def tenant_field() -> Any:
    """The owning tenant; row-level security filters on it."""
    return Field(foreign_key="tenants.id", nullable=False)


def created_at_field(*, primary_key: bool = False) -> Any:
    """Creation time, set by the database when the application leaves it out."""
    return Field(
        default=None,
        primary_key=primary_key,
        nullable=False,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": NOW},
    )


def updated_at_field() -> Any:
    """Last change time, kept by the `set_updated_at` trigger."""
    return Field(
        default=None,
        nullable=False,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": NOW},
    )


def timestamp_field() -> Any:
    """An optional moment, with time zone."""
    return Field(default=None, nullable=True, sa_type=DateTime(timezone=True))


def jsonb_field(*, default: Any, server_default: str) -> Any:
    """A JSONB document that is never NULL."""
    factory = (lambda: dict(default)) if isinstance(default, dict) else (lambda: list(default))
    return Field(
        default_factory=factory,
        nullable=False,
        sa_type=JSONB,
        sa_column_kwargs={"server_default": text(f"'{server_default}'::jsonb")},
    )


def currency_field(*, nullable: bool = False) -> Any:
    """An ISO 4217 currency code."""
    return Field(default=None if nullable else ..., nullable=nullable, sa_type=CHAR(3))


OnDelete = Literal["CASCADE", "SET NULL", "RESTRICT"]


def fk_field(target: str, *, ondelete: OnDelete, nullable: bool) -> Any:
    """A foreign key to `target` ("table.column")."""
    return Field(
        default=None if nullable else ...,
        foreign_key=target,
        ondelete=ondelete,
        nullable=nullable,
    )


__all__ = [
    "NOW",
    "created_at_field",
    "currency_field",
    "datetime",
    "enum_field",
    "fk_field",
    "id_field",
    "jsonb_field",
    "tenant_field",
    "timestamp_field",
    "updated_at_field",
    "uuid",
]


def enum_field(
    vocabulary: type[StrEnum], *, length: int, default: Any = ..., server_default: str | None = None
) -> Any:
    """A value of a closed vocabulary, stored as varchar and guarded by a CHECK in the migration."""
    kwargs: dict[str, Any] = {}
    if server_default is not None:
        kwargs["server_default"] = server_default
    return Field(
        default=default,
        sa_type=Enum(
            vocabulary,
            native_enum=False,
            create_constraint=False,
            length=length,
            values_callable=lambda members: [member.value for member in members],
        ),
        sa_column_kwargs=kwargs,
    )
