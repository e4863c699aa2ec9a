"""The unit of work: tenant-scoped transactions through the app's own engine and pools."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from agent.bootstrap import DatabaseUrls, build_services
from agent.settings import Settings
from db.models import Booking, ChatSession, User
from db.unit_of_work import UnitOfWork
from tests import factories

pytestmark = pytest.mark.integration


@pytest.fixture
async def services(database: str, runtime_database: str) -> Any:
    settings = Settings(TRAVELHUB_ENV="test", TRAVELHUB_DB_POOL_MAX=2)
    built = await build_services(settings, DatabaseUrls(owner=database, runtime=runtime_database))
    yield built
    await built.aclose()


async def test_a_unit_of_work_sees_only_its_tenant(owner: Any, services: Any) -> None:
    mine = factories.full_tenant(owner)
    factories.full_tenant(owner)
    async with UnitOfWork(services.sessions, tenant_id=mine["tenant_id"]) as uow:
        users = (await uow.session.exec(select(User))).all()
        bookings = (await uow.session.exec(select(Booking))).all()
    assert [user.id for user in users] == [mine["users"]]
    assert [booking.id for booking in bookings] == [mine["bookings"]]


async def test_commit_writes_and_leaving_without_commit_rolls_back(
    owner: Any, services: Any
) -> None:
    ids = factories.full_tenant(owner)
    tenant_id = ids["tenant_id"]
    async with UnitOfWork(services.sessions, tenant_id=tenant_id) as uow:
        uow.session.add(
            ChatSession(tenant_id=tenant_id, user_id=ids["users"], thread_id=ids["users"])
        )
    async with UnitOfWork(services.sessions, tenant_id=tenant_id) as uow:
        session = ChatSession(tenant_id=tenant_id, user_id=ids["users"], thread_id=tenant_id)
        uow.session.add(session)
        await uow.commit()
    rows = owner.execute("SELECT id, checkpoint_ns FROM chat_sessions ORDER BY id").fetchall()
    assert len(rows) == 2  # the factory's and the committed one
    assert (session.id, "travel_agent") in rows
    assert session.id.version == 7


async def test_every_transaction_of_a_unit_of_work_is_scoped(owner: Any, services: Any) -> None:
    ids = factories.full_tenant(owner)
    async with UnitOfWork(services.sessions, tenant_id=ids["tenant_id"]) as uow:
        for _ in range(2):
            tenant = (
                await uow.session.exec(text("SELECT current_setting('app.current_tenant_id')"))
            ).one()
            assert tenant == (str(ids["tenant_id"]),)
            await uow.commit()


async def test_the_checkpoint_pool_runs_as_the_runtime_role(services: Any) -> None:
    async with services.checkpoint_pool.connection() as connection:
        row = await (await connection.execute("SELECT current_user")).fetchone()
    assert row == {"current_user": "travelhub_app"}
