"""The chat log: every turn's messages and events, group-committed with those of concurrent turns.

Whatever is waiting when a transaction can start goes in one statement (`chat_log_write`, by
named parameters), one round trip. A durable write returns once committed; analytics (`post`)
ride along with the next write, or go alone after `linger_seconds`. Rows of other tables a turn
commits with its messages (`Table`, e.g. its checkpoint) go in the same statement. How this was
measured: docs/performance.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, NamedTuple

import psycopg
from psycopg_pool import AsyncConnectionPool

from db.typed_arrays import (
    IntArray,
    JsonbArray,
    TextArray,
    TypedArray,
    UuidArray,
)
from ops import metrics
from ops.tracing import Traced, here, span

log = logging.getLogger(__name__)


class MessageRow(NamedTuple):
    """One chat_messages row (created_at is the database's: the commit's transaction time)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    session_id: uuid.UUID
    role: str
    content: str
    tool_calls: str | None
    """JSON text, or None."""
    tool_call_id: str | None
    tool_name: str | None
    model_name: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    attributes: str
    """JSON text."""


class EventRow(NamedTuple):
    """One analytics_events row."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    session_id: uuid.UUID | None
    event_type: str
    properties: str
    """JSON text."""


@dataclass(frozen=True)
class Table:
    """Rows the chat log writes: `chat_log_write`'s parameter for each column, in row order."""

    parameters: tuple[tuple[str, type[TypedArray[Any]]], ...]

    @cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.parameters)

    @cached_property
    def _kinds(self) -> tuple[type[TypedArray[Any]], ...]:
        return tuple(kind for _, kind in self.parameters)

    def arrays(self, rows: Sequence[Sequence[Any]]) -> dict[str, TypedArray[Any]]:
        """The rows as one typed array per parameter, as `unnest` takes them."""
        return dict(zip(self._names, columns_of(rows, self._kinds), strict=True))


# A message's and an event's first column is the tenant its writer claimed (the rows are
# written under that tenant's row-level security).
MESSAGES = Table((
    ("m_claim", UuidArray), ("m_id", UuidArray), ("m_tenant", UuidArray),
    ("m_session", UuidArray), ("m_role", TextArray), ("m_content", TextArray),
    ("m_tool_calls", JsonbArray), ("m_tool_call_id", TextArray), ("m_tool_name", TextArray),
    ("m_model_name", TextArray), ("m_prompt_tokens", IntArray),
    ("m_completion_tokens", IntArray), ("m_latency_ms", IntArray), ("m_attributes", JsonbArray),
))  # fmt: skip
EVENTS = Table((
    ("e_claim", UuidArray), ("e_id", UuidArray), ("e_tenant", UuidArray), ("e_user", UuidArray),
    ("e_session", UuidArray), ("e_type", TextArray), ("e_properties", JsonbArray),
))  # fmt: skip


@cache
def write_statement(beside: tuple[Table, ...] = ()) -> str:
    """`chat_log_write` called with the chat log's tables and `beside`, each array named and
    cast (binary: psycopg's text format escapes every quote of the JSON contents, 6x slower)."""
    parameters = [
        f"{name} => %({name})b::{kind.sql_type}"
        for table in (MESSAGES, EVENTS, *beside)
        for name, kind in table.parameters
    ]
    return (
        "SELECT chat_log_write(p_durable => %(p_durable)b::boolean, " + ", ".join(parameters) + ")"
    )


@dataclass
class _Entry:
    tenant_id: uuid.UUID
    messages: list[MessageRow]
    events: list[EventRow]
    committed: asyncio.Future[None] | None
    """Set once written; None for analytics nobody waits on."""
    beside: dict[Table, list[Sequence[Any]]] = field(default_factory=dict)
    """Rows of other tables, committed with these."""
    traced: Traced | None = field(default_factory=here)
    """The span that queued them (a write's, or a turn's): the commit's span links to it."""


