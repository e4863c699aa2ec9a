"""The threads a developer can replay: a tenant's (or one traveller's) chat sessions, newest
first, found by the traveller's email, a date range, the outcome and the model used, and the
forks made of a thread.

A thread's outcome is derived from what it left behind, first match wins:
- failed: a booking of the thread failed or needs review, a tool answered with an error, or
  a turn broke off (its session's context holds `failure`);
- booked: a booking of the thread is confirmed (or still being ordered);
- cancelled: the thread's bookings were all cancelled;
- abandoned: nothing was booked and nothing failed: the traveller searched or asked, and left.
Every query runs under the tenant's row-level security.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.unit_of_work import UnitOfWork

Outcome = Literal["booked", "cancelled", "abandoned", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("booked", "cancelled", "abandoned", "failed")

_OUTCOME = (
    "CASE WHEN s.context ? 'failure'"
    " OR EXISTS (SELECT 1 FROM bookings b WHERE b.session_id = s.id"
    "  AND b.status IN ('failed', 'needs_review'))"
    " OR EXISTS (SELECT 1 FROM chat_messages m WHERE m.session_id = s.id"
    "  AND m.created_at >= s.created_at - interval '1 day' AND m.attributes ? 'error')"
    " THEN 'failed'"
    " WHEN EXISTS (SELECT 1 FROM bookings b WHERE b.session_id = s.id"
    "  AND b.status IN ('confirmed', 'pending', 'ordering')) THEN 'booked'"
    " WHEN EXISTS (SELECT 1 FROM bookings b WHERE b.session_id = s.id"
    "  AND b.status = 'cancelled') THEN 'cancelled'"
    " ELSE 'abandoned' END"
)
_MODELS = (
    "ARRAY(SELECT DISTINCT m.model_name FROM chat_messages m WHERE m.session_id = s.id"
    " AND m.created_at >= s.created_at - interval '1 day' AND m.model_name IS NOT NULL"
    " ORDER BY 1)"
)
_LISTED = (
    "SELECT * FROM (SELECT s.id, s.thread_id, s.title, s.created_at, s.message_count,"
    " s.context->>'forked_from' AS forked_from, u.email,"
    f" {_OUTCOME} AS outcome, {_MODELS} AS models"
    " FROM chat_sessions s JOIN users u ON u.id = s.user_id WHERE {conditions}) t"
    " WHERE {outcome} ORDER BY t.created_at DESC, t.id DESC LIMIT :limit"
)
# Keyset pagination: the page after the row of thread `:cursor` (under the same tenant; a
# cursor from elsewhere finds no row, so no page).
_AFTER = (
    "(s.created_at, s.id) < (SELECT c.created_at, c.id FROM chat_sessions c"
    " WHERE c.thread_id = :cursor)"
)
_HEADER = text(
    "SELECT s.title, s.created_at, s.context->>'forked_from' AS forked_from,"
    " s.context->>'checkpoint_id' AS checkpoint_id, u.email FROM chat_sessions s"
    " JOIN users u ON u.id = s.user_id WHERE s.thread_id = :thread"
)
_FORKS = text(
    "SELECT s.thread_id, s.title, s.created_at, s.context->>'checkpoint_id' AS checkpoint_id"
    " FROM chat_sessions s WHERE s.context->>'forked_from' = :thread"
    " AND s.deleted_at IS NULL ORDER BY s.created_at, s.id"
)


@dataclass(frozen=True)
class ThreadSearch:
    """What the list is narrowed to; None (or empty) leaves a criterion out."""

    email: str | None = None
    """Part of the traveller's email address, any case."""
    since: date | None = None
    """Threads started on or after this day (UTC)."""
    until: date | None = None
    """Threads started on or before this day (UTC)."""
    outcome: Outcome | None = None
    model: str | None = None
    """A model one of the agent's messages was written by (exactly as recorded)."""


@dataclass(frozen=True)
class ThreadPage:
    """A page of threads, newest first, and the cursor of the next page (None: the last)."""

    threads: list[Row[Any]]
    """id, thread_id, title, created_at, message_count, forked_from, email, outcome, models."""
    next_cursor: uuid.UUID | None
    models: list[str] = field(default_factory=list)
    """The models recorded in the tenant (or the traveller's) threads, for the filter."""


def _like(part: str) -> str:
    escaped = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def listed_threads(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    search: ThreadSearch,
    limit: int,
    after: uuid.UUID | None = None,
) -> ThreadPage:
    """The tenant's threads (`user_id`: only that traveller's), newest first, `limit` a page,
    starting after the thread `after` (the previous page's `next_cursor`)."""
    conditions = ["s.deleted_at IS NULL"]
    params: dict[str, Any] = {"limit": limit + 1}
    if user_id is not None:
        conditions.append("s.user_id = :user")
        params["user"] = user_id
    if search.email:
        conditions.append("u.email ILIKE :email")
        params["email"] = _like(search.email.strip().lower())
    if search.since is not None:
        conditions.append("s.created_at >= CAST(:since AS date)")
        params["since"] = search.since
    if search.until is not None:
        conditions.append("s.created_at < CAST(:until AS date)")
        params["until"] = search.until + timedelta(days=1)
    if search.model:
        conditions.append(
            "EXISTS (SELECT 1 FROM chat_messages m WHERE m.session_id = s.id"
            " AND m.created_at >= s.created_at - interval '1 day' AND m.model_name = :model)"
        )
        params["model"] = search.model
    if after is not None:
        conditions.append(_AFTER)
        params["cursor"] = after
    outcome = "t.outcome = :outcome" if search.outcome else "true"
    if search.outcome:
        params["outcome"] = search.outcome
    statement = text(_LISTED.format(conditions=" AND ".join(conditions), outcome=outcome))
    models = text(
        "SELECT DISTINCT m.model_name FROM chat_messages m JOIN chat_sessions s"
        " ON s.id = m.session_id WHERE m.model_name IS NOT NULL"
        + (" AND s.user_id = :user" if user_id is not None else "")
        + " ORDER BY 1 LIMIT 50"
    )
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        connection = await uow.session.connection()
        rows = list((await connection.execute(statement, params)).all())
        known = list((await connection.execute(models, {"user": user_id})).scalars())
    page = rows[:limit]
    more = len(rows) > limit
    return ThreadPage(page, page[-1].thread_id if more and page else None, known)


async def forks_of(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, thread_id: uuid.UUID
) -> list[Row[Any]]:
    """The sandbox threads forked from `thread_id`, oldest first: thread_id, title,
    created_at, checkpoint_id (where each started)."""
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        connection = await uow.session.connection()
        return list((await connection.execute(_FORKS, {"thread": str(thread_id)})).all())


async def thread_header(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, thread_id: uuid.UUID
) -> Row[Any] | None:
    """A thread's title, start, traveller (email) and, for a fork, where it was forked from
    (forked_from, checkpoint_id); None if the tenant has no such thread."""
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        connection = await uow.session.connection()
        return (await connection.execute(_HEADER, {"thread": thread_id})).first()
