"""Connection strings: one owner URL in, the driver-specific and runtime-role variants out."""

from __future__ import annotations

from typing import Any

from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL, make_url

RUNTIME_ROLE = "travelhub_app"
"""The login role the application runs as; created by the migrations."""


class DatabaseUrlError(ValueError):
    """A database URL that cannot be used; the message says why in one sentence."""


def parse(url: str) -> URL:
    """Parse a `postgresql://` URL (any driver suffix), refusing anything else."""
    try:
        parsed = make_url(url)
    except Exception as error:
        raise DatabaseUrlError(f"DATABASE_URL is not a valid URL: {error}.") from None
    if parsed.drivername == "postgres":  # Heroku-style scheme, same thing
        parsed = parsed.set(drivername="postgresql")
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseUrlError(
            f"DATABASE_URL must point at PostgreSQL, not {parsed.get_backend_name()!r}."
        )
    return parsed


def sqlalchemy_url(url: str) -> str:
    """The URL for SQLAlchemy with the psycopg 3 driver."""
    return parse(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """A libpq connection string for psycopg.

    Key/value form rather than a URL: libpq reads `+` in a URL literally, so a socket
    folder with a space in its path would not survive a URL round trip.
    """
    parsed = parse(url)
    options: dict[str, Any] = {
        "user": parsed.username,
        "password": parsed.password,
        "host": parsed.host,
        "port": parsed.port,
        "dbname": parsed.database,
    }
    for key, value in parsed.query.items():
        options[key] = value if isinstance(value, str) else value[-1]
    return make_conninfo(
        "", **{key: value for key, value in options.items() if value not in (None, "")}
    )


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return parse(url).set(database=database).render_as_string(hide_password=False)


def runtime_url(owner_url: str, *, password: str | None) -> str:
    """The owner's server and database, logged in as the runtime role."""
    owner = parse(owner_url)
    # Built anew: `URL.set(password=None)` would keep the owner's password.
    runtime = URL.create(
        owner.drivername,
        username=RUNTIME_ROLE,
        password=password or None,
        host=owner.host,
        port=owner.port,
        database=owner.database,
        query=owner.query,
    )
    return runtime.render_as_string(hide_password=False)


def redacted(url: str) -> str:
    """Where a URL points, without its password, for messages and logs."""
    parsed = parse(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    if not isinstance(host, str):
        host = host[-1]
    where = host if host.startswith("/") else f"{host}:{parsed.port or 5432}"
    return f"{parsed.database or parsed.username} on {where} as {parsed.username or 'default'}"
