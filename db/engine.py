"""Engines and pools, built explicitly by the composition root and disposed by it."""

from __future__ import annotations

from typing import Any

from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, NullPool, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.urls import libpq_url, sqlalchemy_url

# prepare_threshold=None: no server-side prepared statements, which a PgBouncer in
# transaction mode would hand to the wrong server connection.
PGBOUNCER_SAFE: dict[str, Any] = {"prepare_threshold": None}


def create_app_engine(url: str, *, pool_size: int, max_overflow: int = 0) -> AsyncEngine:
    """The application's async engine (psycopg 3), as the runtime role."""
    return create_async_engine(
        sqlalchemy_url(url),
        connect_args=PGBOUNCER_SAFE,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
    )


def create_owner_engine(url: str) -> Engine:
    """A short-lived sync engine for migrations and maintenance, as the schema owner."""
    return create_engine(sqlalchemy_url(url), connect_args=PGBOUNCER_SAFE, poolclass=NullPool)


def create_checkpoint_pool(url: str, *, min_size: int, max_size: int) -> AsyncConnectionPool[Any]:
    """A psycopg pool shaped as LangGraph's AsyncPostgresSaver needs it, but PgBouncer-safe.

    `AsyncPostgresSaver.from_conn_string` hard-codes prepared statements, so the pool is
    built here: autocommit, dict rows, no prepared statements. It is opened by the caller.
    """
    kwargs: dict[str, Any] = {"autocommit": True, "row_factory": dict_row, **PGBOUNCER_SAFE}
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        libpq_url(url),
        min_size=min_size,
        max_size=max_size,
        kwargs=kwargs,
        open=False,
        check=AsyncConnectionPool.check_connection,
    )
    return pool


__all__ = [
    "DictRow",
    "create_app_engine",
    "create_checkpoint_pool",
    "create_owner_engine",
]
