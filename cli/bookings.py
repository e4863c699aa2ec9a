"""`travelhub bookings list|show|cancel`: a traveller's bookings from a terminal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agent.bootstrap import Services
from cli.support import fail, guarded, load_settings, open_services, shown
from db.models.enums import UserRole
from db.unit_of_work import UnitOfWork, resolve_tenant
from db.users import find_user_by_email
from tools.booking import Customer
from tools.errors import TravelError
from tools.itinerary import BookingSummary
from tools.money import format_money

bookings_app = typer.Typer(help="A traveller's bookings.", no_args_is_help=True)
T = TypeVar("T")

UserOption = Annotated[str, typer.Option("--user", help="The traveller's email address.")]
TenantOption = Annotated[str | None, typer.Option("--tenant", help="Tenant slug.")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document.")]


async def _customer(services: Services, tenant: str | None, email: str | None) -> Customer:
    """The traveller with `email`, or (no email) an operator acting for the tenant."""
    tenant_id = await resolve_tenant(
        services.sessions, tenant or services.settings.default_tenant_slug
    )
    if email is None:
        return Customer(tenant_id=tenant_id, user_id=None, is_admin=True)
    async with UnitOfWork(services.sessions, tenant_id=tenant_id) as uow:
        user = await find_user_by_email(uow.session, email)
    if user is None:
        raise LookupError(f"No traveller has the email address {email!r}.")
    return Customer(tenant_id=tenant_id, user_id=user.id, is_admin=user.role is UserRole.ADMIN)


def _run(
    tenant: str | None, email: str | None, action: Callable[[Services, Customer], Awaitable[T]]
) -> T:
    settings = load_settings()

    async def go() -> T:
        async with open_services(settings) as services:
            return await action(services, await _customer(services, tenant, email))

    def run() -> T:
        try:
            return asyncio.run(go())
        except TravelError as error:
            fail(error.message)

    return guarded(run)


@bookings_app.command("list")
def list_bookings(
    user: UserOption, tenant: TenantOption = None, as_json: JsonOption = False
) -> None:
    """The traveller's bookings, newest first."""
    found = _run(tenant, user, lambda services, who: services.itineraries.list(who))
    if as_json:
        typer.echo(json.dumps([summary.model_dump(mode="json") for summary in found]))
        return
    if not found:
        typer.echo(f"{user} has no bookings yet.")
        return
    table = Table(title=shown(f"Bookings of {user}"))
    for column in ("Reference", "Status", "Booked", "What", "Total"):
        table.add_column(column)
    for summary in found:
        table.add_row(
            shown(summary.reference),
            shown(summary.status_words),
            summary.created_at.strftime("%d %b %Y %H:%M") if summary.created_at else "",
            shown("\n".join(item.title for item in summary.items) or "-"),
            shown(format_money(summary.total_amount, summary.currency)),
        )
    Console().print(table)


@bookings_app.command("show")
def show_booking(
    reference: Annotated[str, typer.Argument(help="The six-character booking reference.")],
    user: Annotated[str | None, typer.Option("--user", help="As this traveller.")] = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """One booking as an itinerary (customer service: without --user, any of the tenant's)."""
    summary = _run(tenant, user, lambda services, who: services.itineraries.show(reference, who))
    if as_json:
        typer.echo(json.dumps(summary.model_dump(mode="json")))
        return
    _print_itinerary(summary)


@bookings_app.command("cancel")
def cancel_booking(
    reference: Annotated[str, typer.Argument(help="The six-character booking reference.")],
    user: UserOption,
    tenant: TenantOption = None,
) -> None:
    """Cancel a booking, with the refund its fares and rates allow."""
    done = _run(tenant, user, lambda services, who: services.cancellations.cancel(reference, who))
    typer.echo(done.message())


def _print_itinerary(summary: BookingSummary) -> None:
    console = Console()
    console.print(_bold(f"Booking {summary.reference}") + f" - {summary.status_words}")
    if summary.contact_name:
        console.print(shown(f"For {summary.contact_name} <{summary.contact_email}>"))
    for item in summary.items:
        console.print()
        console.print(_bold(item.title) + f"  {format_money(item.amount, item.currency)}")
        for line in item.lines:
            console.print(shown(f"  {line}"))
    console.print(f"\nTotal {format_money(summary.total_amount, summary.currency)}")
    if summary.refund_amount is not None:
        console.print(f"Refunded {format_money(summary.refund_amount, summary.currency)}")


def _bold(value: str) -> Text:
    heading = shown(value)
    heading.stylize("bold")
    return heading
