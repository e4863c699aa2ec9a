"""Amadeus's published examples become our offers; its token is shared, cached and renewed."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import pytest

from db.models.enums import Board, Cabin
from tools.errors import InvalidSearch, ProviderError, ProviderUnavailable
from tools.offers import FareConditions
from tools.providers.amadeus import AmadeusProvider
from tools.providers.base import FlightProvider, HotelProvider
from tools.providers.http import CredentialsRefused, Resilience
from tools.queries import FlightQuery, HotelQuery

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "amadeus"
CLIENT_ID = "amadeus-client-id"
CLIENT_SECRET = "amadeus-client-SECRET"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FAST = Resilience(max_attempts=3, backoff_initial=0.01, jitter=0.0)
TOKEN_PATH = "/v1/security/oauth2/token"
FLIGHTS_PATH = "/v2/shopping/flight-offers"
BY_CITY_PATH = "/v1/reference-data/locations/hotels/by-city"
BY_GEOCODE_PATH = "/v1/reference-data/locations/hotels/by-geocode"
HOTEL_OFFERS_PATH = "/v3/shopping/hotel-offers"
SYDNEY_TO_BANGKOK = FlightQuery(origin="SYD", destination="BKK", departure_date=date(2021, 11, 1))
NICE = HotelQuery(city_code="NCE", check_in=date(2023, 11, 22), check_out=date(2023, 11, 23))


def payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def reply(name: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload(name), headers=headers)


def ok(body: object) -> httpx.Response:
    return httpx.Response(200, json=body)


class FakeAmadeus:
    """Amadeus as its examples describe it: a token endpoint and scripted replies per path."""

    def __init__(self, **routes: list[httpx.Response | Exception]) -> None:
        self.routes = {
            FLIGHTS_PATH: routes.get(
                "flights", [reply("flight-offers-search-v2-get-response.json")]
            ),
            BY_CITY_PATH: routes.get("by_city", [reply("hotel-list-by-city-response.json")]),
            BY_GEOCODE_PATH: routes.get("by_geocode", [reply("hotel-list-by-city-response.json")]),
            HOTEL_OFFERS_PATH: routes.get(
                "hotel_offers", [reply("hotel-search-v3-hotel-offers-response.json")]
            ),
            TOKEN_PATH: routes.get("token", []),
        }
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.token_delay = 0.0

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == TOKEN_PATH and not self.routes[TOKEN_PATH]:
            await asyncio.sleep(self.token_delay)  # lets concurrent callers pile up
            self.tokens_issued += 1
            token = payload("oauth2-token-response.json")
            if self.tokens_issued > 1:
                token["access_token"] = f"{token['access_token']}-{self.tokens_issued}"
            return ok(token)
        replies = self.routes[path]
        answer = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Waits:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
async def amadeus(clock: Clock, waits: Waits) -> AsyncIterator[Callable[..., AmadeusProvider]]:
    """AmadeusProviders whose httpx client is served by a FakeAmadeus, never by the network."""
    clients: list[httpx.AsyncClient] = []

    def make(fake: FakeAmadeus, **options: Any) -> AmadeusProvider:
        client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
        clients.append(client)
        options.setdefault("resilience", FAST)
        return AmadeusProvider(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            client=client,
            sleep=waits,
            clock=clock,
            now=lambda: NOW,
            **options,
        )

    yield make
    for client in clients:
        await client.aclose()


def bearer(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


FIRST_TOKEN = "f8XgboI1oKyNw7w23bnnAbFANidfgC"


def test_it_is_both_kinds_of_provider() -> None:
    provider = AmadeusProvider(client_id="id", client_secret="secret", client=httpx.AsyncClient())
    flights: FlightProvider = provider
    hotels: HotelProvider = provider
    assert flights.name == hotels.name == "amadeus"


def test_it_refuses_to_start_without_credentials() -> None:
    with pytest.raises(ValueError, match="client secret"):
        AmadeusProvider(client_id="id", client_secret="", client=httpx.AsyncClient())
    with pytest.raises(ValueError, match="max_hotels"):
        AmadeusProvider(client_id="id", client_secret="s", client=httpx.AsyncClient(), max_hotels=0)


async def test_the_token_is_asked_for_with_client_credentials(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    fake = FakeAmadeus()

    await amadeus(fake).search_flights(SYDNEY_TO_BANGKOK)

    (token_request,) = fake.calls(TOKEN_PATH)
    assert token_request.method == "POST"
    assert token_request.url.host == "test.api.amadeus.com"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    (search,) = fake.calls(FLIGHTS_PATH)
    assert bearer(search) == FIRST_TOKEN


async def test_the_flight_search_amadeus_receives(amadeus: Callable[..., AmadeusProvider]) -> None:
    fake = FakeAmadeus()
    query = FlightQuery(
        origin="SYD",
        destination="BKK",
        departure_date=date(2026, 11, 1),
        return_date=date(2026, 11, 15),
        adults=2,
        children=1,
        infants=1,
        cabin=Cabin.PREMIUM_ECONOMY,
        currency="AUD",
    )

    await amadeus(fake, max_flight_offers=25, base_url="https://api.amadeus.com").search_flights(
        query
    )

    (search,) = fake.calls(FLIGHTS_PATH)
    assert search.method == "GET"
    assert search.url.host == "api.amadeus.com"
    assert dict(search.url.params) == {
        "originLocationCode": "SYD",
        "destinationLocationCode": "BKK",
        "departureDate": "2026-11-01",
        "returnDate": "2026-11-15",
        "adults": "2",
        "children": "1",
        "infants": "1",
        "travelClass": "PREMIUM_ECONOMY",
        "currencyCode": "AUD",
        "max": "25",
    }


async def test_a_one_way_adult_search_sends_only_what_it_needs(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    fake = FakeAmadeus()

    await amadeus(fake).search_flights(SYDNEY_TO_BANGKOK)

    (search,) = fake.calls(FLIGHTS_PATH)
    assert set(search.url.params) == {
        "originLocationCode",
        "destinationLocationCode",
        "departureDate",
        "adults",
        "travelClass",
        "currencyCode",
        "max",
    }
    assert search.url.params["travelClass"] == "ECONOMY"


async def test_the_flight_example_maps_into_two_offers(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    first, second = await amadeus(FakeAmadeus()).search_flights(SYDNEY_TO_BANGKOK)

    assert first.provider == "amadeus"
    assert first.id.startswith("1-")
    assert second.id.startswith("2-")
    assert (first.total_price, first.currency) == (Decimal("355.34"), "EUR")
    assert (first.seats_left, first.passengers, first.cabin) == (9, 1, Cabin.ECONOMY)
    assert first.conditions == FareConditions(refundable=False)
    assert first.expires_at == NOW + timedelta(minutes=20)
    assert first.carriers == "PHILIPPINE AIRLINES"

    (journey,) = first.journeys
    assert (journey.stops, journey.duration_minutes) == (1, 14 * 60 + 15)
    to_manila, to_bangkok = journey.segments
    assert to_manila.flight_number == "PR212"
    assert (to_manila.carrier_code, to_manila.carrier_name) == ("PR", "PHILIPPINE AIRLINES")
    assert (to_manila.origin, to_manila.destination) == ("SYD", "MNL")
    assert to_manila.aircraft == "AIRBUS A330-300"
    assert to_manila.duration_minutes == 8 * 60 + 15
    assert to_manila.departure.isoformat() == "2021-11-01T11:35:00+11:00"  # Sydney summer time
    assert to_manila.arrival.isoformat() == "2021-11-01T16:50:00+08:00"
    assert to_manila.departure.tzinfo == ZoneInfo("Australia/Sydney")
    assert to_bangkok.flight_number == "PR732"
    assert to_bangkok.departure.isoformat() == "2021-11-01T19:20:00+08:00"
    assert to_bangkok.arrival.isoformat() == "2021-11-01T21:50:00+07:00"
    assert to_bangkok.aircraft == "AIRBUS A320"
    assert journey.arrival - journey.departure == timedelta(hours=14, minutes=15)

    assert second.journeys[0].arrival.isoformat() == "2021-11-02T00:10:00+07:00"
    assert second.duration_minutes == 16 * 60 + 35
    assert second.journeys[0].segments[1].aircraft == "AIRBUS A321"


async def test_offer_ids_are_stable_and_tell_offers_apart(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    provider = amadeus(FakeAmadeus())
    once = [o.id for o in await provider.search_flights(SYDNEY_TO_BANGKOK)]
    again = [o.id for o in await provider.search_flights(SYDNEY_TO_BANGKOK)]
    assert once == again
    assert len(set(once)) == 2


async def test_fare_flags_are_the_only_conditions_promised(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    body = payload("flight-offers-search-v2-get-response.json")  # variant: flags set
    body["data"][0]["pricingOptions"]["refundableFare"] = True
    body["data"][1]["pricingOptions"]["noPenaltyFare"] = True

    first, second = await amadeus(FakeAmadeus(flights=[ok(body)])).search_flights(SYDNEY_TO_BANGKOK)

    assert first.conditions == FareConditions(refundable=True)
    assert second.conditions == FareConditions(
        refundable=True, change_fee=Decimal("0"), cancellation_fee=Decimal("0")
    )


async def test_an_offer_at_an_unknown_airport_is_skipped(
    amadeus: Callable[..., AmadeusProvider], caplog: pytest.LogCaptureFixture
) -> None:
    body = payload("flight-offers-search-v2-get-response.json")  # variant: unknown airport
    body["data"][0]["itineraries"][0]["segments"][1]["arrival"]["iataCode"] = "QQQ"
    provider = amadeus(
        FakeAmadeus(flights=[ok(body)]),
        airport_time_zones={"SYD": "Australia/Sydney", "MNL": "Asia/Manila", "BKK": "Asia/Bangkok"},
    )

    (offer,) = await provider.search_flights(SYDNEY_TO_BANGKOK)

    assert offer.id.startswith("2-")
    assert "no time zone is known for QQQ" in caplog.text


async def test_no_flights_is_an_empty_list(amadeus: Callable[..., AmadeusProvider]) -> None:
    fake = FakeAmadeus(flights=[ok({"meta": {"count": 0}, "data": []})])
    assert await amadeus(fake).search_flights(SYDNEY_TO_BANGKOK) == []


async def test_one_token_serves_several_searches(amadeus: Callable[..., AmadeusProvider]) -> None:
    fake = FakeAmadeus()
    provider = amadeus(fake)

    await provider.search_flights(SYDNEY_TO_BANGKOK)
    await provider.search_hotels(NICE)
    await provider.search_flights(SYDNEY_TO_BANGKOK)

    assert fake.tokens_issued == 1
    searches = [r for r in fake.requests if r.url.path != TOKEN_PATH]
    assert len(searches) == 4
    assert {bearer(r) for r in searches} == {FIRST_TOKEN}


async def test_concurrent_searches_share_a_single_token_request(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    fake = FakeAmadeus()
    fake.token_delay = 0.01
    provider = amadeus(fake)

    results = await asyncio.gather(
        *(provider.search_flights(SYDNEY_TO_BANGKOK) for _ in range(5)),
        provider.search_hotels(NICE),
    )

    assert all(results)
    assert len(fake.calls(TOKEN_PATH)) == 1
    assert len(fake.calls(FLIGHTS_PATH)) == 5
    assert {bearer(r) for r in fake.requests if r.url.path != TOKEN_PATH} == {FIRST_TOKEN}


async def test_the_token_is_renewed_shortly_before_it_expires(
    amadeus: Callable[..., AmadeusProvider], clock: Clock
) -> None:
    fake = FakeAmadeus()
    provider = amadeus(fake, token_refresh_margin=60)

    await provider.search_flights(SYDNEY_TO_BANGKOK)
    clock.now += 1799 - 61  # still a minute and a second of validity
    await provider.search_flights(SYDNEY_TO_BANGKOK)
    assert fake.tokens_issued == 1

    clock.now += 1  # within the last minute: renew first
    await provider.search_flights(SYDNEY_TO_BANGKOK)

    assert fake.tokens_issued == 2
    assert bearer(fake.calls(FLIGHTS_PATH)[-1]) == f"{FIRST_TOKEN}-2"


async def test_a_token_refused_mid_life_is_replaced_once(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    refused = httpx.Response(401, json={"errors": [{"status": 401, "code": 38190}]})
    fake = FakeAmadeus(flights=[refused, reply("flight-offers-search-v2-get-response.json")])

    offers = await amadeus(fake).search_flights(SYDNEY_TO_BANGKOK)

    assert len(offers) == 2
    assert fake.tokens_issued == 2
    first, second = fake.calls(FLIGHTS_PATH)
    assert (bearer(first), bearer(second)) == (FIRST_TOKEN, f"{FIRST_TOKEN}-2")


async def test_credentials_refused_at_the_token_endpoint(
    amadeus: Callable[..., AmadeusProvider], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    refused = httpx.Response(
        401,
        json={
            "error": "invalid_client",
            "error_description": "Client credentials are invalid",
            "code": 38187,
            "title": "Invalid parameters",
        },
    )
    fake = FakeAmadeus(token=[refused])

    with pytest.raises(CredentialsRefused) as raised:
        await amadeus(fake).search_flights(SYDNEY_TO_BANGKOK)

    assert isinstance(raised.value, ProviderError)
    assert raised.value.message.startswith("Amadeus refused the travel hub's credentials")
    assert fake.calls(FLIGHTS_PATH) == []
    assert CLIENT_SECRET not in caplog.text
    assert "invalid_client" in caplog.text


async def test_an_unapproved_token_is_refused_credentials(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    token = payload("oauth2-token-response.json")
    token["state"] = "expired"

    with pytest.raises(CredentialsRefused, match="did not approve"):
        await amadeus(FakeAmadeus(token=[ok(token)])).search_flights(SYDNEY_TO_BANGKOK)


async def test_a_bad_flight_search_is_an_invalid_search_in_amadeus_words(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    fake = FakeAmadeus(flights=[reply("error-400-flight-offers-search.json", 400)])

    with pytest.raises(InvalidSearch) as raised:
        await amadeus(fake).search_flights(SYDNEY_TO_BANGKOK)

    assert raised.value.message == (
        "Amadeus refused the search: invalid query parameter format (airport)."
    )
    assert len(fake.calls(FLIGHTS_PATH)) == 1


async def test_429_then_success_honours_retry_after(
    amadeus: Callable[..., AmadeusProvider], waits: Waits
) -> None:
    busy = httpx.Response(429, headers={"Retry-After": "1"})
    fake = FakeAmadeus(flights=[busy, reply("flight-offers-search-v2-get-response.json")])

    assert len(await amadeus(fake).search_flights(SYDNEY_TO_BANGKOK)) == 2
    assert waits.delays == [1.0]


async def test_repeated_500s_give_up_after_the_configured_attempts(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    fake = FakeAmadeus(flights=[httpx.Response(500)], hotel_offers=[httpx.Response(504)])
    provider = amadeus(fake)

    with pytest.raises(ProviderUnavailable) as raised:
        await provider.search_flights(SYDNEY_TO_BANGKOK)
    assert (
        raised.value.message == "Amadeus is not answering right now; please try again in a minute."
    )
    assert len(fake.calls(FLIGHTS_PATH)) == 3

    with pytest.raises(ProviderUnavailable, match=r"^Amadeus is not answering"):
        await provider.search_hotels(NICE)
    assert len(fake.calls(HOTEL_OFFERS_PATH)) == 3


async def test_malformed_json_is_a_provider_error(amadeus: Callable[..., AmadeusProvider]) -> None:
    fake = FakeAmadeus(flights=[httpx.Response(200, text="{'data': [")])

    with pytest.raises(ProviderError) as raised:
        await amadeus(fake).search_flights(SYDNEY_TO_BANGKOK)

    assert not isinstance(raised.value, ProviderUnavailable | InvalidSearch)
    assert "could not read" in raised.value.message


async def test_the_hotel_search_amadeus_receives_for_a_city(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    fake = FakeAmadeus()
    query = HotelQuery(
        city_code="nce",
        radius_km=3,
        check_in=date(2026, 7, 1),
        check_out=date(2026, 7, 4),
        guests=3,
        rooms=2,
        currency="CHF",
    )

    await amadeus(fake).search_hotels(query)

    token, listing, offers = fake.requests
    assert token.url.path == TOKEN_PATH
    assert (listing.method, listing.url.path) == ("GET", BY_CITY_PATH)
    assert dict(listing.url.params) == {"cityCode": "NCE", "radius": "3", "radiusUnit": "KM"}
    assert bearer(listing) == FIRST_TOKEN
    assert (offers.method, offers.url.path) == ("GET", HOTEL_OFFERS_PATH)
    assert dict(offers.url.params) == {
        "hotelIds": "ZZNCENVX,NNNCE357",
        "checkInDate": "2026-07-01",
        "checkOutDate": "2026-07-04",
        "adults": "2",  # per room: three guests in two rooms
        "roomQuantity": "2",
        "currency": "CHF",
    }


async def test_a_point_is_searched_by_geocode_and_the_hotel_count_capped(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    fake = FakeAmadeus()
    query = HotelQuery(
        latitude=43.7, longitude=7.25, check_in=date(2026, 7, 1), check_out=date(2026, 7, 2)
    )

    await amadeus(fake, max_hotels=1).search_hotels(query)

    (listing,) = fake.calls(BY_GEOCODE_PATH)
    assert dict(listing.url.params) == {
        "latitude": "43.7",
        "longitude": "7.25",
        "radius": "5",
        "radiusUnit": "KM",
    }
    (offers,) = fake.calls(HOTEL_OFFERS_PATH)
    assert offers.url.params["hotelIds"] == "ZZNCENVX"


async def test_the_hotel_example_maps_into_a_hotel_offer(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    (offer,) = await amadeus(FakeAmadeus()).search_hotels(NICE)

    assert (offer.id, offer.provider, offer.hotel_id) == ("TSXOJ6LFQ2", "amadeus", "MCLONGHM")
    assert offer.name == "JW Marriott Grosvenor House London"
    assert (offer.city, offer.latitude, offer.longitude) == ("LON", 51.50988, -0.15509)
    # The example's hotel is not in the example's (Nice) hotel list: nothing to enrich it with.
    assert (offer.stars, offer.address, offer.distance_km) == (None, None, None)
    assert offer.room_type == "Executive room"
    assert offer.board is Board.ROOM_ONLY
    assert (offer.check_in, offer.check_out, offer.nights) == (
        date(2023, 11, 22),
        date(2023, 11, 23),
        1,
    )
    assert (offer.rooms, offer.guests) == (1, 1)
    assert (offer.total_price, offer.nightly_price, offer.currency) == (
        Decimal("716.00"),
        Decimal("716.00"),
        "GBP",
    )
    assert offer.free_cancellation_until is None  # "NON-REFUNDABLE RATE"
    assert offer.expires_at == NOW + timedelta(minutes=20)


async def test_the_hotel_list_adds_stars_address_and_distance(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    listing = payload("hotel-list-by-city-response.json")  # variant: the London hotel, richer
    london = copy.deepcopy(listing["data"][0])
    london.update(
        hotelId="MCLONGHM",
        rating=5,
        address={"lines": ["86-90 Park Lane"], "postalCode": "W1K 7TN", "cityName": "LONDON"},
        distance={"value": 0.5, "unit": "MILE"},
    )
    listing["data"].insert(0, london)

    (offer,) = await amadeus(FakeAmadeus(by_city=[ok(listing)])).search_hotels(NICE)

    assert offer.stars == 5
    assert offer.address == "86-90 Park Lane, W1K 7TN LONDON"
    assert offer.city == "LONDON"
    assert offer.distance_km == 0.8


async def test_board_nights_and_free_cancellation_are_read_from_the_offer(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    body = payload("hotel-search-v3-hotel-offers-response.json")  # variant: 3 nights, breakfast
    room = body["data"][0]["offers"][0]
    room.update(checkInDate="2023-11-22", checkOutDate="2023-11-25", boardType="BREAKFAST")
    room["price"]["total"] = "716.00"
    room["policies"] = {"cancellations": [{"deadline": "2023-11-20T18:00:00+01:00"}]}
    del room["room"]["typeEstimated"]["category"]

    (offer,) = await amadeus(FakeAmadeus(hotel_offers=[ok(body)])).search_hotels(NICE)

    assert offer.board is Board.BREAKFAST
    assert offer.nights == 3
    assert offer.nightly_price == Decimal("238.67")
    assert offer.free_cancellation_until == datetime(2023, 11, 20, 17, tzinfo=UTC)
    assert offer.room_type == "Room with 1 double bed"


async def test_unavailable_hotels_are_left_out(amadeus: Callable[..., AmadeusProvider]) -> None:
    body = payload("hotel-search-v3-hotel-offers-response.json")
    body["data"][0]["available"] = False

    assert await amadeus(FakeAmadeus(hotel_offers=[ok(body)])).search_hotels(NICE) == []


@pytest.mark.parametrize(
    "listing",
    [
        ok({"data": [], "meta": {"count": 0}}),
        reply("error-404-hotel-list.json", 404),
        httpx.Response(
            400,
            json={
                "errors": [
                    {"status": 400, "code": 895, "title": "NOTHING FOUND FOR REQUESTED CITY"}
                ]
            },
        ),
    ],
)
async def test_a_city_without_hotels_is_an_empty_list(
    amadeus: Callable[..., AmadeusProvider], listing: httpx.Response
) -> None:
    fake = FakeAmadeus(by_city=[listing])

    assert await amadeus(fake).search_hotels(NICE) == []
    assert fake.calls(HOTEL_OFFERS_PATH) == []


async def test_hotels_without_rooms_are_an_empty_list(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    no_rooms = httpx.Response(
        400, json={"errors": [{"status": 400, "code": 3664, "title": "NO ROOMS AVAILABLE"}]}
    )
    assert await amadeus(FakeAmadeus(hotel_offers=[no_rooms])).search_hotels(NICE) == []


async def test_a_bad_hotel_search_is_an_invalid_search_in_amadeus_words(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    fake = FakeAmadeus(by_city=[reply("error-400-hotel-list-by-city.json", 400)])

    with pytest.raises(InvalidSearch) as raised:
        await amadeus(fake).search_hotels(NICE)

    assert raised.value.message == (
        "Amadeus refused the search: invalid query parameter format (cityCode)."
    )


async def test_yen_stay_whole_and_an_amount_finer_than_its_currency_is_skipped(
    amadeus: Callable[..., AmadeusProvider],
) -> None:
    flights = payload("flight-offers-search-v2-get-response.json")
    first, second = flights["data"]
    first["price"].update(currency="JPY", total="57600.00", grandTotal="57600.00")
    second["price"].update(currency="JPY", total="57600.5", grandTotal="57600.5")
    hotels = payload("hotel-search-v3-hotel-offers-response.json")  # variant: 3 nights, in yen
    room = hotels["data"][0]["offers"][0]
    room.update(checkInDate="2023-11-22", checkOutDate="2023-11-25")
    room["price"].update(currency="JPY", total="100000")
    provider = amadeus(FakeAmadeus(flights=[ok(flights)], hotel_offers=[ok(hotels)]))

    (flight,) = await provider.search_flights(SYDNEY_TO_BANGKOK)
    (hotel,) = await provider.search_hotels(NICE)

    assert (str(flight.total_price), flight.currency) == ("57600", "JPY")
    assert (str(hotel.total_price), str(hotel.nightly_price)) == ("100000", "33333")
