"""The database tier of the search cache (design sections 2.4, 5.2, 9.2); shared by tenants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CHAR, DateTime, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from db.models.columns import created_at_field, id_field, timestamp_field


class SearchCacheBase(SQLModel):
    id: uuid.UUID = id_field()
    search_hash: str = Field(sa_type=CHAR(64), description="SHA-256 of the normalised search.")
    provider: str = Field(max_length=20)
    search_params: dict[str, Any] = Field(sa_type=JSONB)
    results: list[dict[str, Any]] = Field(sa_type=JSONB)
    result_count: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    hit_count: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    last_hit_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))


class FlightSearchCache(SearchCacheBase, table=True):
    __tablename__ = "flight_search_cache"
    __table_args__ = (
        UniqueConstraint("search_hash", name="uq_flight_search_cache_search_hash"),
        Index("ix_flight_search_cache_expires_at", "expires_at"),
    )


class HotelSearchCache(SearchCacheBase, table=True):
    __tablename__ = "hotel_search_cache"
    __table_args__ = (
        UniqueConstraint("search_hash", name="uq_hotel_search_cache_search_hash"),
        Index("ix_hotel_search_cache_expires_at", "expires_at"),
    )
