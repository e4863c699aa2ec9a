"""The composition root: the one place that turns settings into connected services."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent.settings import Settings
from db.embedded import start_embedded_postgres
from db.engine import create_app_engine, create_checkpoint_pool
from db.unit_of_work import tenant_sessionmaker
from db.urls import runtime_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str
    """Schema owner: migrations and maintenance."""
    runtime: str
    """The row-level-security role every request runs as."""


def resolve_database(settings: Settings) -> DatabaseUrls:
    """The configured database, or an embedded one started under `settings.data_dir`."""
    if settings.database_url is not None:
        owner = settings.database_url.get_secret_value()
    else:
        owner = start_embedded_postgres(settings.data_dir)
    if settings.app_database_url is not None:
        runtime = settings.app_database_url.get_secret_value()
    else:
        password = settings.app_db_password.get_secret_value() if settings.app_db_password else None
        runtime = runtime_url(owner, password=password)
    return DatabaseUrls(owner=owner, runtime=runtime)


@dataclass
class Services:
    """Everything a running process holds open; built by `build_services`, closed by `aclose`."""

    settings: Settings
    urls: DatabaseUrls
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    checkpoint_pool: AsyncConnectionPool[Any]
    redis: Redis | None

    async def aclose(self) -> None:
        await self.checkpoint_pool.close()
        await self.engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()


async def build_services(settings: Settings, urls: DatabaseUrls | None = None) -> Services:
    """Connect to PostgreSQL (as the runtime role) and, when configured, Redis."""
    urls = urls or resolve_database(settings)
    engine = create_app_engine(urls.runtime, pool_size=settings.db_pool_max_size)
    pool = create_checkpoint_pool(
        urls.runtime, min_size=settings.db_pool_min_size, max_size=settings.db_pool_max_size
    )
    await pool.open(wait=True)
    redis = (
        Redis.from_url(settings.redis_url.get_secret_value())
        if settings.redis_url is not None
        else None
    )
    return Services(
        settings=settings,
        urls=urls,
        engine=engine,
        sessions=tenant_sessionmaker(engine),
        checkpoint_pool=pool,
        redis=redis,
    )
