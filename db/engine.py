"""Engines and pools, built explicitly by the composition root and disposed by it."""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.adapt import AdaptersMap
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, NullPool, create_engine, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.typed_arrays import register_typed_arrays
from db.urls import libpq_url, sqlalchemy_url

# prepare_threshold=None: no server-side prepared statements, which a PgBouncer in
# transaction mode would hand to the wrong server connection.
PGBOUNCER_SAFE: dict[str, Any] = {"prepare_threshold": None}

CONNECT_TIMEOUT_SECONDS = 5
"""A server that accepts the connection but never answers (a half-dead host, a stuck proxy)
costs this long, not the operating system's minutes."""

CONNECTION_LOST: tuple[type[Exception], ...] = (
    psycopg.OperationalError,  # the pool's PoolTimeout included
    psycopg.InterfaceError,
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
)
"""What a query raises when the database could not be reached or its connection broke (a
restart, a terminated backend, a network reset). Pools check connections before lending them,
so the next attempt reconnects: the person can be told to try again in a moment."""

_CONNECT: dict[str, Any] = {**PGBOUNCER_SAFE, "connect_timeout": CONNECT_TIMEOUT_SECONDS}


def create_app_engine(
    url: str, *, pool_size: int, max_overflow: int = 0, pool_timeout: float = 30.0
) -> AsyncEngine:
    """The application's async engine (psycopg 3), as the runtime role. `pool_timeout`:
    seconds to wait for a free connection before `sqlalchemy.exc.TimeoutError`."""
    return create_async_engine(
        sqlalchemy_url(url),
        connect_args=_CONNECT,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
    )


def create_owner_engine(url: str) -> Engine:
    """A short-lived sync engine for migrations and maintenance, as the schema owner."""
    return create_engine(sqlalchemy_url(url), connect_args=PGBOUNCER_SAFE, poolclass=NullPool)


class SweepingPool(AsyncConnectionPool[AsyncConnection[Any]]):
    """A psycopg pool that checks a connection before lending it, and on finding one dead,
    checks all the others at once (a dead one means the server went away).

    The check asks the server to answer only when something (a closing notice, the end of
    the stream) waits on the idle connection's socket: no round trip per loan otherwise.
    Measurements: docs/performance.md and docs/reliability.md.
    """

    async def getconn(self, timeout: float | None = None) -> AsyncConnection[Any]:
        connection = await super().getconn(timeout)
        if not _heard_from(connection):
            return connection
        try:
            await self.check_connection(connection)
        except psycopg.Error:
            await self.putconn(connection)  # broken: the pool drops it and opens another
            await self.check()
            return await super().getconn(timeout)
        except BaseException:
            await self.putconn(connection)
            raise
        return connection


def _heard_from(connection: AsyncConnection[Any]) -> bool:
    """Whether anything (a closing notice, the end of the stream) waits on an idle connection."""
    if connection.closed:
        return True
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)


def create_checkpoint_pool(url: str, *, min_size: int, max_size: int) -> AsyncConnectionPool[Any]:
    """A psycopg pool shaped as LangGraph's AsyncPostgresSaver needs it, but PgBouncer-safe
    (its `from_conn_string` hard-codes prepared statements): autocommit, dict rows, no
    prepared statements, the chat log's typed arrays. It is opened by the caller."""
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "row_factory": dict_row,
        "context": _checkpoint_pool_adapters(),
        **_CONNECT,
    }
    return SweepingPool(
        libpq_url(url), min_size=min_size, max_size=max_size, kwargs=kwargs, open=False
    )


def _checkpoint_pool_adapters() -> AdaptersMap:
    """psycopg's adapters, and the chat log's typed arrays (db/typed_arrays.py)."""
    adapters = AdaptersMap(psycopg.adapters)
    register_typed_arrays(adapters)
    return adapters


__all__ = [
    "CONNECTION_LOST",
    "DictRow",
    "create_app_engine",
    "create_checkpoint_pool",
    "create_owner_engine",
]
