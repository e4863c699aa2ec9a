"""One holder per key across processes, without a connection of the app's pool: a Redis
lease when Redis is up, a PostgreSQL advisory lock on a small pool of its own otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Generic, TypeVar

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
T = TypeVar("T")

LEASE_MARGIN_SECONDS = 10.0
"""How long a lease outlives the provider's budget: the database write after the call, and a
busy event loop, fit in it."""
FIRST_POLL_SECONDS = 0.02
LAST_POLL_SECONDS = 0.25
"""A waiter looks for the holder's result at 20 ms, then twice as long each time, up to 250 ms."""


class LockUnavailable(Exception):
    """Redis failed while the lock was taken or waited for: nothing has run yet."""


def lease_for(provider_budget_seconds: float) -> timedelta:
    """A lease that covers one provider request, its retries included, and the write after."""
    return timedelta(seconds=provider_budget_seconds + LEASE_MARGIN_SECONDS)


class RedisFlight(Generic[T]):
    """`SET key token NX PX lease` (redis-py's Lock): the token is drawn anew for each holder,
    and only the holder of that token can release or extend the lease (compare-and-delete,
    compare-and-pexpire, in Lua). A holder that dies lets the lease run out. Waiters hold
    nothing: they poll for the holder's result and take over when the lock is free."""

    def __init__(self, redis: Redis, *, prefix: str, lease: timedelta) -> None:
        self._redis = redis
        self._prefix = prefix
        self.lease = lease

    def lock(self, name: str) -> Lock:
        """A fresh lock on `name`, for one holder (its token lives in the object, not a thread)."""
        return Lock(
            self._redis,
            f"{self._prefix}:{name}",
            timeout=self.lease.total_seconds(),
            thread_local=False,
        )

    async def run(
        self,
        name: str,
        *,
        peek: Callable[[], Awaitable[T | None]],
        ready: Callable[[], Awaitable[T | None]],
        work: Callable[[], Awaitable[T]],
    ) -> T:
        """`work()` by whoever holds `name`; a waiter returns what `peek()` finds (Redis only),
        a new holder first what `ready()` finds (the holder before it may have finished).

        Raises `LockUnavailable` when Redis fails before the work started."""
        lock = self.lock(name)
        poll = FIRST_POLL_SECONDS
        while True:
            try:
                if await lock.acquire(blocking=False):
                    break
            except RedisError as error:
                raise LockUnavailable(str(error)) from error
            await asyncio.sleep(poll)
            poll = min(poll * 2, LAST_POLL_SECONDS)
            found = await peek()
            if found is not None:
                return found
        try:
            async with self._kept(lock):
                found = await ready()
                return found if found is not None else await work()
        finally:
            await _release(lock)

    @contextlib.asynccontextmanager
    async def _kept(self, lock: Lock) -> AsyncIterator[None]:
        # A live holder whose work outlasts the lease keeps it; a dead one stops renewing.
        keeper = asyncio.create_task(self._renew(lock))
        try:
            yield
        finally:
            keeper.cancel()

    async def _renew(self, lock: Lock) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await lock.reacquire()
            except LockError:
                log.warning("lost the search lock %s: its lease ran out", lock.name)
                return
            except RedisError as error:
                log.info("could not renew the search lock %s: %s", lock.name, error)


async def _release(lock: Lock) -> None:
    try:
        await lock.release()
    except LockError:
        # Fencing: the lease ran out and someone else holds the key now; theirs stays.
        log.warning("the search lock %s was no longer ours to release", lock.name)
    except RedisError as error:
        log.info("could not release the search lock %s; its lease will: %s", lock.name, error)


class PostgresFlight(Generic[T]):
    """`pg_advisory_xact_lock` inside one transaction (PgBouncer's transaction mode keeps it
    on one server connection) on a connection of `engine`, a pool of its own: waiting for a
    provider holds one of its few connections and never one of the app's pool.

    When all of them are taken by other searches for longer than the pool's timeout, the
    search runs without the cross-process lock: the pool bounds the connections parked on
    locks, not the searches that may run (at worst a second provider call for one key)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def run(
        self,
        name: str,
        *,
        ready: Callable[[], Awaitable[T | None]],
        work: Callable[[], Awaitable[T]],
    ) -> T:
        """`work()` by whoever holds `name`, or what `ready()` finds once the lock is ours."""
        try:
            connection = await self._engine.connect()
        except exc.TimeoutError:
            log.info("every search lock connection is busy; %s runs without one", name)
            return await work()
        try:
            async with connection.begin():
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock_id(name)}
                )
                found = await ready()
                return found if found is not None else await work()
        finally:
            await connection.close()


def lock_id(name: str) -> int:
    """A signed 64-bit advisory-lock id for a name."""
    digest = hashlib.sha256(f"search-cache:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
