"""The thread file: one conversation (transcript, checkpoints, tool records) as one JSON
document, `travelhub-thread/1`, that `travelhub replay import` loads into another database.

Checkpoint blobs and writes travel as the bytes the checkpointer stored (base64url), with
their serializer's type name beside them, so a thread imported elsewhere decodes exactly as
it did where it was recorded. Nothing of the traveller's account beyond what recreates them
(no password, no tokens, no phone), and nothing of any other thread.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FORMAT = "travelhub-thread/1"
ABOUT = (
    "One Global Travel Hub conversation: the chat session, its messages (every branch; an"
    " edit's replaced messages carry superseded_at), LangGraph's checkpoints with their blobs"
    " and writes (blob: base64url of the stored bytes, type: the serializer's name), and what"
    " its tools answered. Load it with `travelhub replay import FILE`."
)


class Part(BaseModel):
    """Every part: unknown keys refused (a misspelt field is a broken file, not a default)."""

    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")


class Traveller(Part):
    """Who the thread belongs to, enough to find or recreate them by their address."""

    email: str = Field(min_length=3, max_length=255)
    full_name: str | None = Field(default=None, max_length=100)
    locale: str | None = Field(default=None, max_length=16)
    preferred_currency: str | None = Field(default=None, max_length=3)


class Session(Part):
    """The chat_sessions row, less its ids (the importing database gives its own)."""

    title: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=20)
    context: dict[str, Any]
    checkpoint_ns: str = Field(max_length=255)
    created_at: datetime
    last_message_at: datetime | None = None
    deleted_at: datetime | None = None


class Message(Part):
    """One chat_messages row; `id` is the original's (an edit's `supersedes` names it)."""

    id: uuid.UUID
    created_at: datetime
    role: str = Field(max_length=20)
    content: str
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = Field(default=None, max_length=255)
    tool_name: str | None = Field(default=None, max_length=100)
    model_name: str | None = Field(default=None, max_length=100)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    attributes: dict[str, Any]
    superseded_at: datetime | None = None


class Checkpoint(Part):
    """One `checkpoints` row of the thread (its thread_id left out: the import's)."""

    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None = None
    type: str | None = None
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]


class CheckpointBlob(Part):
    """One `checkpoint_blobs` row: a channel's value at a version, as stored."""

    checkpoint_ns: str
    channel: str
    version: str
    type: str
    blob: bytes | None = None


class CheckpointWrite(Part):
    """One `checkpoint_writes` row: a pending write (a question's interrupt among them)."""

    checkpoint_ns: str
    checkpoint_id: str
    task_id: str
    task_path: str
    idx: int
    channel: str
    type: str | None = None
    blob: bytes


class SearchRecord(Part):
    """A search a tool answered: what a fork of the thread is answered from."""

    tool: str
    arguments: dict[str, Any]
    content: str
    artifact: dict[str, Any]


class BookingRecord(Part):
    """A booking the thread made, for reading: an import never recreates it (a fork never
    orders, and a pending booking would be settled with a vendor)."""

    reference: str
    status: str
    provider: str
    total_amount: str
    currency: str
    failure_reason: str | None = None
    refund_amount: str | None = None
    attributes: dict[str, Any]
    created_at: datetime
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    items: list[dict[str, Any]]


class ToolRecords(Part):
    searches: list[SearchRecord]
    bookings: list[BookingRecord]


class ThreadFile(Part):
    """The whole document."""

    format: Literal["travelhub-thread/1"]
    about: str = ABOUT
    exported_at: datetime
    thread_id: uuid.UUID
    checkpoint_schema: int
    """The last LangGraph checkpoint migration of the database it came from."""
    traveller: Traveller
    session: Session
    messages: list[Message]
    checkpoints: list[Checkpoint]
    checkpoint_blobs: list[CheckpointBlob]
    checkpoint_writes: list[CheckpointWrite]
    tool_records: ToolRecords

    def dumps(self) -> str:
        return self.model_dump_json(indent=1)


class BadThreadFile(ValueError):
    """A file that is not a thread file this version reads; the message says why."""


def read_thread_file(text: str | bytes) -> ThreadFile:
    """The thread file in `text`, or BadThreadFile with one sentence."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise BadThreadFile("That file is not JSON, so it is not a thread file.") from None
    if not isinstance(document, dict) or "format" not in document:
        raise BadThreadFile(f"That file is not a thread file (it has no {FORMAT!r} format).")
    if document["format"] != FORMAT:
        raise BadThreadFile(
            f"That thread file is in format {str(document['format'])[:80]!r}; this version"
            f" reads {FORMAT!r}."
        )
    try:
        return ThreadFile.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        raise BadThreadFile(
            f"That thread file is broken at {where}: {first['msg'].rstrip('.')}."
        ) from None
