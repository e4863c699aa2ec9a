"""The `travelhub` command line: the interface operators, developers and tests share."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from alembic.util.exc import CommandError
from psycopg import OperationalError as PsycopgOperationalError
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, ProgrammingError

from agent.settings import Settings, SettingsError
from db import migrate
from db.urls import DatabaseUrlError, redacted

PROJECT_ROOT = Path(__file__).resolve().parent.parent

app = typer.Typer(
    name="travelhub",
    help="Global Travel Hub: chat with a travel agent that searches and books.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """One sentence on stderr and a non-zero exit: how every command reports an error."""
    typer.echo(f"travelhub: {message}", err=True)
    raise typer.Exit(code=1)


def guarded(action: Callable[[], T]) -> T:
    """Run `action`, turning the errors a user can cause or fix into one clear sentence."""
    try:
        return action()
    except (SettingsError, DatabaseUrlError) as error:
        fail(str(error))
    except ValidationError as error:
        first = error.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, SettingsError):
            fail(str(cause))
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        fail(f"invalid setting {where}: {first['msg']}.")
    except (OperationalError, PsycopgOperationalError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fail(f"cannot reach the database ({reason}).")
    except CommandError as error:
        fail(f"migration failed: {error}.")
    except ProgrammingError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fail(f"the database refused the command ({reason}).")


def load_settings() -> Settings:
    return guarded(Settings)


def owner_url(settings: Settings) -> str:
    from agent.bootstrap import resolve_database

    return guarded(lambda: resolve_database(settings).owner)


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
    if not guarded(lambda: migrate.is_up_to_date(url)):
        typer.echo("Migrating the database ...")
        guarded(lambda: migrate.upgrade(url))
    if settings.app_db_password is not None:
        password = settings.app_db_password.get_secret_value()
        guarded(lambda: migrate.set_runtime_password(url, password))
    # The app in this process composes its services from the environment: hand it the
    # database this command resolved (the embedded one included) and the address.
    os.environ["DATABASE_URL"] = url
    os.environ["CHAINLIT_HOST"] = host or settings.host
    os.environ["CHAINLIT_PORT"] = str(port or settings.port)
    # Chainlit reads `.chainlit/` and `chainlit.md` from the working directory at import.
    os.chdir(PROJECT_ROOT)
    from chainlit.cli import run_chainlit

    typer.echo(f"Serving on http://{os.environ['CHAINLIT_HOST']}:{os.environ['CHAINLIT_PORT']}")
    run_chainlit(str(PROJECT_ROOT / "app.py"))


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
