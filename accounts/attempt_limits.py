"""Sign-in attempt limits: failed password sign-ins counted in sliding windows, per account and
per client address; while a window is full, every attempt it covers is refused.

The rule (docs/security.md): a failure counts; a success does not (a hundred travellers signing
in at once from one office are never limited). When an account's window holds
`per_account` failures, or an address's `per_address`, every attempt at that account or from
that address, the right password included, is refused until the oldest failure leaves the
window: the refusal says when. The windows live in Redis (the `limits` library's moving
window) and, when Redis is down or not configured, in PostgreSQL (`sign_in_failures`). Keys are
keyed hashes (HMAC-SHA-256 with the app's secret): neither store holds an address or an email.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.directory import lookup_account
from db.analytics import event_row
from db.chat_log import EventRow
from db.models.enums import EventType
from db.unit_of_work import resolve_tenant

log = logging.getLogger(__name__)
T = TypeVar("T")
Limit = Literal["account", "address"]
REDIS_PREFIX = "travelhub:sign-in"


@dataclass(frozen=True)
class AttemptRule:
    """How many failures a window holds before it refuses (0: no limit), and its length."""

    per_account: int = 10
    per_address: int = 100
    window_seconds: int = 900


class SignInLimited(Exception):
    """An attempt refused because a window is full; `retry_after`: seconds until it is not."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(limit, retry_after)
        self.limit = limit
        self.retry_after = retry_after

    @property
    def sentence(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
        return f"Too many sign-in attempts: please wait {wait} and try again."


class FailureWindows(Protocol):
    """Where failures are counted: `wait` is the seconds until the key's window holds fewer
    than `limit` failures (None: it does now); `count` adds one unless the window is full."""

    name: str

    async def wait(self, key: str, limit: int, window: int) -> float | None: ...

    async def count(self, key: str, limit: int, window: int) -> None: ...


class RedisWindows:
    """Moving windows in Redis through `limits`, on the app's own connection pool."""

    name = "redis"

    def __init__(self, redis: Redis, *, prefix: str = REDIS_PREFIX) -> None:
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=prefix,
            wrap_exceptions=True,
            # limits types its options as scalars, but hands them to redis-py's client.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def wait(self, key: str, limit: int, window: int) -> float | None:
        stats = await self._limiter.get_window_stats(RateLimitItemPerSecond(limit, window), key)
        return None if stats.remaining > 0 else max(0.0, stats.reset_time - time.time())

    async def count(self, key: str, limit: int, window: int) -> None:
        await self._limiter.hit(RateLimitItemPerSecond(limit, window), key)


class PostgresWindows:
    """Moving windows in `sign_in_failures`, timed by the database's clock."""

    name = "postgresql"

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def wait(self, key: str, limit: int, window: int) -> float | None:
        # The limit-th newest failure in the window: the window is full until it leaves.
        query = text(
            "SELECT extract(epoch FROM failed_at + make_interval(secs => :window)"
            " - clock_timestamp()) FROM sign_in_failures"
            " WHERE key_hash = :key"
            " AND failed_at > clock_timestamp() - make_interval(secs => :window)"
            " ORDER BY failed_at DESC OFFSET :skip LIMIT 1"
        )
        async with self._sessions() as session:
            connection = await session.connection()
            found = await connection.execute(
                query, {"key": key, "window": window, "skip": limit - 1}
            )
            seconds = found.scalar()
        return None if seconds is None else max(0.0, float(seconds))

    async def count(self, key: str, limit: int, window: int) -> None:
        del limit, window  # a refused attempt is never counted, so the window rarely overfills
        async with self._sessions() as session:
            connection = await session.connection()
            await connection.execute(
                text(
                    "INSERT INTO sign_in_failures (key_hash) VALUES (:key) ON CONFLICT DO NOTHING"
                ),
                {"key": key},
            )
            await session.commit()


class EventSink(Protocol):
    """Where analytics go when nobody waits for them (the chat log)."""

    def post(self, tenant_id: uuid.UUID, events: Sequence[EventRow]) -> None: ...


class AttemptLimits:
    """The rule applied to password sign-ins: `attempt` runs a check unless a window is full,
    and counts it when it fails."""

    def __init__(
        self,
        rule: AttemptRule,
        *,
        sessions: async_sessionmaker[AsyncSession],
        secret: str,
        redis: FailureWindows | None = None,
        events: EventSink | None = None,
        default_tenant: str = "default",
    ) -> None:
        self.rule = rule
        self._sessions = sessions
        self._secret = secret.encode()
        self._redis = redis
        self._postgres = PostgresWindows(sessions)
        self._events = events
        self._default_tenant = default_tenant
        self._redis_down = False

    async def attempt(
        self, email: str, address: str | None, check: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        """`check()`'s answer (None: the attempt failed, and is counted); SignInLimited
        before anything is checked while a window the attempt falls in is full."""
        windows = self._windows(email, address)
        waits = [(limit, await self._wait(key, size)) for limit, key, size in windows]
        full = [(limit, wait) for limit, wait in waits if wait is not None]
        if full:
            limit, wait = max(full, key=lambda pair: pair[1])
            refused = SignInLimited(limit, max(1, math.ceil(wait)))
            await self._record(email, refused)
            raise refused
        answer = await check()
        if answer is None:
            for _limit, key, size in windows:
                await self._count(key, size)
        return answer

    def _windows(self, email: str, address: str | None) -> list[tuple[Limit, str, int]]:
        rule, windows = self.rule, list[tuple[Limit, str, int]]()
        if rule.per_account > 0:
            account = self._key("account", email.strip().lower())
            windows.append(("account", account, rule.per_account))
        if rule.per_address > 0 and address:
            windows.append(("address", self._key("address", address), rule.per_address))
        return windows

    def _key(self, kind: Limit, value: str) -> str:
        message = f"{kind}:{value}".encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    async def _wait(self, key: str, limit: int) -> float | None:
        window = self.rule.window_seconds
        if self._redis is not None:
            try:
                wait = await self._redis.wait(key, limit, window)
                self._redis_up()
                return wait
            except (StorageError, RedisError) as error:
                self._redis_failed(error)
        return await self._postgres.wait(key, limit, window)

    async def _count(self, key: str, limit: int) -> None:
        window = self.rule.window_seconds
        if self._redis is not None:
            try:
                await self._redis.count(key, limit, window)
                self._redis_up()
                return
            except (StorageError, RedisError) as error:
                self._redis_failed(error)
        await self._postgres.count(key, limit, window)

    @property
    def store(self) -> str:
        """Where the windows are kept right now."""
        return self._postgres.name if self._redis is None or self._redis_down else self._redis.name

    def _redis_failed(self, error: Exception) -> None:
        if not self._redis_down:
            log.warning("sign-in limits: Redis is down, counting in PostgreSQL: %s", error)
        self._redis_down = True

    def _redis_up(self) -> None:
        if self._redis_down:
            log.info("sign-in limits: Redis is back")
        self._redis_down = False

    async def _record(self, email: str, refused: SignInLimited) -> None:
        """The analytics event of a refusal: in the account's tenant when there is one, else
        the default tenant's; its properties name no address and no email."""
        if self._events is None:
            return
        account = await lookup_account(self._sessions, email)
        try:
            tenant = (
                account["tenant_id"]
                if account is not None
                else await resolve_tenant(self._sessions, self._default_tenant)
            )
        except LookupError:
            log.warning("sign-in limited; no tenant %r to record it in", self._default_tenant)
            return
        properties = {
            "limit": refused.limit,
            "retry_after_seconds": refused.retry_after,
            "store": self.store,
        }
        user = account["id"] if account is not None else None
        self._events.post(
            tenant,
            [event_row(EventType.SIGN_IN_LIMITED, tenant=tenant, user=user, properties=properties)],
        )
