"""Tenants: the organisations whose data row-level security keeps apart."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from db.models.columns import created_at_field, enum_field, id_field, updated_at_field
from db.models.enums import TenantStatus


class TenantBase(SQLModel):
    slug: str = Field(max_length=63, description="Short lower-case name, e.g. `acme-travel`.")
    name: str = Field(max_length=255)
    status: TenantStatus = enum_field(
        TenantStatus, length=20, default=TenantStatus.ACTIVE, server_default="active"
    )


class Tenant(TenantBase, table=True):
    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("slug", name="uq_tenants_slug"),)

    id: uuid.UUID = id_field()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()
