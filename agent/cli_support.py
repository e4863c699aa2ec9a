"""What every `travelhub` command shares: settings, services, and errors as one sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import NoReturn, TypeVar

import typer
from alembic.util.exc import CommandError
from psycopg import OperationalError as PsycopgOperationalError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from agent.bootstrap import Services, build_services, resolve_database
from agent.settings import Settings, SettingsError
from db import migrate
from db.urls import DatabaseUrlError
from tools.errors import TravelError

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """One sentence on stderr and a non-zero exit: how every command reports an error."""
    typer.echo(f"travelhub: {message}", err=True)
    raise typer.Exit(code=1)


def _first_line(error: BaseException) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def guarded(action: Callable[[], T]) -> T:
    """Run `action`, turning the errors a user can cause or fix into one clear sentence."""
    try:
        return action()
    except (SettingsError, DatabaseUrlError, TravelError, LookupError) as error:
        fail(getattr(error, "message", None) or str(error).strip("'\""))
    except ValidationError as error:
        first = error.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, SettingsError):
            fail(str(cause))
        where = ".".join(str(part) for part in first["loc"]) or "value"
        fail(f"invalid {where}: {first['msg']}.")
    except (OperationalError, PsycopgOperationalError) as error:
        fail(f"cannot reach the database ({_first_line(error)}).")
    except CommandError as error:
        fail(f"migration failed: {error}.")
    except (ProgrammingError, DBAPIError) as error:
        fail(f"the database refused the command ({_first_line(error)}).")


def load_settings() -> Settings:
    return guarded(Settings)


def owner_url(settings: Settings) -> str:
    return guarded(lambda: resolve_database(settings).owner)


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """The process's services over an up-to-date schema, closed on the way out."""
    urls = resolve_database(settings)
    migrate.ensure_current(urls.owner)
    services = await build_services(settings, urls)
    try:
        yield services
    finally:
        await services.aclose()
