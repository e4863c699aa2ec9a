"""LangGraph's checkpoint rows, as `AsyncPostgresSaver.aput` writes them, restated.

A turn's checkpoint commits in the chat log's statement beside its messages, so its rows are
built here from the bytes the copy kept in memory already holds, instead of by the base class
(which encodes in a worker thread the reply would wait for). The encoding follows
langgraph-checkpoint-postgres (pinned in pyproject.toml);
tests/integration/test_checkpoint_rows.py compares these rows with the library's own.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

# A private name of langgraph-checkpoint: a channel stored as a delta snapshot (pinned, tested).
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from psycopg.types.json import Jsonb

from db.chat_log import Table
from db.typed_arrays import ByteaArray, JsonbArray, TextArray


class CheckpointRow(NamedTuple):
    """One row of LangGraph's `checkpoints` table."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    checkpoint: Jsonb
    metadata: Jsonb


class BlobRow(NamedTuple):
    """One row of LangGraph's `checkpoint_blobs` table."""

    thread_id: str
    checkpoint_ns: str
    channel: str
    version: str
    type: str
    blob: bytes | None


CHECKPOINTS = Table((
    ("c_thread", TextArray), ("c_ns", TextArray), ("c_id", TextArray), ("c_parent", TextArray),
    ("c_checkpoint", JsonbArray), ("c_metadata", JsonbArray),
))  # fmt: skip
"""How the chat log's statement takes checkpoint rows (migration 0018)."""
CHECKPOINT_BLOBS = Table((
    ("b_thread", TextArray), ("b_ns", TextArray), ("b_channel", TextArray),
    ("b_version", TextArray), ("b_type", TextArray), ("b_blob", ByteaArray),
))  # fmt: skip
"""How the chat log's statement takes checkpoint blob rows."""


def checkpoint_rows(
    saver: AsyncPostgresSaver,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    encoded: InMemorySaver,
) -> tuple[CheckpointRow, list[BlobRow]]:
    """The rows `saver.aput` would write for `checkpoint`; `encoded` (a saver holding it, put
    with the same serializer) supplies the blobs' bytes.

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
    blobs = []
    for channel, version in new_versions.items():
        if channel not in blob_values:
            continue
        kept = encoded.blobs.get((thread_id, checkpoint_ns, channel, version))
        if kept is None:  # not in the copy: encoded as the base class would
            kept = saver.serde.dumps_typed(blob_values[channel])
        blobs.append(BlobRow(thread_id, checkpoint_ns, channel, str(version), *kept))
    row = CheckpointRow(
        thread_id,
        checkpoint_ns,
        checkpoint["id"],
        configurable.get("checkpoint_id"),
        Jsonb({**checkpoint, "channel_values": inline}),
        Jsonb(get_serializable_checkpoint_metadata(config, metadata)),
    )
    return row, blobs
