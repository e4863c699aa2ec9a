"""LangGraph's PostgreSQL checkpointer, shaped for our turns.

On top of `AsyncPostgresSaver`:

- As many calls in flight as its pool has connections. `AsyncPostgresSaver` takes one asyncio
  lock around every call, even over a pool, so fifty concurrent conversations checkpoint one
  after another (reported upstream). Over a pool each call has its own connection, so a
  semaphore sized to the pool is all the exclusion needed.
- Within a turn (`checkpoint_turn`), the checkpoint the run ends with is kept in memory, and
  its rows (LangGraph's own encoding, from the bytes the copy in memory holds) go to the turn, which
  commits them in the chat log's statement with the turn's messages (`TurnCheckpoints`): one
  round trip and one wait for the disk for both, and never a conversation's state without
  its messages or messages without their state. Pending writes (a question asked) go in the
  background; the turn waits for them too (`TurnCheckpoints.written`).
- Outside turns, a checkpoint's blobs and row go as one statement; other writes as one
  pipelined transaction (`_commit`).
- The next turn on the thread starts from that copy in memory, with no round trip and no
  decoding of rows, when the database confirms it is still the thread's latest checkpoint
  (`open_chat_session` tells the latest id anyway). Another process having moved the thread
  on, a write that failed, a deleted thread: the ids differ, and the checkpoint is read from
  the database as before. Only the checkpoints this process wrote itself are kept, for the
  `remembered_threads` most recently active threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from psycopg import AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from db.chat_log import BLOB_COLUMNS, BlobRow, CheckpointRow, columns_of
from db.typed_arrays import placeholders

log = logging.getLogger(__name__)
REMEMBERED_THREADS = 1000
INTERRUPT = "__interrupt__"
"""The channel of a question the graph asks (the name open_chat_session looks for too)."""


_Statement = tuple[str, list[Sequence[Any]]]
"""A statement of the base class's and its parameter rows (one per execution)."""


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
    confirmed: bool = True
    """Whether the run is known to start from the conversation as the database has it. Until
    then (a run begun while the session is looked up, agent/turns.py) nothing of it leaves
    the turn: the copy kept for the next turn and any write wait for `confirm`, and are
    dropped with the turn if it never comes (the run was void)."""
    _held: list[Callable[[], None]] = field(default_factory=list)

    def confirm(self) -> None:
        """The run is the conversation's: what it held back goes ahead, in order."""
        self.confirmed = True
        held, self._held = self._held, []
        for release in held:
            release()

    def once_confirmed(self, action: Callable[[], None]) -> None:
        if self.confirmed:
            action()
        else:
            self._held.append(action)

    async def written(self) -> None:
        """Return once every checkpoint write of the turn is committed (raise if one failed)."""
        if self.writes:
            await asyncio.gather(*self.writes)


_TURN: ContextVar[TurnCheckpoints | None] = ContextVar("checkpoint_turn", default=None)


@contextmanager
def checkpoint_turn(
    saver: object,
    thread_id: str,
    latest: str | None,
    *,
    awaiting_answer: bool,
    confirmed: bool = True,
) -> Iterator[TurnCheckpoints]:
    """Run a turn's graph inside this: `PooledPostgresSaver` then starts from memory where it
    can and hands the run's checkpoint to the turn (`TurnCheckpoints`) instead of writing it;
    any other saver works as it always does. `confirmed=False`: the run may be void, see
    `TurnCheckpoints.confirmed`."""
    turn = TurnCheckpoints(thread_id, latest, awaiting_answer, confirmed=confirmed)
    if not isinstance(saver, PooledPostgresSaver):
        yield turn
        return
    token = _TURN.set(turn)
    try:
        yield turn
    finally:
        _TURN.reset(token)


