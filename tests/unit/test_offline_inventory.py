"""The offline inventory behaves like a real one: deterministic, plausible, priced sensibly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from db.models.enums import Board, Cabin
from tools.offers import FlightOffer
from tools.places import distance_km, gazetteer
from tools.providers.offline_flights import OfflineFlights, flight_minutes
from tools.providers.offline_hotels import OfflineHotels
from tools.queries import FlightQuery, HotelQuery

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
FLIGHTS = OfflineFlights(gazetteer(), now=lambda: NOW)
HOTELS = OfflineHotels(gazetteer(), now=lambda: NOW)


def query(**fields: object) -> FlightQuery:
    defaults: dict[str, object] = {
        "origin": "LON", "destination": "NYC", "departure_date": date(2027, 1, 15),
    }  # fmt: skip
    return FlightQuery.model_validate({**defaults, **fields})


async def test_the_same_query_gives_the_same_offers() -> None:
    assert await FLIGHTS.search_flights(query()) == await FLIGHTS.search_flights(query())
    stay = HotelQuery(city_code="PAR", check_in=date(2027, 1, 15), check_out=date(2027, 1, 18))
    assert await HOTELS.search_hotels(stay) == await HOTELS.search_hotels(stay)


async def test_a_city_searches_all_its_airports_with_direct_and_one_stop_flights() -> None:
    offers = [o for d in range(7) for o in await FLIGHTS.search_flights(
        query(departure_date=date(2027, 1, 10) + timedelta(days=d))
    )]  # fmt: skip
    origins = {offer.journeys[0].origin for offer in offers}
    assert len(origins & {"LHR", "LGW", "STN", "LTN", "LCY", "SEN"}) >= 3
    assert {offer.stops for offer in offers} == {0, 1}
    assert {offer.journeys[0].destination for offer in offers} <= {"JFK", "EWR", "LGA"}


async def test_times_are_local_and_durations_follow_distance() -> None:
    for offer in await FLIGHTS.search_flights(query(origin="LIS", destination="HND")):
        for segment in (s for j in offer.journeys for s in j.segments):
            places = gazetteer().airports
            start, end = places[segment.origin], places[segment.destination]
            assert (
                segment.departure.utcoffset()
                == segment.departure.astimezone(start.zone).utcoffset()
            )
            assert segment.arrival.tzinfo is not None
            assert str(segment.arrival.tzinfo) == end.timezone
            km = distance_km(start.latitude, start.longitude, end.latitude, end.longitude)
            assert segment.duration_minutes == flight_minutes(km)
            assert segment.arrival - segment.departure == timedelta(
                minutes=segment.duration_minutes
            )
        journey = offer.journeys[0]
        assert (
            journey.duration_minutes == (journey.arrival - journey.departure).total_seconds() // 60
        )


async def test_connections_leave_after_the_first_flight_lands() -> None:
    offers = await FLIGHTS.search_flights(query(origin="LIS", destination="HND"))
    connecting = [o for o in offers if o.stops == 1]
    assert connecting
    for offer in connecting:
        first, second = offer.journeys[0].segments
        layover = second.departure - first.arrival
        assert timedelta(minutes=60) <= layover <= timedelta(minutes=200)


async def _cheapest(cabin: Cabin, **fields: object) -> Decimal:
    offers = await FLIGHTS.search_flights(query(cabin=cabin, **fields))
    return min(offer.total_price for offer in offers)


async def test_better_cabins_cost_more() -> None:
    prices = [await _cheapest(cabin) for cabin in Cabin]
    assert prices == sorted(prices)
    assert prices[-1] > 3 * prices[0]


async def test_longer_flights_and_later_bookings_cost_more() -> None:
    near = min(o.total_price for o in await FLIGHTS.search_flights(query(destination="PAR")))
    far = min(o.total_price for o in await FLIGHTS.search_flights(query(destination="SYD")))
    assert far > 3 * near
    tomorrow = await _cheapest(Cabin.ECONOMY, departure_date=date(2026, 11, 29))
    in_two_months = await _cheapest(Cabin.ECONOMY, departure_date=date(2027, 1, 29))
    assert tomorrow > in_two_months


async def test_prices_follow_the_party_and_the_currency() -> None:
    one = {o.id: o for o in await FLIGHTS.search_flights(query())}
    family = await FLIGHTS.search_flights(query(adults=2, children=1))
    assert all(offer.passengers == 3 for offer in family)
    assert min(o.total_price for o in family) > 2 * min(o.total_price for o in one.values())
    in_gbp = await FLIGHTS.search_flights(query(currency="GBP"))
    assert {o.currency for o in in_gbp} == {"GBP"}


async def test_prices_are_in_the_currencys_minor_units() -> None:
    """Whole yen (16200, not 16200.00), euro cents: exponents as ISO 4217 has them."""
    stay = HotelQuery(
        city_code="TYO", check_in=date(2027, 1, 15), check_out=date(2027, 1, 18), currency="JPY"
    )
    hotels = await HOTELS.search_hotels(stay)
    flights = await FLIGHTS.search_flights(query(destination="TYO", currency="JPY"))
    amounts = [a for o in hotels for a in (o.total_price, o.nightly_price)] + [
        a
        for o in flights
        for a in (o.total_price, o.conditions.change_fee, o.conditions.cancellation_fee)
        if a is not None
    ]
    assert amounts
    assert {a.as_tuple().exponent for a in amounts} == {0}
    in_eur = await FLIGHTS.search_flights(query())
    assert {o.total_price.as_tuple().exponent for o in in_eur} == {-2}


async def test_every_offer_is_complete() -> None:
    offers: list[FlightOffer] = await FLIGHTS.search_flights(
        query(return_date=date(2027, 1, 22), adults=2)
    )
    assert offers
    for offer in offers:
        assert offer.id.startswith("off_")
        assert offer.expires_at == NOW + timedelta(minutes=30)
        assert len(offer.journeys) == 2
        assert offer.journeys[1].departure.date() == date(2027, 1, 22)
        assert offer.seats_left is not None
        assert 2 <= offer.seats_left <= 9
        assert offer.conditions.change_fee is not None
        assert all(
            s.flight_number.startswith(s.carrier_code) for j in offer.journeys for s in j.segments
        )
    assert len({offer.id for offer in offers}) == len(offers)


@pytest.mark.parametrize("city", ["PAR", "LIS", "TYO", "NBO", "KEF", "SCL"])
async def test_hotels_in_any_city(city: str) -> None:
    stay = HotelQuery(
        city_code=city, check_in=date(2027, 2, 5), check_out=date(2027, 2, 8), guests=2
    )
    offers = await HOTELS.search_hotels(stay)
    assert len({offer.hotel_id for offer in offers}) >= 5
    for offer in offers:
        assert offer.nights == 3
        assert offer.total_price == (offer.nightly_price * 3).quantize(Decimal("0.01")) or abs(
            offer.total_price - offer.nightly_price * 3
        ) <= Decimal("0.03")
        assert offer.stars in (2, 3, 4, 5)
        assert offer.distance_km is not None
        assert 0 < offer.distance_km <= stay.radius_km
        assert offer.board in Board
        if offer.free_cancellation_until is not None:
            assert offer.free_cancellation_until.date() < stay.check_in


async def test_a_hotel_search_by_coordinates() -> None:
    stay = HotelQuery(
        latitude=38.7223, longitude=-9.1393, radius_km=3,
        check_in=date(2027, 2, 5), check_out=date(2027, 2, 6),
    )  # fmt: skip
    offers = await HOTELS.search_hotels(stay)
    assert offers
    assert all(offer.city == "Lisbon" for offer in offers)
    assert all((offer.distance_km or 0) <= 3 for offer in offers)
