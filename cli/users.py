"""`travelhub users create` and `set-password`: accounts for password login."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from accounts.directory import Account, create_account
from accounts.password_change import set_password
from cli.support import fail, guarded, load_settings, open_services

users_app = typer.Typer(help="User and admin accounts.", no_args_is_help=True)


@users_app.command("create")
def create(
    email: Annotated[str, typer.Option("--email", help="Their email address (the login).")],
    password: Annotated[
        str, typer.Option("--password", help="At least 8 characters.", prompt=True, hide_input=True)
    ],
    tenant: Annotated[str | None, typer.Option("--tenant", help="Tenant slug.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Full name.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May see the tenant's threads.")] = False,
) -> None:
    """Create an account that logs in with a password."""
    settings = load_settings()

    async def go() -> Account:
        async with open_services(settings) as services:
            return await create_account(
                services.sessions,
                tenant_slug=tenant or settings.default_tenant_slug,
                email=email,
                password=password,
                name=name,
                admin=admin,
            )

    def run() -> Account:
        try:
            return asyncio.run(go())
        except ValueError as error:
            fail(str(error))

    made = guarded(run)
    typer.echo(
        f"Created {'admin' if made.is_admin else 'traveller'} {made.email} ({made.user_id})."
    )


@users_app.command("set-password")
def set_password_command(
    email: Annotated[str, typer.Option("--email", help="The account's email address.")],
    password: Annotated[
        str,
        typer.Option(
            "--password",
            help="At least 8 characters.",
            prompt="New password",
            hide_input=True,
            confirmation_prompt=True,
        ),
    ],
) -> None:
    """Give an account a new password; every session of it ends (sign in again everywhere)."""
    settings = load_settings()

    async def go() -> tuple[Account, int]:
        async with open_services(settings) as services:
            traveller, ended = await set_password(services.sessions, email, password)
            return traveller, len(ended)

    def run() -> tuple[Account, int]:
        try:
            return asyncio.run(go())
        except ValueError as error:
            fail(str(error))

    traveller, ended = guarded(run)
    typer.echo(f"New password set for {traveller.email}; {ended} session(s) ended.")
