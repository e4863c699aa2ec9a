"""LangGraph's PostgreSQL checkpointer, with as many calls in flight as its pool has connections.

`AsyncPostgresSaver` takes one asyncio lock around every call, even over a pool, so fifty
concurrent conversations checkpoint one after another (reported upstream). Over a pool each call
has its own connection, so a semaphore sized to the pool is all the exclusion needed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg_pool import AsyncConnectionPool


class PooledPostgresSaver(AsyncPostgresSaver):
    """`AsyncPostgresSaver` over a pool, its calls concurrent up to the pool's size."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        super().__init__(conn=pool)
        # The base class only ever does `async with self.lock`: a semaphore serves.
        self.lock = asyncio.Semaphore(pool.max_size)  # type: ignore[assignment]
