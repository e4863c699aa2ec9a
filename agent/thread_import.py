"""Importing a thread file into this database, so that a thread from a bug report replays
(and forks) here: in one transaction under the target tenant, or not at all.

The traveller is found by address in the tenant, or created without a password and
suspended, so that nobody signs in as them (not with a password, not through a provider).
The thread keeps its id unless this database has that id already; messages get new ids (an
edit's `supersedes` follows them); checkpoints keep theirs, stored as the bytes exported.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent.thread_file import BadThreadFile, ThreadFile
from db.ids import new_id
from db.unit_of_work import UnitOfWork, resolve_tenant
from db.users import find_user_by_email

CREATE_TRAVELLER = text(
    "INSERT INTO users (id, tenant_id, email, full_name, locale, preferred_currency, status)"
    " VALUES (:id, :tenant, :email, :full_name, :locale, :preferred_currency, 'suspended')"
    " ON CONFLICT (email) WHERE deleted_at IS NULL DO NOTHING RETURNING id"
)
THREAD_IN_CHECKPOINTS = text("SELECT EXISTS (SELECT 1 FROM checkpoints WHERE thread_id = :thread)")
# A thread id in use is in use whatever its tenant: the unique index sees past row-level
# security where a SELECT would not.
CREATE_SESSION = text(
    "INSERT INTO chat_sessions (id, tenant_id, user_id, thread_id, checkpoint_ns, title, status,"
    " context, deleted_at, created_at)"
    " VALUES (:id, :tenant, :user, :thread, :checkpoint_ns, :title, :status,"
    " CAST(:context AS jsonb), :deleted_at, :created_at)"
    " ON CONFLICT (thread_id) DO NOTHING RETURNING id"
)
CREATE_MESSAGE = text(
    "INSERT INTO chat_messages (id, created_at, tenant_id, session_id, role, content, tool_calls,"
    " tool_call_id, tool_name, model_name, prompt_tokens, completion_tokens, latency_ms,"
    " attributes, superseded_at) VALUES (:id, :created_at, :tenant, :session, :role, :content,"
    " CAST(:tool_calls AS jsonb), :tool_call_id, :tool_name, :model_name, :prompt_tokens,"
    " :completion_tokens, :latency_ms, CAST(:attributes AS jsonb), :superseded_at)"
)
CREATE_CHECKPOINT = text(
    "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,"
    " type, checkpoint, metadata) VALUES (:thread, :checkpoint_ns, :checkpoint_id,"
    " :parent_checkpoint_id, :type, CAST(:checkpoint AS jsonb), CAST(:metadata AS jsonb))"
)
CREATE_BLOB = text(
    "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)"
    " VALUES (:thread, :checkpoint_ns, :channel, :version, :type, :blob)"
)
CREATE_WRITE = text(
    "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path,"
    " idx, channel, type, blob) VALUES (:thread, :checkpoint_ns, :checkpoint_id, :task_id,"
    " :task_path, :idx, :channel, :type, :blob)"
)
CHECKPOINT_SCHEMA = text("SELECT max(v) FROM checkpoint_migrations")


@dataclass(frozen=True)
class ImportedThread:
    """Where the thread file went."""

    thread_id: uuid.UUID
    original_id: uuid.UUID
    email: str
    created_traveller: bool

    @property
    def renamed(self) -> bool:
        """The original id was taken here, so the thread has a new one."""
        return self.thread_id != self.original_id


async def import_thread(
    sessions: async_sessionmaker[AsyncSession], thread: ThreadFile, *, tenant_slug: str
) -> ImportedThread:
    """Load `thread` into the tenant `tenant_slug`; LookupError for an unknown tenant or an
    address that is another tenant's traveller, BadThreadFile for checkpoints this database's
    LangGraph tables do not hold."""
    tenant_id = await resolve_tenant(sessions, tenant_slug)
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        connection = await uow.session.connection()
        schema = (await connection.execute(CHECKPOINT_SCHEMA)).scalar()
        if schema != thread.checkpoint_schema:
            raise BadThreadFile(
                f"That thread file holds checkpoints of LangGraph's checkpoint migration"
                f" {thread.checkpoint_schema}, but this database is at {schema}."
            )
        user_id, created = await _traveller(uow.session, connection, tenant_id, thread)
        thread_id = thread.thread_id
        if (await connection.execute(THREAD_IN_CHECKPOINTS, {"thread": str(thread_id)})).scalar():
            thread_id = new_id()
        session_id = await _session(connection, tenant_id, user_id, thread_id, thread)
        if session_id is None:  # a session holds the id, in this tenant or another
            thread_id = new_id()
            session_id = await _session(connection, tenant_id, user_id, thread_id, thread)
            assert session_id is not None
        await _messages(connection, tenant_id, session_id, thread)
        await _checkpoints(connection, str(thread_id), thread)
        await uow.commit()
    return ImportedThread(thread_id, thread.thread_id, thread.traveller.email.lower(), created)


async def _traveller(
    session: AsyncSession, connection: AsyncConnection, tenant_id: uuid.UUID, thread: ThreadFile
) -> tuple[uuid.UUID, bool]:
    """The tenant's traveller with the file's address: found, or created suspended."""
    email = thread.traveller.email.strip().lower()
    found = await find_user_by_email(session, email)
    if found is not None:
        return found.id, False
    params = {**thread.traveller.model_dump(), "email": email, "id": new_id(), "tenant": tenant_id}
    created = (await connection.execute(CREATE_TRAVELLER, params)).scalar()
    if created is None:
        raise LookupError(
            f"{email} is a traveller of another tenant here; import with --tenant naming it."
        )
    return created, True


async def _session(
    connection: AsyncConnection,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    thread_id: uuid.UUID,
    thread: ThreadFile,
) -> uuid.UUID | None:
    fields = thread.session.model_dump()
    params = {**fields, "context": json.dumps(fields["context"]), "id": new_id(),
              "tenant": tenant_id, "user": user_id, "thread": thread_id}  # fmt: skip
    session_id: uuid.UUID | None = (await connection.execute(CREATE_SESSION, params)).scalar()
    return session_id


async def _messages(
    connection: AsyncConnection, tenant_id: uuid.UUID, session_id: uuid.UUID, thread: ThreadFile
) -> None:
    ids = {message.id: new_id() for message in thread.messages}
    rows = []
    for message in thread.messages:
        fields = message.model_dump()
        attributes: dict[str, Any] = dict(fields["attributes"])
        if "supersedes" in attributes:  # the replaced message, by its id here
            replaced = ids.get(_uuid(attributes["supersedes"]) or uuid.UUID(int=0))
            attributes["supersedes"] = str(replaced) if replaced else None
        tool_calls = fields["tool_calls"]
        rows.append({
            **fields, "id": ids[message.id], "tenant": tenant_id, "session": session_id,
            "tool_calls": json.dumps(tool_calls) if tool_calls is not None else None,
            "attributes": json.dumps(attributes),
        })  # fmt: skip
    if rows:
        await connection.execute(CREATE_MESSAGE, rows)


async def _checkpoints(connection: AsyncConnection, thread_id: str, thread: ThreadFile) -> None:
    checkpoints = [
        {
            **c.model_dump(),
            "thread": thread_id,
            "checkpoint": json.dumps(c.checkpoint),
            "metadata": json.dumps(c.metadata),
        }
        for c in thread.checkpoints
    ]
    for statement, rows in (
        (CREATE_CHECKPOINT, checkpoints),
        (CREATE_BLOB, [{**b.model_dump(), "thread": thread_id} for b in thread.checkpoint_blobs]),
        (CREATE_WRITE, [{**w.model_dump(), "thread": thread_id} for w in thread.checkpoint_writes]),
    ):
        if rows:
            await connection.execute(statement, rows)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
