"""The turn store: a turn opens its chat session here, and records what was said here.

It owns what a conversation keeps: the chat session (`open_chat_session`, migration 0016; the
other chat-session statements in `chat_sessions.py`), the checkpointer and LangGraph's row
shapes, and the chat log that commits a turn's messages and its checkpoint in one statement.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from accounts.directory import Account
from agent.conversation.chat_sessions import ChatSessions, NotYourConversation, session_title
from agent.conversation.checkpoint_rows import CHECKPOINT_BLOBS, CHECKPOINTS
from agent.conversation.checkpointer import PooledPostgresSaver, TurnCheckpoints, checkpoint_turn
from agent.conversation.transcript import TurnMessage
from db.analytics import event_row
from db.chat_log import ChatLog, MessageRow, Table
from db.ids import new_id
from db.models.enums import EventType, MessageRole
from db.text import storable


@dataclass(frozen=True)
class OpenSession:
    """The traveller's chat session a turn is written to."""

    id: uuid.UUID
    context: dict[str, Any]
    first_turn: bool
    """Nothing has been said in it yet."""
    awaiting_answer: bool
    """The agent asked a question (a confirmation) that this turn answers."""
    checkpoint_id: str | None
    """The thread's latest checkpoint, as the database has it now (None: none yet); for an
    edit's run (`edits.rewound`), the one the edited message's turn started from."""
    edited: EditedMessage | None = None
    """The traveller's earlier message this turn's message replaces (an edit in the chat)."""


@dataclass(frozen=True)
class EditedMessage:
    """A message of the traveller's, on the thread's current branch, that they edited."""

    id: uuid.UUID
    """Its chat_messages row (the replacement names it: `supersedes`)."""
    checkpoint_before: str | None
    """The checkpoint its turn started from (None: the thread's start)."""
    answered_question: bool
    """It answered a question of the agent's (a confirmation), so the edit answers it anew."""


# Creates the session on the first turn (giving way to the interface creating it at the same
# moment), titles a session opened before anything was said, and reads it back with whether
# the agent awaits an answer and the thread's latest checkpoint; and finds the traveller's
# message on the current branch that the interface showed with the turn's message's id (an
# edit keeps it). One round trip: the function sets the tenant for the lookup after it.
OPEN_SESSION = (
    "SELECT s.id, s.user_id, s.context, s.message_count, s.deleted_at, s.awaiting_answer,"
    " s.checkpoint_id, edited.id AS edited_id, edited.attributes AS edited_attributes"
    " FROM open_chat_session(%(id)s, %(tenant)s, %(user)s, %(thread)s, %(title)s,"
    " %(context)s::jsonb) s"
    " LEFT JOIN LATERAL (SELECT m.id, m.attributes FROM chat_messages m"
    "  WHERE m.session_id = s.id AND s.message_count > 0 AND m.role = 'user'"
    "  AND m.superseded_at IS NULL AND m.attributes ? 'ui_ids'"
    "  AND m.attributes->'ui_ids' ? %(ui_id)s::text"
    "  ORDER BY m.created_at DESC LIMIT 1) edited ON true"
)


