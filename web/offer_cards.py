"""What each card of the chat shows (public/elements/*.jsx draws it): a flight or hotel offer
with its Book button, and a booked itinerary with its calendar file. Labels are made here,
so the cards only lay them out and every text reaches the browser as text, never markup."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from tools.itinerary import BookingSummary
from tools.money import format_money
from tools.offers import FareConditions, FlightOffer, HotelOffer, Journey

SHOWN_OFFERS = 5
OFFER_CARDS = {"FlightOffer", "HotelOffer"}
"""The element names (public/elements/<name>.jsx) of the cards with a Book button."""
CardState = Literal["open", "chosen", "closed"]
"""open: its Book button works; chosen: the offer the traveller picked; closed: another was."""


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours}h {rest:02d}m"


def _stops(journey: Journey) -> str:
    if journey.stops == 0:
        return "Direct"
    via = ", ".join(segment.destination for segment in journey.segments[:-1])
    return f"{journey.stops} stop{'s' if journey.stops > 1 else ''} via {via}"


def _end(code: str, moment: datetime) -> dict[str, str]:
    return {"code": code, "time": f"{moment:%H:%M}", "date": f"{moment:%a %d %b}"}


def _journey(journey: Journey, direction: str) -> dict[str, Any]:
    departs, arrives = journey.departure, journey.arrival
    return {
        "direction": direction,
        "departs": _end(journey.origin, departs),
        "arrives": _end(journey.destination, arrives),
        # Local times at each end: the landing can be a day (or more) after the take-off.
        "days_later": (arrives.date() - departs.date()).days,
        "stops": _stops(journey),
        "duration": _duration(journey.duration_minutes),
        "flights": " ".join(segment.flight_number for segment in journey.segments),
    }


def _fare_terms(conditions: FareConditions, currency: str) -> list[str]:
    refund = (
        (
            f"Refundable (fee {format_money(conditions.cancellation_fee, currency)})"
            if conditions.cancellation_fee
            else "Refundable"
        )
        if conditions.refundable
        else "Non-refundable"
    )
    if conditions.change_fee is None:
        change = "No changes"
    elif conditions.change_fee == 0:
        change = "Free changes"
    else:
        change = f"Changes for {format_money(conditions.change_fee, currency)}"
    return [refund, change]


def _booking(kind: str, number: int, answer_id: str) -> dict[str, Any]:
    return {
        "number": number,
        "answer": answer_id,
        "say": f"book {kind} option {number}",
        "label": f"Book {kind} #{number}",
        "state": "open",
    }


def flight_card(offer: FlightOffer, number: int, answer_id: str) -> dict[str, Any]:
    """The props of a flight offer's card; its Book button says "book flight option N"."""
    directions = ["Outbound", "Return"] if len(offer.journeys) == 2 else ["Flight"] * 9
    return {
        **_booking("flight", number, answer_id),
        "journeys": [_journey(j, d) for j, d in zip(offer.journeys, directions, strict=False)],
        "carriers": offer.carriers,
        "cabin": offer.cabin.value.replace("_", " "),
        "passengers": offer.passengers,
        "price": format_money(offer.total_price, offer.currency),
        "terms": _fare_terms(offer.conditions, offer.currency),
        "refundable": offer.conditions.refundable,
        "seats_left": offer.seats_left,
    }


def hotel_card(offer: HotelOffer, number: int, answer_id: str) -> dict[str, Any]:
    """The props of a hotel offer's card; its Book button says "book hotel option N"."""
    cancel = offer.free_cancellation_until
    return {
        **_booking("hotel", number, answer_id),
        "name": offer.name,
        "stars": offer.stars or 0,
        "address": ", ".join(part for part in (offer.address, offer.city) if part),
        "distance": f"{offer.distance_km:g} km from the centre" if offer.distance_km else None,
        "dates": f"{offer.check_in:%a %d %b} → {offer.check_out:%a %d %b}",
        "nights": offer.nights,
        "room": offer.room_type,
        "board": offer.board.value.replace("_", " ").capitalize(),
        "guests": offer.guests,
        "rooms": offer.rooms,
        "free_cancellation": f"Free cancellation until {cancel:%a %d %b %H:%M}" if cancel else None,
        "nightly": format_money(offer.nightly_price, offer.currency),
        "price": format_money(offer.total_price, offer.currency),
    }


def offer_cards(results: dict[str, Any], answer_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(element name, props) of each offer shown of a search's results, in their order."""
    cards: list[tuple[str, dict[str, Any]]] = []
    for number, raw in enumerate(results["offers"][:SHOWN_OFFERS], start=1):
        if raw.get("kind") == "hotel":
            hotel = HotelOffer.model_validate(raw)
            cards.append(("HotelOffer", hotel_card(hotel, number, answer_id)))
        else:
            flight = FlightOffer.model_validate(raw)
            cards.append(("FlightOffer", flight_card(flight, number, answer_id)))
    return cards


def chosen(props: dict[str, Any], number: int) -> dict[str, Any]:
    """A card's props once offer `number` of its answer has been picked."""
    state: CardState = "chosen" if props.get("number") == number else "closed"
    return {**props, "state": state}


def itinerary_card(summary: BookingSummary, calendar_url: str) -> dict[str, Any]:
    """The props of a booking's itinerary card, with the link to its calendar file."""
    return {
        "reference": summary.reference,
        "status": summary.status_words,
        "items": [
            {
                "kind": item.kind,
                "title": item.title,
                "lines": item.lines,
                "price": format_money(item.amount, item.currency),
            }
            for item in summary.items
        ],
        "total": format_money(summary.total_amount, summary.currency),
        "calendar_url": calendar_url,
        "calendar_name": f"trip-{summary.reference}.ics",
    }
