"""`travelhub search flights|hotels`: the search engine from a terminal."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from cli.support import fail, guarded, load_settings, open_services, shown
from db.models.enums import Board, Cabin
from db.unit_of_work import resolve_tenant
from tools.errors import TravelError
from tools.money import format_money
from tools.offers import FlightOffer, HotelOffer
from tools.queries import FlightFilters, FlightQuery, HotelFilters, HotelQuery
from tools.search import FlightResults, HotelResults, Searcher

search_app = typer.Typer(help="Search flights and hotels.", no_args_is_help=True)


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{what} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-01-15.")


def _run(coroutine: Any) -> Any:
    try:
        return asyncio.run(coroutine)
    except TravelError as error:
        fail(error.message)


@search_app.command("flights")
def flights(
    origin: Annotated[str, typer.Argument(help="City or airport: London, LON, LHR.")],
    destination: Annotated[str, typer.Argument(help="City or airport.")],
    departure: Annotated[str, typer.Argument(help="Departure date, YYYY-MM-DD.")],
    return_date: Annotated[str | None, typer.Option("--return", help="Return date.")] = None,
    adults: Annotated[int, typer.Option(help="Travellers aged 12 or more.")] = 1,
    children: Annotated[int, typer.Option(help="Travellers aged 2 to 11.")] = 0,
    infants: Annotated[int, typer.Option(help="Under 2, on an adult's lap.")] = 0,
    cabin: Annotated[Cabin, typer.Option(help="Cabin class.")] = Cabin.ECONOMY,
    nonstop: Annotated[bool, typer.Option("--nonstop", help="Direct flights only.")] = False,
    max_price: Annotated[float | None, typer.Option(help="Highest total price.")] = None,
    sort: Annotated[Literal["price", "duration", "departure"], typer.Option()] = "price",
    flex: Annotated[int, typer.Option(help="Also +-N days (cheapest per day).")] = 0,
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "EUR",
    limit: Annotated[int, typer.Option(help="Offers shown in the table.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Flights between two places on a date."""
    settings = load_settings()
    leave = _date(departure, "The departure date")
    back = _date(return_date, "The return date") if return_date else None

    async def search() -> FlightResults:
        async with open_services(settings) as services:
            places = services.search.places
            query = FlightQuery(
                origin=places.resolve(origin).code,
                destination=places.resolve(destination).code,
                departure_date=leave,
                return_date=back,
                adults=adults,
                children=children,
                infants=infants,
                cabin=cabin,
                currency=currency,
            )
            filters = FlightFilters(
                nonstop=nonstop,
                max_price=Decimal(str(max_price)) if max_price is not None else None,
                sort=sort,
                flex_days=flex,
            )
            tenant = await resolve_tenant(services.sessions, settings.default_tenant_slug)
            return await services.search.search_flights(
                query, filters, searcher=Searcher(tenant_id=tenant)
            )

    results: FlightResults = guarded(lambda: _run(search()))
    if as_json:
        _print_json(results.tier, results.latency_ms, results.offers)
        return
    table = Table(title=shown(f"Flights {results.query.origin} -> {results.query.destination}"))
    for column in ("#", "Price", "Departs", "Arrives", "Route", "Stops", "Duration", "Airline"):
        table.add_column(column)
    for number, offer in enumerate(results.offers[:limit], start=1):
        table.add_row(*map(shown, _flight_row(number, offer)))
    _print_table(table, results.tier, results.latency_ms, len(results.offers))


@search_app.command("hotels")
def hotels(
    city: Annotated[str, typer.Argument(help="City name or code: Paris, PAR.")],
    check_in: Annotated[str, typer.Argument(help="Check-in date, YYYY-MM-DD.")],
    check_out: Annotated[str, typer.Argument(help="Check-out date, YYYY-MM-DD.")],
    guests: Annotated[int, typer.Option(help="People staying.")] = 1,
    rooms: Annotated[int, typer.Option(help="Rooms.")] = 1,
    stars: Annotated[int | None, typer.Option(help="At least this many stars.")] = None,
    max_price: Annotated[float | None, typer.Option(help="Highest price per night.")] = None,
    board: Annotated[Board | None, typer.Option(help="Meals included.")] = None,
    free_cancellation: Annotated[bool, typer.Option("--free-cancellation")] = False,
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "EUR",
    limit: Annotated[int, typer.Option(help="Offers shown in the table.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Hotels in a city for a stay."""
    settings = load_settings()
    arrive = _date(check_in, "The check-in date")
    leave = _date(check_out, "The check-out date")

    async def search() -> HotelResults:
        async with open_services(settings) as services:
            query = HotelQuery(
                city_code=services.search.places.resolve(city).code,
                check_in=arrive,
                check_out=leave,
                guests=guests,
                rooms=rooms,
                currency=currency,
            )
            filters = HotelFilters(
                min_stars=stars,
                max_price=Decimal(str(max_price)) if max_price is not None else None,
                board=board,
                free_cancellation_only=free_cancellation,
            )
            tenant = await resolve_tenant(services.sessions, settings.default_tenant_slug)
            return await services.search.search_hotels(
                query, filters, searcher=Searcher(tenant_id=tenant)
            )

    results: HotelResults = guarded(lambda: _run(search()))
    if as_json:
        _print_json(results.tier, results.latency_ms, results.offers)
        return
    table = Table(title=shown(f"Hotels in {city}, {results.query.nights} nights"))
    for column in (
        "#",
        "Hotel",
        "Stars",
        "Centre",
        "Room",
        "Board",
        "Night",
        "Total",
        "Free cancel",
    ):
        table.add_column(column)
    for number, offer in enumerate(results.offers[:limit], start=1):
        table.add_row(*map(shown, _hotel_row(number, offer)))
    _print_table(table, results.tier, results.latency_ms, len(results.offers))


def _flight_row(number: int, offer: FlightOffer) -> list[str]:
    going = offer.journeys[0]
    route = " / ".join(
        " ".join([j.origin, *(s.destination for s in j.segments)]) for j in offer.journeys
    )
    hours, minutes = divmod(offer.journeys[0].duration_minutes, 60)
    return [
        str(number),
        format_money(offer.total_price, offer.currency),
        going.departure.strftime("%a %d %b %H:%M"),
        going.arrival.strftime("%a %d %b %H:%M"),
        route,
        "direct" if offer.stops == 0 else str(offer.stops),
        f"{hours}h{minutes:02d}",
        offer.carriers,
    ]


def _hotel_row(number: int, offer: HotelOffer) -> list[str]:
    cancel = offer.free_cancellation_until
    return [
        str(number),
        offer.name,
        "*" * (offer.stars or 0),
        f"{offer.distance_km} km" if offer.distance_km is not None else "",
        offer.room_type,
        offer.board.value.replace("_", " "),
        format_money(offer.nightly_price, offer.currency),
        format_money(offer.total_price, offer.currency),
        cancel.strftime("until %d %b %H:%M") if cancel else "no",
    ]


def _print_json(tier: str, latency_ms: float, offers: list[FlightOffer] | list[HotelOffer]) -> None:
    document = {
        "tier": tier,
        "latency_ms": round(latency_ms, 3),
        "offers": [offer.model_dump(mode="json") for offer in offers],
    }
    typer.echo(json.dumps(document))


def _print_table(table: Table, tier: str, latency_ms: float, total: int) -> None:
    console = Console()
    if total == 0:
        console.print("No offers match; try other dates or fewer filters.")
    else:
        console.print(table)
    console.print(f"{total} offers, served from {tier} in {latency_ms:.1f} ms")
