"""Cache keys: one per meaning, whatever the spelling; different meanings never collide."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from db.models.enums import Cabin
from tools.cache_key import cache_key
from tools.queries import FlightQuery, HotelQuery

CODES = st.sampled_from(["LHR", "JFK", "LON", "NYC", "CDG", "LIS", "MAD", "HND"])


@st.composite
def flight_fields(draw: st.DrawFn) -> dict[str, Any]:
    origin, destination = draw(st.lists(CODES, min_size=2, max_size=2, unique=True))
    departure = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 300)))
    adults = draw(st.integers(1, 4))
    fields: dict[str, Any] = {
        "origin": origin,
        "destination": destination,
        "departure_date": departure,
        "adults": adults,
        "children": draw(st.integers(0, 2)),
        "infants": draw(st.integers(0, min(adults, 3))),
        "cabin": draw(st.sampled_from(list(Cabin))),
        "currency": draw(st.sampled_from(["EUR", "USD", "GBP"])),
    }
    if draw(st.booleans()):
        fields["return_date"] = departure + timedelta(days=draw(st.integers(0, 30)))
    return fields


def _respell(fields: dict[str, Any], seed: int) -> dict[str, Any]:
    """The same search written differently: other key order, casing, strings for dates."""
    shuffled = random.Random(seed)
    items = list(fields.items())
    shuffled.shuffle(items)
    respelled: dict[str, Any] = {}
    for name, value in items:
        if name in ("origin", "destination", "currency"):
            value = shuffled.choice([str.lower, str.title, str.upper])(value)
            value = f"  {value} " if shuffled.random() < 0.3 else value
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Cabin):
            value = value.value
        respelled[name] = value
    return respelled


@given(flight_fields(), st.integers())
def test_respelling_a_flight_search_never_misses(fields: dict[str, Any], seed: int) -> None:
    plain = FlightQuery.model_validate(fields)
    respelled = FlightQuery.model_validate(_respell(fields, seed))
    assert cache_key("flight", "offline", plain) == cache_key("flight", "offline", respelled)


@given(flight_fields())
def test_explicit_defaults_are_the_defaults(fields: dict[str, Any]) -> None:
    implicit = {k: v for k, v in fields.items() if not (k in ("children", "infants") and v == 0)}
    implicit = {k: v for k, v in implicit.items() if not (k == "cabin" and v is Cabin.ECONOMY)}
    assert cache_key("flight", "offline", FlightQuery.model_validate(fields)) == cache_key(
        "flight", "offline", FlightQuery.model_validate(implicit)
    )


@given(flight_fields(), flight_fields())
def test_different_searches_never_collide(first: dict[str, Any], second: dict[str, Any]) -> None:
    a, b = FlightQuery.model_validate(first), FlightQuery.model_validate(second)
    if a != b:
        assert cache_key("flight", "offline", a) != cache_key("flight", "offline", b)


def test_provider_and_kind_are_part_of_the_key() -> None:
    query = FlightQuery(origin="LHR", destination="JFK", departure_date=date(2027, 3, 1))
    keys = {cache_key("flight", provider, query) for provider in ("offline", "duffel", "amadeus")}
    assert len(keys) == 3
    stay = HotelQuery(city_code="PAR", check_in=date(2027, 3, 1), check_out=date(2027, 3, 4))
    assert cache_key("hotel", "offline", stay) != cache_key("flight", "offline", stay)


def test_keys_are_sha256_hex() -> None:
    query = FlightQuery(origin="lhr", destination="jfk", departure_date=date(2027, 3, 1))
    key = cache_key("flight", "offline", query)
    assert len(key) == 64
    assert int(key, 16) >= 0