class _Recorder:
    """Stands in for the base class's pipelined cursor: keeps what it would execute."""

    def __init__(self, into: list[_Statement]) -> None:
        self.into = into

    async def execute(self, query: str, params: Sequence[Any], **_: Any) -> None:
        self.into.append((query, [params]))

    async def executemany(self, query: str, params: Iterable[Sequence[Any]], **_: Any) -> None:
        self.into.append((query, list(params)))


# A checkpoint's blobs and row in one statement: the base class's two upserts, the blobs
# given as one array per column.
_PUT_CHECKPOINT = (
    "WITH blobs AS ("
    " INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)"
    f" SELECT * FROM unnest({placeholders(BLOB_COLUMNS)})"
    " ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING)"
    " INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,"
    " checkpoint, metadata) VALUES (%b, %b, %b, %b, %b, %b)"
    " ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)"
    " DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata"
)


class PooledPostgresSaver(AsyncPostgresSaver):
    """`AsyncPostgresSaver` over a pool, concurrent up to the pool's size, remembering the
    latest checkpoint of the threads whose turns it ran."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], *, remembered_threads: int = REMEMBERED_THREADS
    ) -> None:
        super().__init__(conn=pool)
        # The base class only ever does `async with self.lock`: a semaphore serves.
        self.lock = asyncio.Semaphore(pool.max_size)  # type: ignore[assignment]
        self.remembered_threads = remembered_threads
        # One small saver per thread holding that thread's latest checkpoint only, fully (every
        # channel, not just the ones the put changed), so it never needs an earlier one.
        self._recent: OrderedDict[str, InMemorySaver] = OrderedDict()
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
        found = remembered.get_tuple(config) if remembered is not None else None
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
        turn.once_confirmed(partial(self._remember, turn.thread_id, remembered))
        # The rows the base class would write; the turn commits them.
        checkpoint_row, blob_rows = self._rows(
            config, checkpoint, metadata, new_versions, remembered
        )
        turn.checkpoints.append(checkpoint_row)
        turn.blobs.extend(blob_rows)
        return next_config

    def _rows(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        encoded: InMemorySaver,
    ) -> tuple[CheckpointRow, list[BlobRow]]:
        """The rows `AsyncPostgresSaver.aput` writes for `checkpoint`, its encoding restated
        (tests compare the two): the base class encodes the blobs in a worker thread, and a
        turn's reply waited for that hop, where `encoded` (the copy kept in memory, put by the
        same serializer) holds every channel encoded already.

        Primitive channel values stay inline in the checkpoint's row; the others (and delta
        snapshots, marked True inline) go to blobs, at the versions this put changed."""
        configurable = config["configurable"]
        thread_id, checkpoint_ns = configurable["thread_id"], configurable["checkpoint_ns"]
        inline = dict(checkpoint["channel_values"])
        blob_values: dict[str, Any] = {}
        for channel, value in checkpoint["channel_values"].items():
            if isinstance(value, _DeltaSnapshot):
                blob_values[channel] = inline.pop(channel)
                inline[channel] = True
            elif value is not None and not isinstance(value, str | int | float | bool):
                blob_values[channel] = inline.pop(channel)
        versions = {k: v for k, v in new_versions.items() if k in blob_values}
        blobs = [
            (thread_id, checkpoint_ns, channel, str(version), *kept)
            if (kept := encoded.blobs.get((thread_id, checkpoint_ns, channel, version)))
            else self._dump_blobs(thread_id, checkpoint_ns, blob_values, {channel: version})[0]
            for channel, version in versions.items()
        ]
        row = CheckpointRow(
            thread_id,
            checkpoint_ns,
            checkpoint["id"],
            configurable.get("checkpoint_id"),
            Jsonb({**checkpoint, "channel_values": inline}),
            Jsonb(get_serializable_checkpoint_metadata(config, metadata)),
        )
        return row, [BlobRow(*blob) for blob in blobs]

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
        turn.once_confirmed(
            partial(self._put_turn_writes, turn, config, list(writes), task_id, task_path)
        )

    def _put_turn_writes(
        self,
        turn: TurnCheckpoints,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> None:
        remembered = self._recent.get(turn.thread_id)
        if remembered is not None:
            # The copy holds one checkpoint: these writes belong with it, or it is stale.
            if (
                config["configurable"].get("checkpoint_id")
                in remembered.storage[turn.thread_id][""]
            ):
                remembered.put_writes(config, writes, task_id, task_path)
            else:
                self._recent.pop(turn.thread_id, None)
        self._in_background(turn, super().aput_writes(config, writes, task_id, task_path))

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        """The base class's cursor for reads. For its writes (the only pipelined calls,
        which read nothing back) a recorder: what the base class executes in the block is
        then sent at once as one transaction (`_commit`)."""
        if not pipeline:
            pool: AsyncConnectionPool[Any] = self.conn  # type: ignore[assignment]
            async with (
                self.lock,
                pool.connection() as conn,
                conn.cursor(binary=True, row_factory=dict_row) as cur,
            ):
                yield cur
            return
        recorded: list[_Statement] = []
        yield _Recorder(recorded)  # type: ignore[misc]
        await self._commit(recorded)

    async def _commit(self, statements: list[_Statement]) -> None:
        """Execute the base class's write statements in one transaction, one round trip.

        A checkpoint (its blobs, then its row) goes as one statement, the blobs as arrays in
        a data-modifying WITH: no pipeline, no BEGIN and COMMIT of our own, and the same
        conflict handling as the base class's own statements. Anything else goes pipelined.
        """
        pool: AsyncConnectionPool[Any] = self.conn  # type: ignore[assignment]
        async with self.lock, pool.connection() as conn:
            if (put := _checkpoint_rows(self, statements)) is not None:
                (checkpoint,), blob_rows = put
                columns = columns_of(blob_rows, BLOB_COLUMNS)
                await conn.execute(_PUT_CHECKPOINT, (*columns, *checkpoint))
                return
            async with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
                for query, rows in statements:
                    await cur.executemany(query, rows)

    def remembers(self, thread_id: str, checkpoint_id: str) -> bool:
        """Whether a turn on `thread_id` starting from `checkpoint_id` finds it in memory."""
        remembered = self._recent.get(thread_id)
        return remembered is not None and checkpoint_id in remembered.storage[thread_id][""]

    async def adelete_thread(self, thread_id: str) -> None:
        self._recent.pop(thread_id, None)
        await super().adelete_thread(thread_id)

    def _remember(self, thread_id: str, remembered: InMemorySaver) -> None:
        self._recent[thread_id] = remembered
        self._recent.move_to_end(thread_id)
        while len(self._recent) > self.remembered_threads:
            self._recent.popitem(last=False)

    def _in_background(self, turn: TurnCheckpoints, write: Any) -> None:
        task = asyncio.ensure_future(write)
        turn.writes.append(task)
        # Kept until done, and its failure logged even when the turn stopped waiting for it
        # (a turn past its deadline): the traveller already heard that turn failed.
        self._background.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning("a checkpoint write failed: %r", error)


def _checkpoint_rows(
    saver: AsyncPostgresSaver, statements: list[_Statement]
) -> tuple[list[CheckpointRow], list[BlobRow]] | None:
    """The rows of the base class's `aput` statements (its blobs, then its checkpoint), or
    None for statements of another shape."""
    queries = [query for query, _ in statements]
    if queries == [saver.UPSERT_CHECKPOINTS_SQL]:
        blobs: list[Sequence[Any]] = []
    elif queries == [saver.UPSERT_CHECKPOINT_BLOBS_SQL, saver.UPSERT_CHECKPOINTS_SQL]:
        blobs = statements[0][1]
    else:
        return None
    return [CheckpointRow(*row) for row in statements[-1][1]], [BlobRow(*row) for row in blobs]
