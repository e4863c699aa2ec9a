"""Sign-in sessions kept on the server: a session token is honoured only while its row is live,
so signing out, or a password change, ends a token before it expires."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.directory import Account
from db.ids import new_id
from db.unit_of_work import UnitOfWork

ENDED = "Your session has ended; sign in again."


async def start_session(
    sessions: async_sessionmaker[AsyncSession], traveller: Account, *, lifetime: timedelta
) -> uuid.UUID:
    """A new live session of `traveller`, lasting `lifetime` at most; its id."""
    session_id = new_id()
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        await (await uow.session.connection()).execute(
            text(
                "INSERT INTO user_sessions (id, tenant_id, user_id, expires_at)"
                " VALUES (:id, :tenant, :user, now() + :lifetime)"
            ),
            {"id": session_id, "tenant": traveller.tenant_id, "user": traveller.user_id,
             "lifetime": lifetime},
        )  # fmt: skip
        await uow.commit()
    return session_id


async def is_live(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
) -> bool:
    """Whether the session is the user's, not revoked and not expired (one key lookup)."""
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        found = await (await uow.session.connection()).execute(
            text(
                "SELECT 1 FROM user_sessions WHERE id = :id AND user_id = :user"
                " AND revoked_at IS NULL AND expires_at > now()"
            ),
            {"id": session_id, "user": user_id},
        )
        return found.first() is not None


async def end_session(
    sessions: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID, session_id: uuid.UUID
) -> None:
    """Revoke one session (signing out); ending an ended one changes nothing."""
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        await (await uow.session.connection()).execute(
            text(
                "UPDATE user_sessions SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL"
            ),
            {"id": session_id},
        )
        await uow.commit()


async def end_sessions(
    sessions: async_sessionmaker[AsyncSession],
    traveller: Account,
    *,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Revoke every live session of `traveller` but `keep`; the ids revoked."""
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        revoked = await revoke_sessions(
            await uow.session.connection(), user_id=traveller.user_id, keep=keep
        )
        await uow.commit()
    return revoked


async def revoke_sessions(
    connection: AsyncConnection, *, user_id: uuid.UUID, keep: uuid.UUID | None
) -> list[uuid.UUID]:
    """`end_sessions` inside the caller's transaction (a password change commits both)."""
    ended = await connection.execute(
        text(
            "UPDATE user_sessions SET revoked_at = now() WHERE user_id = :user"
            " AND revoked_at IS NULL AND id IS DISTINCT FROM CAST(:keep AS uuid) RETURNING id"
        ),
        {"user": user_id, "keep": keep},
    )
    return [row[0] for row in ended]
