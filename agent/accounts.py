"""Travellers known to the agent: found, or created on first use, inside their tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.ids import new_id
from db.models.enums import UserRole
from db.unit_of_work import UnitOfWork, resolve_tenant
from db.users import find_user_by_email
from tools.booking import Customer
from tools.orders import Contact


@dataclass(frozen=True)
class Traveller:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    phone: str | None
    is_admin: bool

    def customer(self, session_id: uuid.UUID | None = None) -> Customer:
        return Customer(self.tenant_id, self.user_id, self.is_admin, session_id)

    def contact(self) -> Contact:
        return Contact(name=self.name, email=self.email, phone=self.phone)


async def traveller_by_email(
    sessions: async_sessionmaker[AsyncSession], tenant_slug: str, email: str, *, create: bool
) -> Traveller:
    """The traveller with `email` in the tenant; created (consent not yet given) if asked."""
    tenant_id = await resolve_tenant(sessions, tenant_slug)
    address = email.strip().lower()
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        user = await find_user_by_email(uow.session, address)
        if user is None and create:
            connection = await uow.session.connection()
            await connection.execute(
                text(
                    "INSERT INTO users (id, tenant_id, email) VALUES (:id, :tenant, :email)"
                    " ON CONFLICT (email) WHERE deleted_at IS NULL DO NOTHING"
                ),
                {"id": new_id(), "tenant": tenant_id, "email": address},
            )
            await uow.commit()
            user = await find_user_by_email(uow.session, address)
    if user is None:
        raise LookupError(f"No traveller has the email address {address!r}.")
    return Traveller(
        tenant_id=tenant_id,
        user_id=user.id,
        email=user.email,
        name=user.full_name or user.email.split("@")[0],
        phone=user.phone,
        is_admin=user.role is UserRole.ADMIN,
    )
