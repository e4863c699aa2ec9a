"""A unit of work: one session, transactions scoped to one tenant, committed explicitly."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

SET_TENANT = text("SELECT set_config('app.current_tenant_id', :tenant_id, true)")


class TenantSession(Session):
    """A sync-side session that scopes each of its transactions to `info["tenant_id"]`."""


@event.listens_for(TenantSession, "after_begin")
def _set_tenant(session: Session, _transaction: SessionTransaction, connection: Any) -> None:
    # Transaction-local (`set_config(..., true)`): a session-level SET would survive on a
    # pooled server connection and leak to the next client behind PgBouncer.
    tenant_id = session.info.get("tenant_id")
    if tenant_id is not None:
        connection.execute(SET_TENANT, {"tenant_id": str(tenant_id)})


def tenant_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that set `app.current_tenant_id` at the start of every transaction."""
    return async_sessionmaker(
        engine, class_=AsyncSession, sync_session_class=TenantSession, expire_on_commit=False
    )


class UnitOfWork:
    """`async with UnitOfWork(...) as uow: ...; await uow.commit()`; leaving without a
    commit rolls everything back. `tenant_id` is a tenant's id or its slug."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID | str
    ) -> None:
        self._sessions = sessions
        self.tenant_id = tenant_id
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("The unit of work is used outside its `async with` block.")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessions(info={"tenant_id": self.tenant_id})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed and detaches the loaded objects,
        # which stay readable after the block.
        await self.session.close()
        self._session = None

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


async def resolve_tenant(sessions: async_sessionmaker[AsyncSession], slug: str) -> uuid.UUID:
    """The id of the tenant called `slug`, read as that tenant (row-level security allows it)."""
    async with UnitOfWork(sessions, tenant_id=slug) as uow:
        found = (
            await (await uow.session.connection()).execute(text("SELECT current_tenant_id()"))
        ).scalar()
    if found is None:
        raise LookupError(f"There is no tenant called {slug!r}.")
    return uuid.UUID(str(found))
