"""`travelhub chat`: one turn through the real agent, from a terminal."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated

import typer
from pydantic import EmailStr, TypeAdapter, ValidationError

from accounts.directory import account_by_email
from agent.conversation.chat_sessions import NotYourConversation
from agent.conversation.offer_lines import OfferLines
from agent.conversation.turns import TurnResult
from cli.support import (
    fail,
    finishing_first_on_sigterm,
    guarded,
    load_settings,
    open_services,
)
from db.text import storable
from tools.errors import TravelError

EMAIL = TypeAdapter(EmailStr)
"""The rule bookings' contact details follow: checked before an account is made for it."""


def chat(
    message: Annotated[str, typer.Argument(help="What the traveller says.")],
    user: Annotated[str, typer.Option("--user", help="The traveller's email (created if new).")],
    thread: Annotated[
        str | None, typer.Option("--thread", help="Continue this conversation.")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Tenant slug.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """One turn of a conversation; the next `chat --thread` answers a confirmation question."""
    settings = load_settings()
    try:
        EMAIL.validate_python(user)
    except ValidationError:
        fail(f"{user!r} is not an email address.")
    if thread is not None:
        try:
            thread = str(uuid.UUID(thread))
        except ValueError:
            fail(f"{thread!r} is not a conversation id (a UUID).")

    shown = OfferLines()

    async def turn() -> TurnResult:
        with finishing_first_on_sigterm():
            async with open_services(settings) as services:
                traveller = await account_by_email(
                    services.sessions, tenant or settings.default_tenant_slug, user, create=True
                )
                # Undecodable bytes on the command line arrive as lone surrogates.
                said = storable(message)
                return await services.conversations.turn(
                    traveller, said, thread_id=thread, listener=shown
                )

    def run() -> TurnResult:
        try:
            return asyncio.run(turn())
        except (TravelError, NotYourConversation) as error:
            fail(getattr(error, "message", None) or str(error))

    result = guarded(run)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "thread_id": result.thread_id,
                    "reply": result.reply,
                    "awaiting_confirmation": result.awaiting_confirmation,
                }
            )
        )
        return
    typer.echo(result.reply)
    if shown.lines:  # the chat shows these as cards; a terminal lists them
        typer.echo(shown.lines)
    typer.echo(f"\n(thread {result.thread_id})", err=True)
