"""The whole stack as the app builds it, on a test database (offline model and inventory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from accounts.directory import Account, account_by_email
from agent.bootstrap import DatabaseUrls, Services, build_services
from agent.settings import Settings


@asynccontextmanager
async def stack(
    database: str, runtime_database: str, **settings: object
) -> AsyncIterator[Services]:
    built = await build_services(
        Settings(TRAVELHUB_ENV="test", REDIS_URL=None, **settings),  # type: ignore[arg-type]
        DatabaseUrls(database, runtime_database),
    )
    try:
        yield built
    finally:
        await built.aclose()


async def traveller(services: Services, email: str = "ada@example.com") -> Account:
    return await account_by_email(services.sessions, "default", email, create=True)