@dataclass
class TurnStore:
    """Opens a turn's chat session, and records the turn: messages, checkpoint, analytics."""

    chat_log: ChatLog
    """Its pool (autocommit connections) serves the session lookups too."""
    checkpointer: BaseCheckpointSaver[Any]
    """The graph's checkpointer (a `PooledPostgresSaver` hands the turn its checkpoint)."""
    chat_sessions: ChatSessions
    """The sessions as people see them (transcripts, the history list, ratings)."""

    async def open(
        self,
        account: Account,
        thread_id: uuid.UUID,
        *,
        title: str,
        context: dict[str, Any] | None = None,
        ui_id: str | None = None,
    ) -> OpenSession:
        """The account's session for `thread_id`, created on the first turn; `ui_id`, the id
        the interface gave the message, finds the earlier message it edits, if it is one."""
        params = {
            "id": new_id(),
            "tenant": account.tenant_id,
            "user": account.user_id,
            "thread": thread_id,
            "title": session_title(title),
            "context": json.dumps(context or {}),
            "ui_id": storable(ui_id) if ui_id else None,
        }
        async with self.chat_log.pool.connection() as connection:
            found = await connection.execute(OPEN_SESSION, params)
            row: dict[str, Any] | None = await found.fetchone()
        if row is None or row["user_id"] != account.user_id or row["deleted_at"] is not None:
            # Another tenant's thread is invisible here (row-level security): same answer.
            raise NotYourConversation(f"There is no conversation {thread_id} of yours.")
        return OpenSession(
            row["id"],
            row["context"] or {},
            row["message_count"] == 0,
            row["awaiting_answer"],
            row["checkpoint_id"],
            _edited(row["edited_id"], row["edited_attributes"]),
        )

    @contextmanager
    def checkpointing(self, thread_id: str, chat: OpenSession) -> Iterator[TurnCheckpoints]:
        """Run the turn's graph inside this: its checkpoint is kept for `record`."""
        if not isinstance(self.checkpointer, PooledPostgresSaver):
            # Another saver writes as it always does: nothing for the turn to commit.
            yield TurnCheckpoints(thread_id, chat.checkpoint_id, chat.awaiting_answer)
            return
        with checkpoint_turn(
            thread_id, chat.checkpoint_id, awaiting_answer=chat.awaiting_answer
        ) as checkpointed:
            yield checkpointed

    async def record(
        self,
        account: Account,
        chat: OpenSession,
        transcript: list[TurnMessage],
        *,
        latency_ms: float,
        checkpointed: TurnCheckpoints | None = None,
    ) -> None:
        """Commit the turn's messages and checkpoint in one statement (raises if they could
        not be), then its checkpoint's other writes; the analytics follow the commit."""
        messages = [_message_row(message, account, chat) for message in transcript]
        events = [
            event_row(
                kind,
                tenant=account.tenant_id,
                user=account.user_id,
                session=chat.id,
                properties=properties,
            )
            for kind, properties in _events(
                transcript, first_turn=chat.first_turn, latency_ms=latency_ms
            )
        ]
        beside: dict[Table, Sequence[Sequence[Any]]] | None = (
            {CHECKPOINTS: checkpointed.checkpoints, CHECKPOINT_BLOBS: checkpointed.blobs}
            if checkpointed is not None
            else None
        )
        await self.chat_log.write(account.tenant_id, messages, beside=beside, afterwards=events)
        if checkpointed is not None:
            await checkpointed.wait_for_writes()


def _edited(row_id: uuid.UUID | None, attributes: dict[str, Any] | None) -> EditedMessage | None:
    if row_id is None or attributes is None:
        return None
    return EditedMessage(
        row_id,
        attributes.get("checkpoint_before"),
        str(attributes.get("key", "")).startswith("answer:"),
    )


def _message_row(message: TurnMessage, account: Account, chat: OpenSession) -> MessageRow:
    return MessageRow(
        id=new_id(),
        tenant_id=account.tenant_id,
        session_id=chat.id,
        role=message.role.value,
        content=storable(message.content),
        tool_calls=_json(message.tool_calls) if message.tool_calls else None,
        tool_call_id=message.tool_call_id,
        tool_name=message.tool_name,
        model_name=message.model_name,
        prompt_tokens=message.prompt_tokens,
        completion_tokens=message.completion_tokens,
        latency_ms=message.latency_ms,
        attributes=_json({**(message.attributes or {}), "key": message.key}),
    )


_JSON = json.JSONEncoder(ensure_ascii=False)
"""json.dumps builds an encoder per call unless every option is its default."""


def _json(value: Any) -> str:
    # jsonb holds no NUL (\u0000) and no lone surrogate either.
    return storable(_JSON.encode(value))


def _events(
    transcript: list[TurnMessage], *, first_turn: bool, latency_ms: float
) -> list[tuple[EventType, dict[str, Any]]]:
    if not transcript:
        return []
    events: list[tuple[EventType, dict[str, Any]]] = []
    if first_turn:
        events.append((EventType.SESSION_STARTED, {}))
    for message in transcript:
        if message.role is MessageRole.USER:
            events.append((EventType.MESSAGE_SENT, {"length": len(message.content)}))
        for call in message.tool_calls or []:
            events.append((EventType.TOOL_CALLED, {"tool": call["name"]}))
    events.append((EventType.TURN_COMPLETED, {"latency_ms": round(latency_ms, 2)}))
    return events