@dataclass
class ChatLog:
    """Group-commits chat messages and analytics events; one instance per process."""

    pool: AsyncConnectionPool[Any]
    """Autocommit connections (the checkpointer's pool): transactions are explicit here."""
    linger_seconds: float = 0.2
    """How long analytics alone wait for company before they are written."""
    in_flight: int = 2
    """Transactions at once: one fills while another waits for its commit."""
    transactions: int = 0
    """Transactions committed so far (group commit: fewer than the writes)."""
    _waiting: list[_Entry] = field(default_factory=list)
    _urgent: asyncio.Event = field(default_factory=asyncio.Event)
    _writer: asyncio.Task[None] | None = None
    _flushing: set[asyncio.Task[None]] = field(default_factory=set)
    _slots: asyncio.Semaphore | None = None
    _busy: int = 0
    """Transactions in flight."""
    _closing: bool = False

    async def write(
        self,
        tenant_id: uuid.UUID,
        messages: Sequence[MessageRow] = (),
        events: Sequence[EventRow] = (),
        beside: Mapping[Table, Sequence[Sequence[Any]]] | None = None,
        afterwards: Sequence[EventRow] = (),
    ) -> None:
        """Write the rows (and `beside`, rows of other tables: a turn's checkpoint); return once
        they are committed (raises if they could not be). `afterwards`: analytics posted once
        they are, even if the caller stopped waiting (a turn past its deadline)."""
        with span("chat_log.write", {"travelhub.chat_log.messages": len(messages)}):
            await self._write(tenant_id, messages, events, beside, afterwards)

    async def _write(
        self,
        tenant_id: uuid.UUID,
        messages: Sequence[MessageRow],
        events: Sequence[EventRow],
        beside: Mapping[Table, Sequence[Sequence[Any]]] | None,
        afterwards: Sequence[EventRow],
    ) -> None:
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if afterwards:
            follow = list(afterwards)

            def post_once_committed(done: asyncio.Future[None]) -> None:
                if not done.cancelled() and done.exception() is None:
                    self.post(tenant_id, follow, promptly=True)

            committed.add_done_callback(post_once_committed)
        rows_beside = {table: list(rows) for table, rows in (beside or {}).items() if rows}
        self._enqueue(_Entry(tenant_id, list(messages), list(events), committed, rows_beside))
        # The caller going away (a cancelled turn) must not cancel a write others share.
        await asyncio.shield(committed)

    def post(
        self, tenant_id: uuid.UUID, events: Sequence[EventRow], *, promptly: bool = False
    ) -> None:
        """Queue analytics events: written with the next flush, nobody waits for them.

        `promptly`: when no transaction is in flight, start one for them now rather than
        wait `linger_seconds` for company (a turn's own events, posted once its reply is
        stored: the server writes them while the traveller reads). When one is in flight,
        they ride along with the next as any analytics do."""
        if events:
            self._enqueue(_Entry(tenant_id, [], list(events), None))
            if promptly and self._busy == 0:
                self._urgent.set()

    async def aclose(self) -> None:
        """Write everything still waiting (a shutdown loses no event)."""
        self._closing = True
        await self.flushed()

    async def flushed(self) -> None:
        """Return once everything queued so far is written, analytics without their linger."""
        if self._waiting:
            self._urgent.set()
        while self._writer is not None or self._flushing:
            pending = [*self._flushing, *([self._writer] if self._writer else [])]
            await asyncio.shield(asyncio.gather(*pending, return_exceptions=True))

    def _enqueue(self, entry: _Entry) -> None:
        self._waiting.append(entry)
        if entry.committed is not None:
            self._urgent.set()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_waiting())

    async def _write_waiting(self) -> None:
        slots = self._slots = self._slots or asyncio.Semaphore(self.in_flight)
        try:
            while self._waiting:
                if not self._urgent.is_set() and not self._closing:
                    try:  # only analytics so far: let a turn's rows (or more events) join
                        await asyncio.wait_for(self._urgent.wait(), self.linger_seconds)
                    except TimeoutError:
                        pass
                # Whatever arrives while every transaction is busy joins the next one.
                await slots.acquire()
                # Shared among the transactions free to start now: the server works on
                # them side by side, and the first to commit lets its turns go on (build
                # their next rows here) while the others are still being written. Only
                # turns waiting on a commit are worth a transaction of their own: analytics
                # ride along with them.
                free = self.in_flight - self._busy
                self._busy += 1
                awaited = sum(entry.committed is not None for entry in self._waiting)
                share = -(-len(self._waiting) // max(1, min(free, awaited)))
                batch = self._waiting[:share]
                del self._waiting[:share]
                if not any(entry.committed is not None for entry in self._waiting):
                    self._urgent.clear()
                flushing = asyncio.get_running_loop().create_task(self._flush(batch, slots))
                self._flushing.add(flushing)
                flushing.add_done_callback(self._flushing.discard)
        finally:
            self._writer = None

    async def _flush(self, batch: list[_Entry], slots: asyncio.Semaphore) -> None:
        try:
            await self._write_batch(batch)
        finally:
            self._busy -= 1
            slots.release()

    async def _write_batch(self, batch: list[_Entry]) -> None:
        try:
            await self._commit(batch)
        except Exception as error:
            if len(batch) == 1 or not _rolled_back(error):
                # A lost connection leaves the outcome unknown (the commit may have landed):
                # writing again could store the turn twice, so everybody hears it failed.
                _settle(batch, error)
                return
            # One bad row (or a deadlock) must not fail everybody's turn: each on its own.
            log.warning("chat log batch of %d failed (%r); writing each alone", len(batch), error)
            for entry in batch:
                try:
                    await self._commit([entry])
                except Exception as alone:
                    _settle([entry], alone)
                else:
                    _settle([entry], None)
        else:
            _settle(batch, None)

    async def _commit(self, batch: list[_Entry]) -> None:
        messages = [(entry.tenant_id, *row) for entry in batch for row in entry.messages]
        events = [(entry.tenant_id, *row) for entry in batch for row in entry.events]
        beside: dict[Table, list[Sequence[Any]]] = {}
        for entry in batch:
            for table, rows in entry.beside.items():
                beside.setdefault(table, []).extend(rows)
        params: dict[str, Any] = {
            "p_durable": any(entry.committed is not None for entry in batch),
            **MESSAGES.arrays(messages),
            **EVENTS.arrays(events),
        }
        for table, rows in beside.items():
            params.update(table.arrays(rows))
        # A commit serves the turns of its batch, so it is a trace of its own, linked to each.
        counts = {
            "travelhub.chat_log.batch": len(batch),
            "travelhub.chat_log.messages": len(messages),
            "travelhub.chat_log.events": len(events),
            "travelhub.chat_log.durable": params["p_durable"],
        }
        with span("chat_log.commit", counts, links=[e.traced for e in batch], root=True):
            async with self.pool.connection() as connection:
                started = time.perf_counter()
                # One statement, its own transaction (the pool is in autocommit), every tenant's.
                await connection.execute(write_statement(tuple(beside)), params)
                metrics.chat_log_committed(len(batch), time.perf_counter() - started)
        self.transactions += 1


def columns_of(
    rows: Sequence[Sequence[Any]], kinds: Sequence[type[TypedArray[Any]]]
) -> list[TypedArray[Any]]:
    """Rows turned into one array per column, each of its column's array type; transposed by
    `zip`, in C (a Python loop over every value was a tenth of the write path's time)."""
    if not rows:
        return [kind() for kind in kinds]
    return [kind(column) for kind, column in zip(kinds, zip(*rows, strict=True), strict=True)]


def _rolled_back(error: Exception) -> bool:
    """Whether nothing of the batch was written: the server refused it, or a value could not
    even be put into the statement (db/typed_arrays.py: a DataError before anything is sent)."""
    state = getattr(error, "sqlstate", None)
    if state is None:
        return isinstance(error, psycopg.DataError)
    # 08: connection exceptions; 57: the server shutting down or the backend terminated.
    return isinstance(state, str) and not state.startswith(("08", "57"))


def _settle(batch: list[_Entry], error: BaseException | None) -> None:
    for entry in batch:
        if entry.committed is None:
            if error is not None:
                log.error("analytics events lost: %r", error)
            continue
        if entry.committed.done():
            continue
        if error is None:
            entry.committed.set_result(None)
        else:
            entry.committed.set_exception(error)
