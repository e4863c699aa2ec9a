"""What every `travelhub` command shares: settings, services, and errors as one sentence."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import NoReturn, TypeVar

import typer
from alembic.util.exc import CommandError
from psycopg import OperationalError as PsycopgOperationalError
from pydantic import ValidationError
from rich.text import Text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from agent.bootstrap import Services, build_services, resolve_database
from agent.conversation.checkpointer import CheckpointSchemaMismatch
from agent.settings import Settings, SettingsError
from db import migrate
from db.urls import DatabaseUrlError
from tools.errors import TravelError

T = TypeVar("T")
# Control characters other than newline and tab: a terminal would obey them (ESC sequences
# rewrite the screen, the title, even the clipboard), so stored text shows them escaped.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


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
    except (
        SettingsError,
        DatabaseUrlError,
        TravelError,
        LookupError,
        CheckpointSchemaMismatch,
    ) as error:
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
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 on the command line arrive as lone surrogates.
        fail("an argument is not valid text (UTF-8); check what was typed or pasted.")


def shown(value: object) -> Text:
    """Text from the database or a provider as a terminal may show it: never read as Rich
    markup (a "[/b]" in a message would stop the command) nor as terminal control codes."""
    return Text(_CONTROL.sub(lambda found: repr(found.group())[1:-1], str(value)))


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


@contextmanager
def finishing_first_on_sigterm() -> Iterator[None]:
    """In a running event loop: a first SIGTERM lets the turn in flight finish, recorded and
    its reply printed, rather than die between, say, a booking made and the reply telling of
    it; the turn's deadline bounds the wait. A second SIGTERM stops the process at once."""
    loop = asyncio.get_running_loop()

    def finish_first() -> None:
        typer.echo("travelhub: stopping once this turn is finished.", err=True)
        loop.remove_signal_handler(signal.SIGTERM)  # back to the default: the next one kills

    loop.add_signal_handler(signal.SIGTERM, finish_first)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
