"""The `travelhub` command line: the interface operators, developers and tests share."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Annotated

import psycopg
import typer

from agent.conversation.checkpointer import (
    applied_checkpoint_migration,
    check_checkpoint_schema,
)
from agent.settings import Settings
from cli.bookings import bookings_app
from cli.chat import chat
from cli.eval import eval_command
from cli.keys import keys_app
from cli.ops import (
    backup_command,
    gdpr_app,
    maintain,
    restore_command,
    stats,
    tenants_app,
)
from cli.replay import replay_app
from cli.search import search_app
from cli.support import guarded, load_settings, owner_url
from cli.users import users_app
from db import migrate
from db.urls import libpq_url, redacted

app = typer.Typer(
    name="travelhub",
    help="Global Travel Hub: chat with a travel agent that searches and books.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(search_app, name="search")
app.add_typer(bookings_app, name="bookings")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(replay_app, name="replay")
app.command("chat")(chat)
app.command("eval")(eval_command)
app.command("maintain")(maintain)
app.command("stats")(stats)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.add_typer(gdpr_app, name="gdpr")
app.add_typer(tenants_app, name="tenants")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = load_settings()
    url = owner_url(settings)
    guarded(lambda: migrate.upgrade(url, revision))
    if settings.app_db_password is not None:
        password = settings.app_db_password.get_secret_value()
        guarded(lambda: migrate.set_runtime_password(url, password))
    typer.echo(f"Database {redacted(url)} is at {migrate.current_revision(url)}.")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; `base` empties the schema.")],
) -> None:
    """Revert migrations down to REVISION."""
    url = owner_url(load_settings())
    guarded(lambda: migrate.downgrade(url, revision))
    typer.echo(f"Database {redacted(url)} is at {migrate.current_revision(url) or 'base'}.")


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at, and whether it is the newest."""
    url = owner_url(load_settings())
    current = guarded(lambda: migrate.current_revision(url))
    head = migrate.head_revision()
    state = "up to date" if current == head else f"behind {head}"
    typer.echo(f"{current or 'base'} ({state})")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.", min=1, max=65535)] = None,
) -> None:
    """Migrate if needed, then serve the chat app (embedded PostgreSQL if no DATABASE_URL)."""
    settings = load_settings()
    url = owner_url(settings)
    guarded(
        lambda: migrate.ensure_current(
            url, announce=lambda: typer.echo("Migrating the database ...")
        )
    )
    if settings.app_db_password is not None:
        password = settings.app_db_password.get_secret_value()
        guarded(lambda: migrate.set_runtime_password(url, password))
    guarded(lambda: asyncio.run(_checkpoint_schema_checked(url)))
    # The app composes its services from the environment: hand it the database this command
    # resolved (the embedded one included).
    os.environ["DATABASE_URL"] = url
    import uvicorn

    # Our own loggers say what the background jobs did (maintenance, Redis coming and going).
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for ours in ("web", "agent", "accounts", "tools", "db"):
        logging.getLogger(ours).setLevel(logging.INFO)
    bind_host, bind_port = host or settings.host, port or settings.port
    typer.echo(f"Serving on http://{bind_host}:{bind_port}")
    # A wildcard address serves every interface; a browser on this machine opens it locally.
    open_host = "127.0.0.1" if bind_host in {"0.0.0.0", "::", ""} else bind_host
    typer.echo(way_in(settings, f"http://{open_host}:{bind_port}"))
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        log_level="warning",
        # X-Forwarded-For is believed only from TRAVELHUB_TRUSTED_PROXIES (web/app.py), never
        # by uvicorn's default of trusting whatever 127.0.0.1 says.
        proxy_headers=False,
    )


def way_in(settings: Settings, url: str) -> str:
    """How a newcomer gets into the app at `url`, in one sentence."""
    make = "travelhub users create --email you@example.com"
    if settings.signup:
        return f"Open {url} and create an account (or: {make})."
    return f"Open {url} and sign in with an account made by: {make}"


async def _checkpoint_schema_checked(url: str) -> None:
    """Refuse to serve over checkpoint tables the installed LangGraph does not expect."""
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as connection:
        check_checkpoint_schema(await applied_checkpoint_migration(connection))


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
