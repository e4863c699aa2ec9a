"""`travelhub users create`: accounts for password login."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from accounts.directory import Account, create_account
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
