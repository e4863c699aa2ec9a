"""LangGraph's PostgreSQL checkpointer over our pool, handing a turn's checkpoint to the turn.

Inside `checkpoint_turn` the run's checkpoint is not written: its rows go to the turn, which
commits them in the chat log's statement with its messages, and a copy stays in memory for the
thread's next turn (used when the database confirms it is still the latest). Anything else
(replay, forks, a question's pending writes) is written as `AsyncPostgresSaver` writes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.errors import UndefinedTable
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from agent.conversation.checkpoint_rows import BlobRow, CheckpointRow, checkpoint_rows

log = logging.getLogger(__name__)
REMEMBERED_THREADS = 1000
INTERRUPT = "__interrupt__"
"""The channel of a question the graph asks (the name open_chat_session looks for too)."""


class CheckpointSchemaMismatch(RuntimeError):
    """The database's checkpoint tables are not the ones the installed LangGraph expects."""


def expected_checkpoint_migration() -> int:
    """The last of LangGraph's own checkpoint migrations the installed library knows."""
    return len(AsyncPostgresSaver.MIGRATIONS) - 1


def check_checkpoint_schema(applied: int | None) -> None:
    """Refuse, in one sentence, a database whose `checkpoint_migrations` (their highest `v`,
    None: none) differ from the installed library's."""
    expected = expected_checkpoint_migration()
    if applied == expected:
        return
    library = f"langgraph-checkpoint-postgres {version('langgraph-checkpoint-postgres')}"
    if applied is None:
        raise CheckpointSchemaMismatch(
            "The database has no LangGraph checkpoint tables; run `travelhub db upgrade`."
        )
    raise CheckpointSchemaMismatch(
        f"The database's LangGraph checkpoint tables are at migration {applied}, but the"
        f" installed {library} expects {expected}: install the versions uv.lock names"
        " (make run), or migrate the database for this one."
    )


async def applied_checkpoint_migration(connection: AsyncConnection[Any]) -> int | None:
    """The highest of LangGraph's checkpoint migrations the database has applied."""
    try:
        async with connection.transaction(), connection.cursor(row_factory=tuple_row) as cursor:
            await cursor.execute("SELECT max(v) FROM checkpoint_migrations")
            row = await cursor.fetchone()
    except UndefinedTable:
        return None
    return None if row is None else row[0]


@dataclass
class TurnCheckpoints:
    """What one turn's run checkpointed: its checkpoint's rows, and the writes it started."""

    thread_id: str
    latest: str | None
    """The thread's latest checkpoint id as the database had it when the turn began."""
    awaiting_answer: bool
    """Whether that checkpoint holds a question (an interrupt) for the traveller."""
    checkpoints: list[CheckpointRow] = field(default_factory=list)
    """The run's checkpoint, for the chat log to commit with the turn's messages."""
    blobs: list[BlobRow] = field(default_factory=list)
    writes: list[asyncio.Future[Any]] = field(default_factory=list)
    """Other checkpoint writes (a question's), started in the background."""

    async def wait_for_writes(self) -> None:
        """Return once every checkpoint write of the turn is committed (raise if one failed)."""
        if self.writes:
            await asyncio.gather(*self.writes)


_TURN: ContextVar[TurnCheckpoints | None] = ContextVar("checkpoint_turn", default=None)


@contextmanager
def checkpoint_turn(
    thread_id: str, latest: str | None, *, awaiting_answer: bool
) -> Iterator[TurnCheckpoints]:
    """Run a turn's graph inside this: `PooledPostgresSaver` then starts from memory where it
    can and hands the run's checkpoint to the turn instead of writing it."""
    turn = TurnCheckpoints(thread_id, latest, awaiting_answer)
    token = _TURN.set(turn)
    try:
        yield turn
    finally:
        _TURN.reset(token)


