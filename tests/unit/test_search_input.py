"""Bad search input gets one clear sentence, with suggestions where they help."""

from __future__ import annotations

from datetime import date

import pytest

from tools.errors import InvalidSearch
from tools.places import gazetteer, one_city
from tools.queries import FlightQuery, HotelQuery
from tools.rates import supported

DAY = date(2027, 3, 10)


def test_city_names_cover_every_airport_of_the_city() -> None:
    london = gazetteer().resolve("London")
    assert london.code == "LON"
    assert {"LHR", "LGW", "STN", "LTN", "LCY"} <= {a.code for a in london.airports}


@pytest.mark.parametrize(
    ("text", "code"),
    [("lhr", "LHR"), ("LON", "LON"), ("new york", "NYC"), ("Zürich", "ZRH"), ("Heathrow", "LHR"),
     ("Frankfurt", "FRA"), ("são paulo", "SAO"), ("Manchester", "MAN"), ("Delhi", "DEL")],
)  # fmt: skip
def test_places_by_code_or_name(text: str, code: str) -> None:
    assert gazetteer().resolve(text).code == code


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("Lodnon", "London (LON)"), ("Pariss", "Paris (PAR)"), ("Barcelonna", "Barcelona (BCN)")],
)
def test_typos_get_a_suggestion(typo: str, suggestion: str) -> None:
    with pytest.raises(InvalidSearch) as caught:
        gazetteer().resolve(typo)
    assert caught.value.message == f"No airport matches {typo!r}; did you mean {suggestion}?"
    assert caught.value.suggestions[0] == suggestion


def test_nonsense_place_is_one_sentence_without_a_guess() -> None:
    with pytest.raises(InvalidSearch, match=r"^No airport matches 'Qqxzv'\.$"):
        gazetteer().resolve("Qqxzv")


def test_return_before_departure() -> None:
    with pytest.raises(InvalidSearch, match="return date 09 Mar 2027 is before the departure"):
        FlightQuery(
            origin="LHR", destination="JFK", departure_date=DAY, return_date=date(2027, 3, 9)
        )


def test_two_airports_of_one_city_are_one_city() -> None:
    places = gazetteer()
    assert one_city(places.expand("NRT"), places.expand("HND")) == "Tokyo"
    assert one_city(places.expand("LON"), places.expand("LGW")) == "London"
    assert one_city(places.expand("JFK"), places.expand("EWR")) == "New York"  # Newark, by metro
    assert one_city(places.expand("LHR"), places.expand("CDG")) is None


def test_same_origin_and_destination() -> None:
    with pytest.raises(InvalidSearch, match="both LHR"):
        FlightQuery(origin="LHR", destination="lhr", departure_date=DAY)


@pytest.mark.parametrize(
    ("party", "sentence"),
    [
        ({"adults": 0}, "at least one traveller"),
        ({"adults": 10}, "at most 9 travellers at once, not 10"),
        ({"adults": 5, "children": 5}, "at most 9 travellers"),
        ({"adults": 1, "infants": 2}, "2 infants need 2 adults"),
        ({"adults": 0, "children": 2}, "At least one adult"),
        ({"adults": -1}, "cannot be negative"),
    ],
)
def test_party_size(party: dict[str, int], sentence: str) -> None:
    with pytest.raises(InvalidSearch, match=sentence):
        FlightQuery(origin="LHR", destination="JFK", departure_date=DAY, **party)


def test_check_out_must_follow_check_in() -> None:
    for check_out in (DAY, date(2027, 3, 9)):
        with pytest.raises(InvalidSearch, match="must be after the check-in date"):
            HotelQuery(city_code="PAR", check_in=DAY, check_out=check_out)


@pytest.mark.parametrize(
    ("guests", "rooms", "sentence"),
    [(0, 1, "1 to 9 guests"), (10, 1, "1 to 9 guests"), (2, 3, "no more rooms than guests")],
)
def test_hotel_party(guests: int, rooms: int, sentence: str) -> None:
    with pytest.raises(InvalidSearch, match=sentence):
        HotelQuery(
            city_code="PAR", check_in=DAY, check_out=date(2027, 3, 12), guests=guests, rooms=rooms
        )


def test_unknown_currency() -> None:
    with pytest.raises(InvalidSearch, match="cannot price in 'XYZ'"):
        supported("XYZ")
