"""The app as it runs (build_services), and the means to hurt it at a chosen moment of a turn."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from accounts.directory import Account
from agent.bootstrap import DatabaseUrls, Services, build_services
from agent.conversation.turns import TurnResult
from agent.settings import Settings
from db.urls import RUNTIME_ROLE, libpq_url, parse
from tests.integration.agent_world import traveller as traveller  # the one way tests make one
from tests.support.proxy import Address

RECOVERY_SECONDS = 5.0
"""The issue's bound: the turn after a fault succeeds within this long, untouched by anyone."""
GIVE_UP_SECONDS = 30.0
"""The test's own patience: a turn still running after this long has hung, and fails it."""
SENTENCE = re.compile(r"[A-Z][^\n]{10,250}[.!?]")
TECHNICAL = re.compile(r"Traceback|Error\b|psycopg|sqlalchemy|SQL|\[|0x[0-9a-f]", re.IGNORECASE)


def one_clear_sentence(reply: str) -> bool:
    """A reply fit for a traveller: one line, a sentence, no exception text leaking through."""
    return SENTENCE.fullmatch(reply) is not None and TECHNICAL.search(reply) is None


@asynccontextmanager
async def running(owner: str, runtime: str, **settings: Any) -> AsyncIterator[Services]:
    """The services `travelhub serve` would build, with `settings` (by their env names)."""
    values: dict[str, Any] = {"TRAVELHUB_ENV": "test", "REDIS_URL": None, **settings}
    built = await build_services(Settings(**values), DatabaseUrls(owner, runtime))
    try:
        yield built
    finally:
        await built.aclose()


@dataclass
class Tally:
    """Every turn a test tried, for its figures: how many, how many failed, how slow."""

    seconds: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    async def turn(
        self,
        services: Services,
        who: Account,
        message: str,
        thread: str | None = None,
        *,
        hang_after: float = GIVE_UP_SECONDS,
    ) -> tuple[TurnResult, float]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(hang_after):
                result = await services.conversations.turn(who, message, thread_id=thread)
        except TimeoutError:
            raise AssertionError(f"the turn {message!r} hung for {hang_after} s") from None
        elapsed = time.perf_counter() - started
        self.seconds.append(elapsed)
        return result, elapsed

    def failure(self, reply: str) -> None:
        self.failed.append(reply)

    def summary(self) -> str:
        slowest = max(self.seconds, default=0.0)
        return f"{len(self.seconds)} turns, {len(self.failed)} failed, slowest {slowest:.2f} s"


def address(url: str) -> Address:
    """Where the PostgreSQL server of `url` listens: (host, port), or its Unix socket."""
    parsed = parse(url)
    port = parsed.port or 5432
    host = parsed.host or parsed.query.get("host")
    if isinstance(host, tuple):
        host = host[-1]
    if not host or host.startswith("/"):  # the embedded server listens on a socket only
        return f"{host or '/var/run/postgresql'}/.s.PGSQL.{port}"
    return host, port


def via(url: str, port: int) -> str:
    """`url` with its server swapped for 127.0.0.1:`port` (a proxy)."""
    parsed = parse(url)
    query = {key: value for key, value in parsed.query.items() if key != "host"}
    return parsed.set(host="127.0.0.1", port=port, query=query).render_as_string(
        hide_password=False
    )


async def owner_connection(owner: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(libpq_url(owner), autocommit=True)


@asynccontextmanager
async def table_locked(
    owner: str, table: str, *, mode: str = "ACCESS EXCLUSIVE"
) -> AsyncIterator[None]:
    """`table` locked by the schema owner: any turn that touches it (in a way `mode` forbids:
    SHARE lets it read, not write) waits right there."""
    connection = await psycopg.AsyncConnection.connect(libpq_url(owner))
    try:
        await connection.execute(
            sql.SQL("LOCK TABLE {} IN {} MODE").format(sql.Identifier(table), sql.SQL(mode))
        )
        yield
    finally:
        # After a restart this connection is gone too; then there is nothing to release.
        with suppress(psycopg.Error):
            await connection.rollback()
        await connection.close()


async def app_waits_on_a_lock(owner: str, *, within: float = 10.0) -> None:
    """Return once a connection of the app's role is blocked on a lock in this database."""
    async with await owner_connection(owner) as connection:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            row = await (
                await connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND usename = %s AND wait_event_type = 'Lock'",
                    (RUNTIME_ROLE,),
                )
            ).fetchone()
            if row is not None and row[0] > 0:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"no turn reached the locked table within {within} s")


async def terminate_app_connections(owner: str) -> int:
    """pg_terminate_backend on every connection of the app's role to this database, each
    waited for (5 s at most) until its backend has exited, as an operator's kill has landed
    by the time anyone notices."""
    async with await owner_connection(owner) as connection:
        row = await (
            await connection.execute(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND usename = %s",
                (RUNTIME_ROLE,),
            )
        ).fetchone()
    return int(row[0]) if row is not None else 0


async def rows(owner: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    async with await owner_connection(owner) as connection:
        return [tuple(row) for row in await (await connection.execute(query, params)).fetchall()]