class PooledPostgresSaver(AsyncPostgresSaver):
    """`AsyncPostgresSaver` over a pool, concurrent up to the pool's size, remembering the
    latest checkpoint of the threads whose turns it ran."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], *, remembered_threads: int = REMEMBERED_THREADS
    ) -> None:
        super().__init__(conn=pool)
        # The base class holds `self.lock` around every call, one at a time even over a pool
        # where each call has a connection of its own: as many at once as connections.
        self.lock = asyncio.Semaphore(pool.max_size)  # type: ignore[assignment]
        self.remembered_threads = remembered_threads
        # One small saver per thread holding that thread's latest checkpoint, fully (every
        # channel, not just the ones the put changed), so it never needs an earlier one.
        self._recent: OrderedDict[str, tuple[str, InMemorySaver]] = OrderedDict()
        """By thread: its latest checkpoint's id, and a saver holding that checkpoint."""
        self._background: set[asyncio.Future[Any]] = set()

    def _turn_of(self, config: RunnableConfig) -> TurnCheckpoints | None:
        """The current turn, if `config` is about its thread's root checkpoint namespace."""
        turn = _TURN.get()
        configurable = config["configurable"]
        if (
            turn is None
            or configurable.get("thread_id") != turn.thread_id
            or configurable.get("checkpoint_ns", "")
        ):
            return None
        return turn

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        turn = self._turn_of(config)
        if turn is None or get_checkpoint_id(config):
            return await super().aget_tuple(config)
        if turn.latest is None:
            return None  # the database has no checkpoint of this thread: nothing to load
        remembered = self._recent.get(turn.thread_id)
        found = remembered[1].get_tuple(config) if remembered is not None else None
        if (
            found is not None
            and found.config["configurable"]["checkpoint_id"] == turn.latest
            and any(channel == INTERRUPT for _, channel, _ in found.pending_writes or [])
            == turn.awaiting_answer
        ):
            self._recent.move_to_end(turn.thread_id)
            return found
        return await super().aget_tuple(config)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        turn = self._turn_of(config)
        if turn is None:
            self._recent.pop(config["configurable"]["thread_id"], None)
            return await super().aput(config, checkpoint, metadata, new_versions)
        remembered = InMemorySaver(serde=self.serde)
        next_config = remembered.put(
            config, checkpoint, metadata, dict(checkpoint["channel_versions"])
        )
        self._remember(turn.thread_id, checkpoint["id"], remembered)
        row, blobs = checkpoint_rows(self, config, checkpoint, metadata, new_versions, remembered)
        turn.checkpoints.append(row)
        turn.blobs.extend(blobs)
        return next_config

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        turn = self._turn_of(config)
        if turn is None:
            self._recent.pop(config["configurable"]["thread_id"], None)
            await super().aput_writes(config, writes, task_id, task_path)
            return
        remembered = self._recent.get(turn.thread_id)
        if remembered is not None:
            # The copy holds one checkpoint: these writes belong with it, or it is stale.
            checkpoint_id, saver = remembered
            if config["configurable"].get("checkpoint_id") == checkpoint_id:
                saver.put_writes(config, writes, task_id, task_path)
            else:
                self._recent.pop(turn.thread_id, None)
        write = asyncio.ensure_future(super().aput_writes(config, writes, task_id, task_path))
        turn.writes.append(write)
        # Kept until done, and its failure logged even when the turn stopped waiting for it
        # (a turn past its deadline): the traveller already heard that turn failed.
        self._background.add(write)
        write.add_done_callback(self._settled)

    async def adelete_thread(self, thread_id: str) -> None:
        self._recent.pop(thread_id, None)
        await super().adelete_thread(thread_id)

    def _remember(self, thread_id: str, checkpoint_id: str, remembered: InMemorySaver) -> None:
        self._recent[thread_id] = (checkpoint_id, remembered)
        self._recent.move_to_end(thread_id)
        while len(self._recent) > self.remembered_threads:
            self._recent.popitem(last=False)

    def _settled(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning("a checkpoint write failed: %r", error)
