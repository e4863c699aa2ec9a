"""What the hostile-input tests share: session tokens, a database per module and an event loop
that outlives one call (the services' pools are bound to it); the web app is tests/conftest.py's."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import uuid
from collections.abc import Awaitable, Iterator
from typing import TypeVar

import psycopg
import pytest
from fastapi import FastAPI

from accounts.directory import Account
from db.ids import new_id
from db.urls import libpq_url
from tests.conftest import create_database, drop_database
from web.chat_user import chat_user

T = TypeVar("T")


def token_for(traveller: Account, database: str) -> str:
    """A Chainlit session token for `traveller`, shaped as the app's login makes it, with a
    live sign-in session in `database` (the owner's URL) behind it."""
    from chainlit.auth.jwt import create_jwt

    session_id = new_id()
    with psycopg.connect(libpq_url(database), autocommit=True) as owner:
        owner.execute(
            "INSERT INTO user_sessions (id, tenant_id, user_id, expires_at)"
            " VALUES (%s, %s, %s, now() + interval '1 hour')",
            (session_id, traveller.tenant_id, traveller.user_id),
        )
    return create_jwt(chat_user(traveller, session_id=session_id))


@pytest.fixture(scope="session")
def project_loaded(web_app: FastAPI) -> None:
    """Every module of the project imported (the chat app's too, which only the web app
    loads): Hypothesis mixes constants from the loaded project modules into what it draws,
    so examples are the same whichever tests ran first in the session."""
    del web_app
    for package in ("agent", "tools", "db"):
        root = importlib.import_module(package)
        for found in pkgutil.walk_packages(root.__path__, f"{package}."):
            if not found.name.endswith(".__main__"):  # that one runs the command line
                importlib.import_module(found.name)


@pytest.fixture(scope="module")
def module_database(server_url: str, template_database: str) -> Iterator[str]:
    """Owner URL of a migrated database shared by one module's tests (they build one world
    and probe it many times; each test checks it leaves the world as it found it)."""
    name = f"th_hostile_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name, template=template_database)
    yield url
    drop_database(server_url, name)


class Loop:
    """One event loop for a module: async services built in it stay usable between the
    synchronous steps (the CLI runs its own `asyncio.run` in between)."""

    def __init__(self) -> None:
        self._runner = asyncio.Runner()

    def run(self, work: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await work

        return self._runner.run(wrapped())

    def close(self) -> None:
        self._runner.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    running = Loop()
    yield running
    running.close()
