"""Shared fixtures: a real PostgreSQL (DATABASE_URL, else an embedded server) and databases
cloned per test from a template migrated once per run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from psycopg import sql

from db import migrate
from db.embedded import start_embedded_postgres
from db.urls import libpq_url, parse, runtime_url, with_database

AUTH_SECRET = "tests-only-" + "s3cr3t" * 8
"""Signs the Chainlit session tokens of the tests that use the web app (never a real
deployment's secret)."""
APP_DB_PASSWORD = os.environ.get("TRAVELHUB_APP_DB_PASSWORD")
PGBOUNCER = os.environ.get("TRAVELHUB_TEST_PGBOUNCER")
"""host:port of a PgBouncer in transaction mode: when set, every connection the application
makes as its runtime role goes through it (.ci/run runs the integration suite that way)."""


def app_url(owner_url: str) -> str:
    """The runtime role's URL for a test database, through PgBouncer when there is one."""
    url = runtime_url(owner_url, password=APP_DB_PASSWORD)
    if not PGBOUNCER:
        return url
    host, port = PGBOUNCER.rsplit(":", 1)
    parsed = parse(url).set(host=host, port=int(port))
    query = {key: value for key, value in parsed.query.items() if key != "host"}
    return parsed.set(query=query).render_as_string(hide_password=False)


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(libpq_url(url), autocommit=True)


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    with _admin(server_url) as connection:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        connection.execute(statement)
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with _admin(server_url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An owner URL on the PostgreSQL server the tests use (its `postgres` database)."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return with_database(configured, "postgres")
    data_dir = Path(os.environ.get("TRAVELHUB_TEST_DATA_DIR", tmp_path_factory.mktemp("pg")))
    return start_embedded_postgres(data_dir, database="postgres")


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    """A database migrated to head once; every test database is a copy of it."""
    name = f"th_template_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name)
    migrate.upgrade(url)
    if APP_DB_PASSWORD:
        migrate.set_runtime_password(url, APP_DB_PASSWORD)
    yield name
    drop_database(server_url, name)


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    """Owner URL of a new, unmigrated database."""
    name = f"th_empty_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name)
    yield url
    drop_database(server_url, name)


@pytest.fixture
def database(server_url: str, template_database: str) -> Iterator[str]:
    """Owner URL of a freshly migrated database of this test's own."""
    name = f"th_test_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name, template=template_database)
    yield url
    drop_database(server_url, name)


@pytest.fixture
def runtime_database(database: str) -> str:
    """The same database, logged in as the row-level-security runtime role."""
    return app_url(database)


@pytest.fixture
def owner(database: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection as the schema owner."""
    with psycopg.connect(libpq_url(database), autocommit=True) as connection:
        yield connection


@pytest.fixture
def app_connection(runtime_database: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection as the runtime role (transactions left to the test)."""
    with psycopg.connect(libpq_url(runtime_database)) as connection:
        yield connection


@pytest.fixture(scope="session")
def auth_secret() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHAINLIT_AUTH_SECRET", AUTH_SECRET)
        yield AUTH_SECRET


@pytest.fixture(scope="session")
def web_app(auth_secret: str) -> FastAPI:
    """The real web app, Chainlit mounted: made once per test run, because Chainlit's own app
    is a process-wide object that takes no more middleware once it has served a request. Its
    lifespan does not run: a test installs its services (`installed_services`)."""
    del auth_secret
    from web.app import create_app

    return create_app()
