"""The tools the travel agent binds. Docstrings are written for the model; the traveller
and the services come from the runtime context, never from the model's arguments."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime
from langgraph.types import interrupt
from pydantic import ValidationError

from db.models.enums import Board, Cabin
from tools.booking import BookingRequest
from tools.desk import ToolRecord, TravelContext
from tools.errors import InvalidSearch, PriceChanged, TravelError
from tools.offers import FlightOffer, HotelOffer, Offer
from tools.queries import FlightFilters, FlightQuery, HotelFilters, HotelQuery
from tools.rendering import (
    booking_question,
    bookings_table,
    cancellation_question,
    flight_list,
    hotel_list,
    itinerary,
)
from tools.search import Searcher

Runtime = ToolRuntime[TravelContext, dict[str, Any]]
KEPT = 10
"""Offers remembered per search (the model sees the first five)."""
AFFIRMATIVE = {
    "yes", "y", "yeah", "yep", "sure", "ok", "okay", "confirm", "confirmed", "go ahead",
    "book it", "do it", "please do", "yes please", "absolutely", "of course", "cancel it",
}  # fmt: skip


def is_affirmative(answer: object) -> bool:
    """Whether the traveller's answer to a confirmation is a yes (anything else is a no)."""
    text = str(answer).strip().lower().rstrip(".!")
    return text in AFFIRMATIVE or text.startswith(("yes ", "yes,"))


