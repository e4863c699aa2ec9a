"""Failed password sign-ins, by keyed hash: the attempt limits' store when Redis is not up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CHAR, DateTime, text
from sqlmodel import Field, SQLModel


class SignInFailure(SQLModel, table=True):
    """One failed sign-in; no tenant (none is known before sign-in) and no personal data."""

    __tablename__ = "sign_in_failures"

    key_hash: str = Field(
        sa_type=CHAR(64),
        primary_key=True,
        description="HMAC-SHA-256, keyed with the app's secret, of the account or address.",
    )
    failed_at: datetime = Field(
        sa_type=DateTime(timezone=True),
        primary_key=True,
        sa_column_kwargs={"server_default": text("clock_timestamp()")},
    )
