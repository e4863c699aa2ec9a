"""The two-tier search cache: Redis (minutes) in front of PostgreSQL (`*_search_cache`),
in front of the provider, with one provider call per key however many ask at once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from ops.tracing import span
from tools.cache_key import SearchKind, canonical_json
from tools.single_flight import LockUnavailable, PostgresFlight, RedisFlight

log = logging.getLogger(__name__)

Tier = Literal["redis", "db", "provider"]
TABLES: dict[SearchKind, str] = {"flight": "flight_search_cache", "hotel": "hotel_search_cache"}
REDIS_PREFIX = "travelhub:search"
REDIS_RETRY_AFTER = 5.0
"""Seconds to leave Redis alone after it failed, so a dead Redis costs one timeout, not one
per search; then it is tried again and the hot tier resumes by itself."""


@dataclass(frozen=True)
class Cached:
    tier: Tier
    results: list[dict[str, Any]]


class HitCounter:
    """Hits counted in memory and written in one statement per flush, so a cache hit never
    waits for a database write."""

    def __init__(self) -> None:
        self._pending: dict[tuple[SearchKind, str], int] = {}

    def add(self, kind: SearchKind, key: str) -> None:
        self._pending[(kind, key)] = self._pending.get((kind, key), 0) + 1

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        async with sessions() as session:
            for kind in TABLES:
                rows = [{"key": key, "hits": n} for (k, key), n in pending.items() if k == kind]
                if rows:
                    await (await session.connection()).execute(
                        text(
                            f"UPDATE {TABLES[kind]} SET hit_count = hit_count + :hits,"
                            " last_hit_at = now() WHERE search_hash = :key"
                        ),
                        rows,
                    )
            await session.commit()
        return sum(pending.values())


class SearchCache:
    """Redis -> database -> provider, single-flight across tasks and processes.

    `locks`: the small engine whose connections hold the advisory locks when Redis is not
    there (never the app's pool); `lease`: how long a Redis lock outlives a dead holder."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis | None,
        locks: AsyncEngine,
        lease: timedelta,
        db_ttl: timedelta,
        redis_ttl: timedelta = timedelta(minutes=5),
        redis_prefix: str = REDIS_PREFIX,
        redis_retry_after: float = REDIS_RETRY_AFTER,
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        self._db_ttl = db_ttl
        self._redis_ttl = redis_ttl
        self._prefix = redis_prefix
        self._retry_after = redis_retry_after
        self._inflight: dict[str, asyncio.Future[Cached]] = {}
        self._redis_down_until = 0.0
        self._redis_flight: RedisFlight[Cached] | None = (
            None
            if redis is None
            else RedisFlight(redis, prefix=f"{redis_prefix}:lock", lease=lease)
        )
        self._db_flight: PostgresFlight[Cached] = PostgresFlight(locks)
        self.hits = HitCounter()

    async def get_or_fetch(
        self,
        kind: SearchKind,
        key: str,
        *,
        provider: str,
        params: dict[str, Any],
        fetch: Callable[[], Awaitable[list[dict[str, Any]]]],
    ) -> Cached:
        """The results for `key`, from the fastest tier that has them."""
        with span(
            "search.cache", {"travelhub.search.kind": kind, "travelhub.provider": provider}
        ) as current:
            found = await self._get_or_fetch(
                kind, key, provider=provider, params=params, fetch=fetch
            )
            current.set_attribute("travelhub.search.tier", found.tier)
            return found

    async def _get_or_fetch(
        self,
        kind: SearchKind,
        key: str,
        *,
        provider: str,
        params: dict[str, Any],
        fetch: Callable[[], Awaitable[list[dict[str, Any]]]],
    ) -> Cached:
        results = await self._redis_get(kind, key)
        if results is not None:
            self.hits.add(kind, key)
            return Cached("redis", results)
        running = self._inflight.get(key)
        if running is not None:  # the same search is on its way in this process
            return await asyncio.shield(running)
        future: asyncio.Future[Cached] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            found = await self._from_db_or_provider(kind, key, provider, params, fetch)
            future.set_result(found)
            return found
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._inflight[key]

    async def _from_db_or_provider(
        self,
        kind: SearchKind,
        key: str,
        provider: str,
        params: dict[str, Any],
        fetch: Callable[[], Awaitable[list[dict[str, Any]]]],
    ) -> Cached:
        found = await self._from_db(kind, key)
        if found is not None:
            return found

        async def from_redis() -> Cached | None:
            results = await self._redis_get(kind, key)
            if results is None:
                return None
            self.hits.add(kind, key)
            return Cached("redis", results)

        async def from_provider() -> Cached:
            results = await fetch()
            await self._db_put(kind, key, provider, params, results)
            await self._redis_set(kind, key, results)
            return Cached("provider", results)

        # Across processes: one provider call per key. No connection of the app's pool is
        # held while the provider answers; whoever waited finds the winner's results.
        name = f"{kind}:{key}"
        if self._redis_flight is not None and self._redis_usable() is not None:
            try:
                return await self._redis_flight.run(
                    name,
                    peek=from_redis,
                    ready=lambda: self._from_db(kind, key),
                    work=from_provider,
                )
            except LockUnavailable as error:
                self._redis_failed(error)
        return await self._db_flight.run(
            name, ready=lambda: self._from_db(kind, key), work=from_provider
        )

    async def _from_db(self, kind: SearchKind, key: str) -> Cached | None:
        results = await self._db_get(kind, key)
        if results is None:
            return None
        self.hits.add(kind, key)
        await self._redis_set(kind, key, results)  # promoted to the hot tier
        return Cached("db", results)

    async def _db_put(
        self,
        kind: SearchKind,
        key: str,
        provider: str,
        params: dict[str, Any],
        results: list[dict[str, Any]],
    ) -> None:
        async with self._sessions() as session:
            await (await session.connection()).execute(
                text(
                    f"INSERT INTO {TABLES[kind]}"
                    " (search_hash, provider, search_params, results, result_count, expires_at)"
                    " VALUES (:key, :provider, CAST(:params AS jsonb), CAST(:results AS jsonb),"
                    " :count, now() + make_interval(secs => :ttl))"
                    " ON CONFLICT (search_hash) DO UPDATE SET results = EXCLUDED.results,"
                    " result_count = EXCLUDED.result_count, expires_at = EXCLUDED.expires_at,"
                    " created_at = now(), hit_count = 0, last_hit_at = NULL"
                ),
                {
                    "key": key,
                    "provider": provider,
                    "params": canonical_json(params),
                    "results": json.dumps(results),
                    "count": len(results),
                    "ttl": self._db_ttl.total_seconds(),
                },
            )
            await session.commit()

    async def _db_get(self, kind: SearchKind, key: str) -> list[dict[str, Any]] | None:
        async with self._sessions() as session:
            row = (
                await (await session.connection()).execute(
                    text(
                        f"SELECT results FROM {TABLES[kind]}"
                        " WHERE search_hash = :key AND expires_at > now()"
                    ),
                    {"key": key},
                )
            ).first()
        return None if row is None else list(row[0])

    def _redis_usable(self) -> Redis | None:
        if self._redis is None or time.monotonic() < self._redis_down_until:
            return None
        return self._redis

    def _redis_failed(self, error: RedisError | LockUnavailable) -> None:
        if self._redis_down_until == 0.0:
            log.warning("Redis unavailable, serving searches from the database: %s", error)
        self._redis_down_until = time.monotonic() + self._retry_after

    def _redis_recovered(self) -> None:
        if self._redis_down_until != 0.0:
            log.info("Redis is back; the hot cache tier resumes")
            self._redis_down_until = 0.0

    async def _redis_get(self, kind: SearchKind, key: str) -> list[dict[str, Any]] | None:
        redis = self._redis_usable()
        if redis is None:
            return None
        try:
            raw = await redis.get(f"{self._prefix}:{kind}:{key}")
        except RedisError as error:
            self._redis_failed(error)
            return None
        self._redis_recovered()
        return None if raw is None else list(json.loads(raw))

    async def _redis_set(self, kind: SearchKind, key: str, results: list[dict[str, Any]]) -> None:
        redis = self._redis_usable()
        if redis is None:
            return
        try:
            await redis.set(f"{self._prefix}:{kind}:{key}", json.dumps(results), ex=self._redis_ttl)
        except RedisError as error:
            self._redis_failed(error)
        else:
            self._redis_recovered()
