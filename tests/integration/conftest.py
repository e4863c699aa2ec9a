"""Fixtures the integration tests share: the app's services on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from agent.bootstrap import Services
from tests.integration.agent_world import stack
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
