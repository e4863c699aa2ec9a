"""Schema migrations (Alembic) run from code, serialised across processes by an advisory lock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from db.engine import create_owner_engine
from db.urls import RUNTIME_ROLE

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant shared by every process that migrates this database.
MIGRATION_LOCK_KEY = 0x7472_6176_656C


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@contextmanager
def _locked_connection(owner_url: str) -> Iterator[Connection]:
    engine = create_owner_engine(owner_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
    finally:
        engine.dispose()


def _run(owner_url: str, action: str, revision: str) -> None:
    config = alembic_config()
    with _locked_connection(owner_url) as connection:
        config.attributes["connection"] = connection
        if action == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
        connection.commit()


def upgrade(owner_url: str, revision: str = "head") -> None:
    """Bring the schema up to `revision` (default: the newest)."""
    _run(owner_url, "upgrade", revision)


def downgrade(owner_url: str, revision: str) -> None:
    """Take the schema down to `revision` (`base` empties it)."""
    _run(owner_url, "downgrade", revision)


def current_revision(owner_url: str) -> str | None:
    """The revision the database is at, or None for an unmigrated database."""
    engine = create_owner_engine(owner_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_up_to_date(owner_url: str) -> bool:
    return current_revision(owner_url) == head_revision()


def ensure_current(owner_url: str, *, announce: Callable[[], None] | None = None) -> bool:
    """Upgrade the schema to the newest revision if it is behind (calling `announce` first);
    True when it migrated."""
    if is_up_to_date(owner_url):
        return False
    if announce is not None:
        announce()
    upgrade(owner_url)
    return True


def set_runtime_password(owner_url: str, password: str) -> None:
    """Give the runtime role its password (kept out of migrations, which are code)."""
    engine = create_owner_engine(owner_url)
    try:
        with engine.begin() as connection:
            quoted = connection.exec_driver_sql(
                "SELECT quote_literal(%(password)s)", {"password": password}
            ).scalar_one()
            connection.exec_driver_sql(f"ALTER ROLE {RUNTIME_ROLE} PASSWORD {quoted}")
    finally:
        engine.dispose()
