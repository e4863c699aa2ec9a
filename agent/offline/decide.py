"""The offline model's judgement: from the conversation, the next tool call or reply."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from agent.offline.memory import Memory
from agent.offline.understand import Message, understand
from tools.agent_tools import is_affirmative
from tools.places import Gazetteer

REFERENCE = re.compile(r"\b([A-HJ-NP-Z2-9]{6})\b")
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
GREETING = re.compile(r"^(hi|hello|hey|hiya|good (morning|afternoon|evening)|howdy|hola|bonjour)\b")
HELP = (
    "I can search flights and hotels, book them once you confirm, and show or cancel your"
    " bookings. Try for example:\n"
    "- *Flights from London to New York next Friday*\n"
    "- *A hotel in Paris for 3 nights from 15 Jan*\n"
    "- *Show my bookings* or *cancel ABC234*"
)
ASK_ORIGIN = "Where will you be flying from?"
ASK_DESTINATION = "Where would you like to fly to?"
ASK_DATE = "On which date would you like to leave?"
ASK_CITY = "In which city would you like a hotel?"
ASK_NIGHTS = "For how many nights?"
ASK_CHECK_IN = "From which date would you like the hotel?"
ASK_WHICH = "Which option would you like to book? Say for example “option 1” or “the cheapest”."


@dataclass(frozen=True)
class Call:
    tool: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Say:
    text: str


Decision = Call | Say


def with_answer(previous: str, question: str, answer: str) -> str:
    """The earlier request completed by the answer to the question it raised."""
    bare = answer.strip().rstrip(".")
    if question == ASK_ORIGIN:
        return f"{previous} from {bare}"
    if question == ASK_DESTINATION:
        return f"{previous} to {bare}"
    if question in (ASK_DATE, ASK_CHECK_IN):
        return f"{previous} on {bare}"
    if question == ASK_NIGHTS:
        return f"{previous} for {bare} nights" if bare.isdigit() else f"{previous} for {bare}"
    if question == ASK_CITY:
        return f"{previous} in {bare}"
    return f"{previous} {bare}"


def decide(text: str, memory: Memory, places: Gazetteer) -> Decision:
    lowered = " ".join(text.lower().split())
    if not lowered:
        return Say(HELP)
    if GREETING.match(lowered) and len(lowered.split()) <= 4:
        return Say("Hello! Where would you like to go?\n\n" + HELP)
    if re.search(r"\b(help|what can you do|how does this work)\b", lowered):
        return Say(HELP)
    if re.fullmatch(
        r"(thanks|thank you|thx|cheers|great|perfect)( very much| a lot)?[.!]*", lowered
    ):
        return Say("You're welcome! Anything else for your trip?")
    if memory.repriced:
        if is_affirmative(lowered):  # "book it at the new price?": yes, once more confirmed
            return Call("book", {"offer_ids": memory.repriced})
        if re.fullmatch(r"(no|nope|no thanks|no,? thank you|don'?t|leave it)[.!]*", lowered):
            return Say("All right: nothing is booked. Shall I look for something else?")
    if decision := _about_bookings(text, lowered, memory):
        return decision
    message = understand(text, memory.today, places)
    if message.place_error:
        return Say(message.place_error)
    if _is_selection(lowered) and not _names_new_trip(message):
        return _select(lowered, memory)
    if message.wants_hotel or (message.city and not message.wants_flight):
        return _hotel_search(message, memory)
    if _is_search(message, memory):
        return _flight_search(message, memory)
    return Say("I did not quite get that. " + HELP)


def _about_bookings(text: str, lowered: str, memory: Memory) -> Decision | None:
    code = booking_reference(text)
    if re.search(r"\bcancel\b", lowered):
        if code is None and len(set(memory.references)) == 1:
            code = memory.references[-1]
        if code is None:
            return Say(
                "Which booking should I cancel? Tell me its reference, for example ABC234"
                " (say “show my bookings” to see them)."
            )
        return Call("cancel_booking", {"reference": code})
    if code and re.search(r"\b(show|details?|itinerary|see|view|open|status|booking)\b", lowered):
        return Call("show_booking", {"reference": code})
    if re.search(r"\b(my|all)\s+(bookings|trips|reservations|orders)\b|\blist bookings\b", lowered):
        return Call("list_bookings", {})
    return None


def booking_reference(text: str) -> str | None:
    """A booking reference in the text: six characters of our alphabet, typed in capitals or
    with a digit in them (so "please" or "london" never pass for one)."""
    for match in re.finditer(r"\b[A-Za-z0-9]{6}\b", text):
        token = match.group(0)
        if REFERENCE.fullmatch(token.upper()) and (token.isupper() or re.search(r"\d", token)):
            return token.upper()
    return None


def _names_new_trip(message: Message) -> bool:
    return bool(message.origin or message.destination or message.city or message.dates)


def _is_selection(lowered: str) -> bool:
    return bool(
        re.search(r"\b(book|reserve|i'?ll take|take|go with|choose|select|want)\b", lowered)
        or re.search(r"\b(option|number|no\.?|#)\s*\d\b", lowered)
        or re.fullmatch(r"\d", lowered)
        or re.search(
            r"\bthe (first|second|third|fourth|fifth|last|cheapest|fastest|earliest)( one)?\b",
            lowered,
        )
        or re.search(r"\bthe \d{1,2}[:.]\d{2}\b", lowered)
    )


def _is_search(message: Message, memory: Memory) -> bool:
    if message.origin or message.destination or message.wants_flight:
        return True
    follow_up = (
        message.cabin or message.nonstop or message.sort or message.max_price or message.dates
        or message.adults or message.children or message.infants or message.stay
    )  # fmt: skip
    return bool(follow_up and memory.flight_search)


def _flight_search(message: Message, memory: Memory) -> Decision:
    fresh = bool(message.origin and message.destination)
    base: dict[str, Any] = {} if fresh else dict(memory.flight_search or {})
    origin = message.origin or base.get("origin")
    destination = message.destination or base.get("destination")
    if not destination:
        return Say(ASK_DESTINATION)
    if not origin:
        return Say(ASK_ORIGIN)
    dates = [found.day for found in message.dates]
    departure = dates[0] if dates else _date(base.get("departure_date"))
    if departure is None:
        return Say(ASK_DATE)
    if len(dates) > 1:
        returning: date | None = dates[1]
    elif message.stay:
        returning = departure + timedelta(days=message.stay)
    elif message.one_way:
        returning = None
    else:
        returning = _date(base.get("return_date"))
        if returning is not None and dates and returning < departure:
            returning = None
    adults = (
        message.adults
        or (base.get("adults") if not message.children else None)
        or (memory.travellers if not message.children else 1)
    )
    return Call(
        "search_flights",
        {
            "origin": origin,
            "destination": destination,
            "departure_date": departure.isoformat(),
            "return_date": returning.isoformat() if returning else None,
            "adults": adults,
            "children": message.children
            if message.children is not None
            else base.get("children", 0),
            "infants": message.infants if message.infants is not None else base.get("infants", 0),
            "cabin": message.cabin or base.get("cabin", memory.cabin),
            "nonstop": message.nonstop
            if message.nonstop is not None
            else base.get("nonstop", False),
            "max_price": message.max_price or base.get("max_price"),
            "sort": message.sort or base.get("sort", "price"),
            "flex_days": 0,
        },
    )


def _hotel_search(message: Message, memory: Memory) -> Decision:
    flight = memory.flight_search or {}
    base = dict(memory.hotel_search or {})
    city = message.city or (message.destination if not message.wants_flight else None)
    if city is None and (message.hotel_there or not base):
        city = flight.get("destination")
    city = city or base.get("city")
    if not city:
        return Say(ASK_CITY)
    dates = [found.day for found in message.dates]
    check_in = dates[0] if dates else None
    check_out = dates[1] if len(dates) > 1 else None
    if check_in is None and (message.hotel_there or not base):
        check_in = _date(flight.get("departure_date"))
        check_out = check_out or _date(flight.get("return_date"))
    if check_in is None:
        check_in = _date(base.get("check_in"))
    if check_in is None:
        return Say(ASK_CHECK_IN)
    if check_out is None and message.stay:
        check_out = check_in + timedelta(days=message.stay)
    if check_out is None and base.get("check_in") and base.get("check_out"):
        nights = (_date(base["check_out"]) or check_in) - (_date(base["check_in"]) or check_in)
        check_out = check_in + nights
    if check_out is None:
        return Say(ASK_NIGHTS)
    guests = (
        message.adults
        or base.get("guests")
        or (min(9, int(flight.get("adults", 1)) + int(flight.get("children", 0))) if flight else 1)
    )
    return Call(
        "search_hotels",
        {
            "city": city,
            "check_in": check_in.isoformat(),
            "check_out": check_out.isoformat(),
            "guests": guests,
            "rooms": 1,
            "min_stars": message.stars or base.get("min_stars"),
            "max_price_per_night": message.max_price or base.get("max_price_per_night"),
            "board": message.board or base.get("board"),
            "free_cancellation_only": "free cancellation" in message.text
            or "refundable" in message.text
            or bool(base.get("free_cancellation_only")),
            "sort": "stars"
            if "best" in message.text
            else (message.sort if message.sort == "price" else base.get("sort", "price")),
        },
    )


def _date(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _select(lowered: str, memory: Memory) -> Decision:
    if not (memory.flights or memory.hotels):
        return Say("Let's find something to book first: where and when would you like to go?")
    if re.search(r"\b(both|trip|flight and (the )?hotel|hotel and (the )?flight)\b", lowered):
        if memory.flights and memory.hotels:
            return Call(
                "book",
                {"offer_ids": [_cheapest(memory.flights)["id"], _cheapest(memory.hotels)["id"]]},
            )
    if "hotel" in lowered and memory.hotels:
        pool = memory.hotels
    elif re.search(r"\b(flight|plane)\b", lowered) and memory.flights:
        pool = memory.flights
    else:
        pool = memory.hotels if memory.last_kind == "hotels" else memory.flights
    chosen = _choose(lowered, pool)
    if chosen is None:
        return Say(ASK_WHICH)
    return Call("book", {"offer_ids": [chosen["id"]]})


def _choose(lowered: str, pool: list[dict[str, Any]]) -> dict[str, Any] | None:
    shown = pool[:5]
    if match := re.search(r"\b(?:option|number|no\.?|#)\s*(\d)\b", lowered) or re.fullmatch(
        r"(?:book )?(\d)", lowered
    ):
        index = int(match.group(1)) - 1
        return shown[index] if 0 <= index < len(shown) else None
    for word, place in ORDINALS.items():
        if re.search(rf"\bthe {word}\b", lowered):
            return shown[place - 1] if place > 0 else shown[-1]
    if "cheapest" in lowered:
        return _cheapest(pool)
    if re.search(r"\b(fastest|shortest|quickest)\b", lowered) and "journeys" in pool[0]:
        return min(pool, key=lambda o: sum(j["duration_minutes"] for j in o["journeys"]))
    if "earliest" in lowered and "journeys" in pool[0]:
        return min(pool, key=lambda o: o["journeys"][0]["segments"][0]["departure"])
    if match := re.search(r"\b(\d{1,2})[:.](\d{2})\b", lowered):
        wanted = f"{int(match.group(1)):02d}:{match.group(2)}"
        for offer in pool:
            if (
                "journeys" in offer
                and offer["journeys"][0]["segments"][0]["departure"][11:16] == wanted
            ):
                return offer
        return None
    if len(shown) == 1:
        return shown[0]
    return None


def _cheapest(pool: list[dict[str, Any]]) -> dict[str, Any]:
    return min(pool, key=lambda offer: Decimal(str(offer["total_price"])))
