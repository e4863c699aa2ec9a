"""Chat sessions as people see them: who wrote a thread, its transcript, the history list,
titles, deletion and ratings. Every chat-session statement outside a turn lives here.

Each call runs in its own transaction under the tenant it is given (row-level security);
the lookups that find that tenant (`author_of`, `tenant_of_user`) are SQL functions that
see across tenants only what they return.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.analytics import event_row, record_events
from db.ids import new_id
from db.models.enums import EventType
from db.text import storable
from db.unit_of_work import UnitOfWork

THREAD_AUTHOR = text("SELECT thread_author(:thread)")
TENANT_OF_USER = text("SELECT tenant_of_user(:user)")
THREAD_OF_UI_MESSAGE = text("SELECT thread_of_ui_message(:id)")
THREAD_USER = text("SELECT user_id FROM chat_sessions WHERE thread_id = :thread")
TRANSCRIPT = text(
    "SELECT m.created_at, m.role, m.content, m.tool_calls, m.tool_name, m.tool_call_id,"
    " m.model_name, m.latency_ms, m.superseded_at,"
    # What a page shows beside the words: the agent's question, its answer, a tool's error.
    " jsonb_strip_nulls(jsonb_build_object("
    "  'awaiting_confirmation', m.attributes->'awaiting_confirmation',"
    "  'action', m.attributes->'action', 'error', m.attributes->'error',"
    "  'answer', CASE WHEN m.attributes->>'key' LIKE 'answer:%' THEN true END)) AS marks"
    " FROM chat_messages m"
    " JOIN chat_sessions s ON s.id = m.session_id"
    # Never older than their session (a day's margin for a clock set back).
    " WHERE s.thread_id = :thread AND m.created_at >= s.created_at - interval '1 day'"
    " ORDER BY m.created_at, m.id"
)
SESSION = text(
    "SELECT id, title, created_at, user_id, context FROM chat_sessions"
    " WHERE thread_id = :thread AND deleted_at IS NULL"
)
SESSION_MESSAGES = text(
    # Never older than their session: the monthly partitions before it are not read at all.
    # The current branch only: what an edit replaced is kept for replay, not shown.
    "SELECT id, created_at, role, content, tool_name, tool_calls, tool_call_id, attributes"
    " FROM chat_messages WHERE session_id = :id AND superseded_at IS NULL"
    " AND created_at >= CAST(:since AS timestamptz) - interval '1 day'"
    " ORDER BY created_at, id"
)
CREATE_SESSION = text(
    "INSERT INTO chat_sessions (id, tenant_id, user_id, thread_id, title, context)"
    " VALUES (:id, :tenant, :user, :thread, :title, CAST(:context AS jsonb))"
    " ON CONFLICT (thread_id) DO NOTHING"
)
# Only a change is written: the sidebar orders threads by when they last changed.
KEEP_SETTINGS = text(
    "UPDATE chat_sessions SET context = context ||"
    " jsonb_build_object('chat_settings', CAST(:settings AS jsonb))"
    " WHERE thread_id = :thread AND deleted_at IS NULL"
    " AND context->'chat_settings' IS DISTINCT FROM CAST(:settings AS jsonb)"
)
NOTE_FAILURE = text(
    "UPDATE chat_sessions SET context = context || jsonb_build_object('failure',"
    " jsonb_build_object('at', now(), 'kind', CAST(:kind AS text)))"
    " WHERE thread_id = :thread"
)
RENAME = text("UPDATE chat_sessions SET title = :title WHERE thread_id = :thread")
DELETE = text(
    "UPDATE chat_sessions s SET deleted_at = now(), status = 'deleted'"
    " FROM users u WHERE u.id = s.user_id AND u.email = :author"
    " AND s.thread_id = :thread AND s.deleted_at IS NULL RETURNING s.id"
)
RATE = text(
    "UPDATE chat_messages m SET attributes = m.attributes ||"
    " jsonb_build_object('feedback', CAST(:value AS jsonb))"
    " FROM chat_sessions s WHERE s.id = m.session_id AND s.thread_id = :thread"
    " AND (m.attributes->'ui_ids' ? :step OR m.id::text = :step)"
    " RETURNING m.session_id, s.user_id"
)
UNRATE = text(
    "UPDATE chat_messages m SET attributes = m.attributes - 'feedback'"
    " FROM chat_sessions s WHERE s.id = m.session_id AND s.thread_id = :thread"
    " AND m.attributes->'ui_ids' ? :id AND m.attributes ? 'feedback'"
)
KEEP_ELEMENT = text(
    "UPDATE chat_messages m SET attributes = jsonb_set(m.attributes, '{elements}',"
    " coalesce(m.attributes->'elements', CAST('{}' AS jsonb))"
    " || jsonb_build_object(CAST(:element_id AS text), CAST(:element AS jsonb)))"
    " FROM chat_sessions s WHERE s.id = m.session_id AND s.thread_id = :thread"
    " AND m.attributes->'ui_ids' ? :for_id"
)
DROP_ELEMENT = text(
    "UPDATE chat_messages m SET attributes = jsonb_set(m.attributes, '{elements}',"
    " (m.attributes->'elements') - CAST(:element_id AS text))"
    " FROM chat_sessions s WHERE s.id = m.session_id AND s.thread_id = :thread"
    " AND m.attributes->'elements' ? :element_id"
)
_LISTED = (
    "SELECT s.thread_id, s.title, s.created_at, s.context, u.email"
    " FROM chat_sessions s JOIN users u ON u.id = s.user_id WHERE {conditions}"
    " ORDER BY s.updated_at DESC, s.id DESC LIMIT :limit"
)
_RATED = (
    "EXISTS (SELECT 1 FROM chat_messages m WHERE m.session_id = s.id"
    " AND (m.attributes->'feedback'->>'value')::int = :feedback)"
)
_AFTER = (
    "(s.updated_at, s.id) < (SELECT updated_at, id FROM chat_sessions WHERE thread_id = :cursor)"
)


TITLE_LENGTH = 80


def session_title(text: str | None) -> str | None:
    """A session's title from what was said or typed: one line, storable, at most
    TITLE_LENGTH characters (None when nothing is left)."""
    return " ".join(storable(text or "").split())[:TITLE_LENGTH] or None


class NotYourConversation(LookupError):
    """A thread id that belongs to someone else (or to nobody)."""


@dataclass(frozen=True)
class SessionRead:
    """A session as the interface shows it: its row and its messages, oldest first."""

    session: Row[Any]
    """id, title, created_at, user_id, context."""
    messages: list[Row[Any]]
    """id, created_at, role, content, tool_name, tool_calls, tool_call_id, attributes: the
    current branch's (what an edit replaced is left out)."""


