"""Reading one traveller message: places, dates, party, cabin, wishes and intent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from agent.offline.dates import Found, find_dates, number, stay_length
from tools.errors import InvalidSearch
from tools.places import Gazetteer

# Words that end a place name: what follows "to Lisbon" is rarely part of it.
BOUNDARY = {
    "on", "next", "this", "tomorrow", "today", "in", "for", "with", "at", "departing", "leaving",
    "returning", "return", "back", "and", "business", "economy", "first", "premium", "class",
    "direct", "nonstop", "non-stop", "cheapest", "cheap", "under", "below", "less", "max",
    "please", "from", "to", "flight", "flights", "hotel", "hotels", "by", "round",
    "trip", "one-way", "oneway", "the", "a", "an", "adult", "adults", "child", "children",
    "kids", "kid", "infant", "infants", "baby", "people", "persons", "travellers", "night",
    "nights", "week", "days", "only", "sorted", "sort", "fastest", "earliest", "me", "us",
    "around", "about", "i", "we", "want", "need", "would", "like", "can", "you", "find",
    "show", "search", "book", "fly", "flying", "go", "going", "get", "stay", "staying",
    "there", "what", "how", "is", "are", "of", "until", "till", "then", "via", "any",
    "tonight", "weekend", "instead", "option",
}  # fmt: skip
CABINS = [
    ("premium economy", "premium_economy"), ("premium", "premium_economy"),
    ("business", "business"), ("first class", "first"), ("first", "first"),
    ("economy", "economy"), ("coach", "economy"),
]  # fmt: skip
_COUNT = r"(\d{1,2}|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
_DATE_MARK = "\u2063"


@dataclass
class Message:
    """What one message asks for; None means "not said"."""

    text: str
    dates: list[Found] = field(default_factory=list)
    origin: str | None = None
    destination: str | None = None
    city: str | None = None
    place_error: str | None = None
    adults: int | None = None
    children: int | None = None
    infants: int | None = None
    cabin: str | None = None
    nonstop: bool | None = None
    sort: str | None = None
    max_price: float | None = None
    stay: int | None = None
    stars: int | None = None
    board: str | None = None
    wants_flight: bool = False
    wants_hotel: bool = False
    hotel_there: bool = False
    one_way: bool = False


def clean(text: str) -> str:
    lowered = text.lower().replace("\u2019", "'")
    lowered = re.sub(r"[?!,;]|(?<!\d)\.(?!\d)", " ", lowered)
    return " ".join(lowered.split())


def understand(raw: str, today: date, places: Gazetteer) -> Message:
    text = clean(raw)
    found = Message(text=text, dates=find_dates(text, today))
    # Dates are masked before places are looked for: "from 15 jan to 18 jan" has no places.
    masked = text
    for spot in reversed(found.dates):
        masked = masked[: spot.start] + _DATE_MARK + masked[spot.end :]
    found.wants_flight = bool(re.search(r"\b(fly|flying|flights?|plane|airfare|fares?)\b", text))
    found.wants_hotel = bool(
        re.search(r"\b(hotels?|stay|staying|accommodation|room|rooms)\b", text)
    )
    found.hotel_there = bool(re.search(r"\b(there|same city|at (my|the) destination)\b", text))
    found.one_way = bool(re.search(r"\bone[- ]?way\b", text))
    _party(found, text)
    _wishes(found, text)
    _places(found, masked, places)
    return found


def _party(found: Message, text: str) -> None:
    if m := re.search(rf"\b{_COUNT}\s+adults?\b", text):
        found.adults = number(m.group(1))
    if m := re.search(rf"\b{_COUNT}\s+(children|child|kids?)\b", text):
        found.children = number(m.group(1))
    if m := re.search(rf"\b{_COUNT}\s+(infants?|bab(y|ies))\b", text):
        found.infants = number(m.group(1))
    if m := re.search(
        rf"\b(?:for|with)\s+{_COUNT}\s+"
        r"(people|persons|travellers|travelers|passengers|guests|of us)\b",
        text,
    ):
        found.adults = number(m.group(1))
    elif re.search(
        r"\b(the two of us|two of us|me and my \w+|my (wife|husband|partner) and i|couple)\b", text
    ):
        found.adults = 2
    elif m := re.search(rf"\b{_COUNT}\s+(guests|people)\b", text):
        found.adults = number(m.group(1))


def _wishes(found: Message, text: str) -> None:
    for words, cabin in CABINS:
        if re.search(rf"\b{words}\b", text) and not re.search(rf"\b{words}\s+(of|time)\b", text):
            if cabin == "first" and not re.search(
                r"\bfirst class\b|\bin first\b|\bfly first\b|\bfirst instead\b|\babout first\b",
                text,
            ):
                continue
            found.cabin = cabin
            break
    if re.search(r"\b(direct|non-?stop)\b", text):
        found.nonstop = True
    if re.search(r"\b(fastest|shortest|quickest)\b", text) or "by duration" in text:
        found.sort = "duration"
    elif (
        re.search(r"\b(earliest|first flight)\b", text)
        or "by departure" in text
        or "by time" in text
    ):
        found.sort = "departure"
    elif re.search(r"\bcheapest\b", text) or "by price" in text:
        found.sort = "price"
    if m := re.search(
        r"\b(?:under|below|less than|max(?:imum)?|up to|at most)\s*(?:€|\$|£)?\s*(\d{2,6})", text
    ):
        found.max_price = float(m.group(1))
    found.stay = stay_length(text)
    if m := re.search(r"\b(\d)\s*(?:-|\s)?\s*stars?\b|\b(\d)\s*\*", text):
        found.stars = int(m.group(1) or m.group(2))
    for words, board in (
        ("all inclusive", "all_inclusive"), ("all-inclusive", "all_inclusive"),
        ("half board", "half_board"), ("full board", "full_board"),
        ("breakfast", "breakfast"), ("room only", "room_only"),
    ):  # fmt: skip
        if words in text:
            found.board = board
            break


def _span_after(words: list[str], start: int) -> list[str]:
    span: list[str] = []
    for word in words[start:]:
        if word in BOUNDARY or _DATE_MARK in word or word.isdigit():
            break
        span.append(word)
    return span[:4]


def _span_before(words: list[str], end: int) -> list[str]:
    span: list[str] = []
    for word in reversed(words[:end]):
        if word in BOUNDARY or _DATE_MARK in word or word.isdigit():
            break
        span.insert(0, word)
    return span[-4:]


def _resolve(
    span: list[str], places: Gazetteer, *, from_end: bool
) -> tuple[str | None, str | None]:
    """The longest run of `span` that names a place; else the error for the whole span."""
    if not span:
        return None, None
    for size in range(len(span), 0, -1):
        words = span[-size:] if from_end else span[:size]
        try:
            return places.resolve(" ".join(words)).code, None
        except InvalidSearch:
            continue
    try:
        places.resolve(" ".join(span))
    except InvalidSearch as error:
        return None, error.message
    return None, None


def _places(found: Message, masked: str, places: Gazetteer) -> None:
    words = masked.split()
    errors: list[str] = []

    def take(span: list[str], *, from_end: bool) -> str | None:
        code, error = _resolve(span, places, from_end=from_end)
        if error:
            errors.append(error)
        return code

    # The "to" that a place follows ("I want to fly to Lisbon" has two).
    targets = [i for i, word in enumerate(words) if word == "to" and _span_after(words, i + 1)]
    at = targets[0] if targets else None
    if at is not None:
        found.destination = take(_span_after(words, at + 1), from_end=False)
    if "from" in words:
        found.origin = take(_span_after(words, words.index("from") + 1), from_end=False)
    elif at is not None:
        found.origin = take(_span_before(words, at), from_end=True)
    for marker in ("in", "at", "near"):
        if marker in words and found.destination is None:
            city = take(_span_after(words, words.index(marker) + 1), from_end=False)
            if city:
                found.city = city
                break
    if found.destination and found.wants_hotel and not found.wants_flight:
        found.city = found.city or found.destination
    if errors and not (found.origin or found.destination or found.city):
        found.place_error = errors[0]
    elif errors and found.wants_flight and not (found.origin and found.destination):
        found.place_error = errors[0]