def _iso(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidSearch(f"The {what} {value!r} is not a date I understand.") from None


def signature(name: str, arguments: dict[str, Any]) -> str:
    """How a search is recognised when a fork replays the original thread's answers."""
    return f"{name}:{json.dumps(arguments, sort_keys=True, default=str)}"


def _replayed(runtime: Runtime, name: str, arguments: dict[str, Any]) -> tuple[str, Any] | None:
    record = runtime.context.recorded.get(signature(name, arguments))
    return None if record is None else (record.content, record.artifact)


def _searcher(runtime: Runtime) -> Searcher:
    customer = runtime.context.customer
    return Searcher(customer.tenant_id, customer.user_id, customer.session_id)


def _sentence(error: Exception) -> str:
    if isinstance(error, TravelError):
        return error.message
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"I could not use {'.'.join(map(str, first['loc'])) or 'that'}: {first['msg']}."
    raise error


@tool(response_format="content_and_artifact")
async def search_flights(
    origin: str,
    destination: str,
    departure_date: str,
    runtime: Runtime,
    return_date: str | None = None,
    adults: int = 1,
    children: int = 0,
    infants: int = 0,
    cabin: Literal["economy", "premium_economy", "business", "first"] = "economy",
    nonstop: bool = False,
    max_price: float | None = None,
    sort: Literal["price", "duration", "departure"] = "price",
    flex_days: int = 0,
) -> tuple[str, Any]:
    """Search flights. Places are city or airport names or IATA codes ("London", "LHR").
    Dates are ISO (YYYY-MM-DD). Children are 2-11, infants under 2. flex_days also searches
    that many days either side and keeps the cheapest flight of each day."""
    arguments = {
        "origin": origin, "destination": destination, "departure_date": departure_date,
        "return_date": return_date, "adults": adults, "children": children, "infants": infants,
        "cabin": cabin, "nonstop": nonstop, "max_price": max_price, "sort": sort,
        "flex_days": flex_days,
    }  # fmt: skip
    replayed = _replayed(runtime, "search_flights", arguments)
    if replayed is not None:
        return replayed
    desk = runtime.context.desk
    try:
        places = desk.search.places
        query = FlightQuery(
            origin=places.resolve(origin).code,
            destination=places.resolve(destination).code,
            departure_date=_iso(departure_date, "departure date"),
            return_date=_iso(return_date, "return date") if return_date else None,
            adults=adults,
            children=children,
            infants=infants,
            cabin=Cabin(cabin),
            currency=runtime.context.currency,
        )
        filters = FlightFilters(
            nonstop=nonstop,
            max_price=Decimal(str(max_price)) if max_price else None,
            sort=sort,
            flex_days=flex_days,
        )
        results = await desk.search.search_flights(query, filters, searcher=_searcher(runtime))
    except (TravelError, ValidationError) as error:
        return _sentence(error), {"kind": "error"}
    offers = results.offers[:KEPT]
    artifact = {
        "kind": "flights",
        "arguments": arguments,
        "query": query.model_dump(mode="json"),
        "offers": [offer.model_dump(mode="json") for offer in offers],
    }
    if not offers:
        return "No flights match that search; try other dates or fewer filters.", artifact
    origin_label, destination_label = (
        places.resolve(origin).label,
        places.resolve(destination).label,
    )
    title = (
        f"{len(results.offers)} flights {origin_label} to {destination_label},"
        f" {query.departure_date:%a %d %b}"
        + (f", back {query.return_date:%a %d %b}" if query.return_date else "")
        + f", {query.passengers} traveller(s), {query.cabin.value.replace('_', ' ')}."
    )
    return f"{title}\n\n{flight_list(offers)}", artifact


@tool(response_format="content_and_artifact")
async def search_hotels(
    city: str,
    check_in: str,
    check_out: str,
    runtime: Runtime,
    guests: int = 1,
    rooms: int = 1,
    min_stars: int | None = None,
    max_price_per_night: float | None = None,
    board: Literal["room_only", "breakfast", "half_board", "full_board", "all_inclusive"]
    | None = None,
    free_cancellation_only: bool = False,
    sort: Literal["price", "distance", "stars"] = "price",
) -> tuple[str, Any]:
    """Search hotels in a city (name or IATA city code) between two ISO dates."""
    arguments = {
        "city": city, "check_in": check_in, "check_out": check_out, "guests": guests,
        "rooms": rooms, "min_stars": min_stars, "max_price_per_night": max_price_per_night,
        "board": board, "free_cancellation_only": free_cancellation_only, "sort": sort,
    }  # fmt: skip
    replayed = _replayed(runtime, "search_hotels", arguments)
    if replayed is not None:
        return replayed
    desk = runtime.context.desk
    try:
        place = desk.search.places.resolve(city)
        query = HotelQuery(
            city_code=place.code,
            check_in=_iso(check_in, "check-in date"),
            check_out=_iso(check_out, "check-out date"),
            guests=guests,
            rooms=rooms,
            currency=runtime.context.currency,
        )
        filters = HotelFilters(
            min_stars=min_stars,
            max_price=Decimal(str(max_price_per_night)) if max_price_per_night else None,
            board=Board(board) if board else None,
            free_cancellation_only=free_cancellation_only,
            sort=sort,
        )
        results = await desk.search.search_hotels(query, filters, searcher=_searcher(runtime))
    except (TravelError, ValidationError) as error:
        return _sentence(error), {"kind": "error"}
    offers = results.offers[:KEPT]
    artifact = {
        "kind": "hotels",
        "arguments": arguments,
        "query": query.model_dump(mode="json"),
        "offers": [offer.model_dump(mode="json") for offer in offers],
    }
    if not offers:
        return "No hotels match that search; try other dates or fewer filters.", artifact
    title = (
        f"{len(results.offers)} hotels in {place.name}, {query.check_in:%a %d %b} to"
        f" {query.check_out:%a %d %b} ({query.nights} nights), {query.guests} guest(s)."
    )
    return f"{title}\n\n{hotel_list(offers)}", artifact


def answered_searches(messages: list[Any]) -> list[tuple[str, dict[str, Any], ToolRecord]]:
    """The searches answered in a conversation, in order: tool, arguments, answer."""
    answered = []
    for message in messages:
        artifact = getattr(message, "artifact", None)
        if isinstance(message, ToolMessage) and isinstance(artifact, dict):
            if artifact.get("kind") in ("flights", "hotels") and message.name:
                arguments = artifact.get("arguments", {})
                answered.append(
                    (message.name, arguments, ToolRecord(str(message.content), artifact))
                )
    return answered


def recorded_answers(messages: list[Any]) -> dict[str, ToolRecord]:
    """The searches answered in a conversation, by signature, for a fork to replay."""
    return {
        signature(name, arguments): record
        for name, arguments, record in answered_searches(messages)
    }


def remembered_offers(messages: list[Any]) -> dict[str, Offer]:
    """Every offer shown in this conversation, by id (later searches and new prices win)."""
    found: dict[str, Offer] = {}
    for message in messages:
        artifact = getattr(message, "artifact", None)
        if not isinstance(message, ToolMessage) or not isinstance(artifact, dict):
            continue
        if artifact.get("kind") not in ("flights", "hotels", "repriced"):
            continue
        for raw in artifact.get("offers", []):
            offer: Offer = (
                HotelOffer.model_validate(raw)
                if raw.get("kind") == "hotel"
                else FlightOffer.model_validate(raw)
            )
            found[offer.id] = offer
    return found


@tool(response_format="content_and_artifact")
async def book(offer_ids: list[str], runtime: Runtime) -> tuple[str, Any]:
    """Book one or more offers shown in this conversation (a flight, a hotel, or both for
    a trip), by their ids. The traveller is asked to confirm before anything is booked."""
    known = remembered_offers(runtime.state["messages"])
    offers = [known[offer_id] for offer_id in offer_ids if offer_id in known]
    if not offers or len(offers) != len(offer_ids):
        return "I can only book offers from a search in this conversation.", {"kind": "error"}
    context = runtime.context
    answer = interrupt(
        {
            "action": "book",
            "question": booking_question(offers, context.contact.name),
            "offer_ids": offer_ids,
        }
    )
    # One confirmation, one booking: a retried or double-clicked turn re-uses it.
    key = f"{context.thread_id}:{runtime.tool_call_id}"
    if not is_affirmative(answer) and not await context.desk.bookings.claimed(
        key, customer=context.customer
    ):
        # (A claimed key: this confirmation was given before, in a turn cut short; whatever
        # the traveller says now, they are owed its outcome.)
        return "The traveller declined; nothing was booked.", {"kind": "declined"}
    if context.sandbox:
        return "Sandbox replay: the booking was simulated; no order was placed.", {
            "kind": "sandbox"
        }
    try:
        booking = await context.desk.bookings.book(
            BookingRequest(offers=tuple(offers), contact=context.contact, idempotency_key=key),
            customer=context.customer,
        )
        summary = await context.desk.itineraries.show(booking.booking_reference, context.customer)
    except PriceChanged as moved:
        # The offer at its new price replaces the one shown: a "yes" books it at that price.
        current = [moved.current.model_dump(mode="json")] if moved.current else []
        return moved.message, {"kind": "repriced", "offers": current, "offer_ids": offer_ids}
    except TravelError as error:
        return error.message, {"kind": "error"}
    return (
        f"Booked! Your reference is **{booking.booking_reference}**.\n\n{itinerary(summary)}",
        {
            "kind": "booking",
            "reference": booking.booking_reference,
            "itinerary": summary.model_dump(mode="json"),
        },
    )


@tool(response_format="content_and_artifact")
async def cancel_booking(reference: str, runtime: Runtime) -> tuple[str, Any]:
    """Cancel one of the traveller's bookings by its six-character reference. The traveller
    is asked to confirm first; the refund follows each fare's and rate's conditions."""
    context = runtime.context
    try:
        summary = await context.desk.itineraries.show(reference, context.customer)
    except TravelError as error:
        return error.message, {"kind": "error"}
    if summary.status.value == "confirmed":
        answer = interrupt(
            {
                "action": "cancel",
                "question": cancellation_question(summary),
                "reference": summary.reference,
            }
        )
        if not is_affirmative(answer):
            return f"Kept booking {summary.reference}; nothing was cancelled.", {"kind": "declined"}
        if context.sandbox:
            return "Sandbox replay: the cancellation was simulated.", {"kind": "sandbox"}
    try:
        result = await context.desk.cancellations.cancel(summary.reference, context.customer)
    except TravelError as error:
        return error.message, {"kind": "error"}
    return result.message(), {"kind": "cancellation", "reference": summary.reference}


@tool(response_format="content_and_artifact")
async def list_bookings(runtime: Runtime) -> tuple[str, Any]:
    """The traveller's bookings, newest first."""
    context = runtime.context
    summaries = await context.desk.itineraries.list(context.customer)
    return bookings_table(summaries), {
        "kind": "bookings",
        "references": [s.reference for s in summaries],
    }


@tool(response_format="content_and_artifact")
async def show_booking(reference: str, runtime: Runtime) -> tuple[str, Any]:
    """One of the traveller's bookings as an itinerary, by its six-character reference."""
    context = runtime.context
    try:
        summary = await context.desk.itineraries.show(reference, context.customer)
    except TravelError as error:
        return error.message, {"kind": "error"}
    return itinerary(summary), {
        "kind": "booking",
        "reference": summary.reference,
        "itinerary": summary.model_dump(mode="json"),
    }


TOOLS: list[BaseTool] = [
    search_flights,
    search_hotels,
    book,
    cancel_booking,
    list_bookings,
    show_booking,
]