@dataclass
class ChatSessions:
    """Chat sessions and their messages, read and changed outside a turn."""

    sessions: async_sessionmaker[AsyncSession]

    async def _scalar(self, statement: Any, **params: Any) -> Any:
        async with self.sessions() as session:
            connection = await session.connection()
            return (await connection.execute(statement, params)).scalar()

    async def author_of(self, thread_id: uuid.UUID) -> str | None:
        """The e-mail address of the thread's author, whatever their tenant."""
        author: str | None = await self._scalar(THREAD_AUTHOR, thread=thread_id)
        return author

    async def tenant_of_user(self, user_id: uuid.UUID) -> uuid.UUID | None:
        tenant: uuid.UUID | None = await self._scalar(TENANT_OF_USER, user=user_id)
        return tenant

    async def thread_of_ui_message(self, ui_id: str) -> uuid.UUID | None:
        """The thread of the message the interface showed with this id."""
        thread: uuid.UUID | None = await self._scalar(THREAD_OF_UI_MESSAGE, id=ui_id)
        return thread

    async def transcript(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, thread_id: uuid.UUID
    ) -> list[Row[Any]]:
        """The messages stored on the user's thread, oldest first (NotYourConversation if it
        is not theirs), every branch: created_at, role, content, tool_calls, tool_name,
        tool_call_id, model_name, latency_ms, superseded_at (None: the current branch), marks
        (awaiting_confirmation and action of a question, answer, a tool's error)."""
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            author = (await connection.execute(THREAD_USER, {"thread": thread_id})).scalar()
            if author != user_id:
                raise NotYourConversation(f"There is no conversation {thread_id}.")
            return list((await connection.execute(TRANSCRIPT, {"thread": thread_id})).all())

    async def listed(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        limit: int,
        title_like: str | None = None,
        rated: int | None = None,
        after_thread: uuid.UUID | None = None,
    ) -> list[Row[Any]]:
        """The user's sessions (replay forks left out), most recently active first: thread_id,
        title, created_at, context, email. `title_like` is a LIKE pattern; `rated`, a rating
        one message has; `after_thread`, the last thread of the previous page."""
        # A replay fork is a developer's sandbox, never one of the traveller's conversations.
        conditions = ["s.user_id = :user", "s.deleted_at IS NULL", "NOT s.context ? 'forked_from'"]
        params: dict[str, Any] = {"user": user_id, "limit": limit}
        if title_like is not None:
            conditions.append("s.title ILIKE :search")
            params["search"] = title_like
        if rated is not None:
            conditions.append(_RATED)
            params["feedback"] = rated
        if after_thread is not None:
            conditions.append(_AFTER)
            params["cursor"] = after_thread
        statement = text(_LISTED.format(conditions=" AND ".join(conditions)))
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            return list((await connection.execute(statement, params)).all())

    async def read(self, tenant_id: uuid.UUID, thread_id: uuid.UUID) -> SessionRead | None:
        """The thread's session and its current branch's messages, or None (deleted, or never
        there)."""
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            session = (await connection.execute(SESSION, {"thread": thread_id})).first()
            if session is None:
                return None
            messages = await connection.execute(
                SESSION_MESSAGES, {"id": session.id, "since": session.created_at}
            )
            return SessionRead(session, list(messages.all()))

    async def create(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        thread_id: uuid.UUID,
        title: str | None,
        context: dict[str, Any] | None = None,
    ) -> None:
        """The session of a thread the interface opens before the agent's first turn."""
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            await connection.execute(
                CREATE_SESSION,
                {"id": new_id(), "tenant": tenant_id, "user": user_id, "thread": thread_id,
                 "title": title, "context": json.dumps(context or {})},
            )  # fmt: skip
            await uow.commit()

    async def keep_settings(
        self, tenant_id: uuid.UUID, thread_id: uuid.UUID, settings: dict[str, Any]
    ) -> None:
        """Keep the chat settings the thread was last used with (its context's
        `chat_settings`), for resuming it."""
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            params = {"settings": json.dumps(settings), "thread": thread_id}
            await connection.execute(KEEP_SETTINGS, params)
            await uow.commit()

    async def note_failure(self, tenant_id: uuid.UUID, thread_id: uuid.UUID, kind: str) -> None:
        """Keep on the session that a turn broke off (`kind`: the error's class), for replay
        to show the thread as failed."""
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            await connection.execute(NOTE_FAILURE, {"kind": kind[:100], "thread": thread_id})
            await uow.commit()

    async def rename(self, tenant_id: uuid.UUID, thread_id: uuid.UUID, title: str | None) -> None:
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            await connection.execute(RENAME, {"title": title, "thread": thread_id})
            await uow.commit()

    async def delete(self, tenant_id: uuid.UUID, thread_id: uuid.UUID, author: str) -> bool:
        """Soft-delete the author's session; whether there was one to delete."""
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            deleted = await connection.execute(DELETE, {"thread": thread_id, "author": author})
            found = deleted.first() is not None
            await uow.commit()
        return found

    async def rate(
        self, tenant_id: uuid.UUID, thread_id: uuid.UUID, ui_id: str, rating: dict[str, Any]
    ) -> bool:
        """Keep a rating on the message shown with `ui_id` (and its analytics event); False
        while that message is not stored yet."""
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            params = {"value": json.dumps(rating), "thread": thread_id, "step": ui_id}
            row = (await connection.execute(RATE, params)).first()
            if row is None:
                return False
            given = event_row(
                EventType.FEEDBACK_GIVEN,
                tenant=tenant_id,
                user=row.user_id,
                session=row.session_id,
                properties={**rating, "step": ui_id},
            )
            await record_events(connection, [given])
            await uow.commit()
        return True

    async def keep_element(
        self, tenant_id: uuid.UUID, thread_id: uuid.UUID, for_id: str, element: dict[str, Any]
    ) -> bool:
        """Keep (or replace) an element shown with the message `for_id`, so that it is shown
        again when the thread is resumed; False while that message is not stored yet."""
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            params = {"element_id": element["id"], "element": json.dumps(element),
                      "thread": thread_id, "for_id": for_id}  # fmt: skip
            kept = await connection.execute(KEEP_ELEMENT, params)
            await uow.commit()
        return bool(kept.rowcount)

    async def drop_element(
        self, tenant_id: uuid.UUID, thread_id: uuid.UUID, element_id: str
    ) -> None:
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            params = {"element_id": element_id, "thread": thread_id}
            await connection.execute(DROP_ELEMENT, params)
            await uow.commit()

    async def unrate(self, tenant_id: uuid.UUID, thread_id: uuid.UUID, ui_id: str) -> bool:
        """Take the rating of the message shown with `ui_id` back; whether there was one."""
        async with UnitOfWork(self.sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            removed = await connection.execute(UNRATE, {"id": ui_id, "thread": thread_id})
            await uow.commit()
        return bool(removed.rowcount)
