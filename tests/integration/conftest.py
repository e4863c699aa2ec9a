"""Fixtures the integration tests share: the app's services on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from redis.asyncio import Redis

from agent.bootstrap import Services
from tests.integration.agent_world import stack
from tests.support.redis_server import RedisServer
from web import runtime


@pytest.fixture
async def services(database: str, runtime_database: str) -> AsyncIterator[Services]:
    """The services `serve` builds, on the test's database."""
    async with stack(database, runtime_database) as built:
        yield built


@pytest.fixture
def installed_services(services: Services) -> Iterator[Services]:
    """`services`, also installed where Chainlit's handlers and data layer look for them."""
    runtime.install(services)
    yield services
    runtime.install(None)


@pytest.fixture(scope="module")
def private_redis() -> Iterator[RedisServer]:
    """A Redis of the test module's own, which a test may stop and start again."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def redis(private_redis: RedisServer) -> AsyncIterator[Redis]:
    """A client of `private_redis` that gives up in half a second when it is down."""
    client = Redis.from_url(private_redis.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    yield client
    await client.aclose()


@asynccontextmanager
async def router_client(router: APIRouter) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `router` served alone, in process."""
    app = FastAPI()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
