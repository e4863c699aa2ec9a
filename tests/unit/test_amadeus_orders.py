"""Amadeus orders: offers priced again, flights booked once and cancelled, hotel rooms priced
again, all against the examples of Amadeus's own specifications."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from db.models.enums import Board, Cabin
from tools.errors import InvalidSearch, ProviderError, ProviderUnavailable
from tools.offers import FlightOffer, HotelOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.amadeus import AmadeusProvider
from tools.providers.base import FlightOrders, HotelOrders
from tools.providers.http import OutcomeUnknown, RejectedRequest, Resilience
from tools.providers.vendor_json import load_airport_time_zones
from tools.queries import FlightQuery, HotelQuery

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "amadeus"
CLIENT_ID = "amadeus-client-id"
CLIENT_SECRET = "amadeus-client-SECRET"
TOKEN = "f8XgboI1oKyNw7w23bnnAbFANidfgC"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FAST = Resilience(max_attempts=3, backoff_initial=0.01, jitter=0.0)
TOKEN_PATH = "/v1/security/oauth2/token"
SEARCH = "GET /v2/shopping/flight-offers"
PRICING = "POST /v1/shopping/flight-offers/pricing"
ORDERS = "POST /v1/booking/flight-orders"
ORDER_ID = "MlpZVkFMfFdBVFNPTnwyMDE1LTExLTAy"
HOTEL_OFFER = "GET /v3/shopping/hotel-offers/TSXOJ6LFQ2"
SYDNEY_TO_BANGKOK = FlightQuery(origin="SYD", destination="BKK", departure_date=date(2021, 11, 1))
NICE = HotelQuery(city_code="NCE", check_in=date(2023, 11, 22), check_out=date(2023, 11, 23))
JORGE = Passenger(given_name="Jorge", family_name="Gonzales", born_on=date(1982, 1, 16))
ADRIANA = Passenger(
    given_name="Adriana", family_name="Gonzales", kind="child", born_on=date(2012, 10, 11)
)
CONTACT = Contact(name="Jorge Gonzales", email="jorge@example.com", phone="+34 480 080 076")
PERSONAL = (
    "Jorge",
    "Adriana",
    "Gonzales",
    "jorge@example.com",
    "480 080 076",
    "480080076",
    "1982-01-16",
    "2012-10-11",
)
KEY = "booking-key-0002:0"

Reply = httpx.Response | Exception


def payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def reply(name: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload(name), headers=headers)


def ok(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def amadeus_error(status: int, code: int, title: str) -> httpx.Response:
    return httpx.Response(
        status, json={"errors": [{"status": status, "code": code, "title": title}]}
    )


def priced_offer() -> dict[str, Any]:
    """The flight offer of Amadeus's Flight Offers Price reply (1 adult, 1 child, USD)."""
    offer: dict[str, Any] = payload("flight-offers-price-response.json")["data"]["flightOffers"][0]
    return offer


def searched_offer() -> dict[str, Any]:
    """The flight offer of Amadeus's Flight Offers Price request: one as search returns it."""
    offer: dict[str, Any] = payload("flight-offers-price-request.json")["data"]["flightOffers"][0]
    return offer


class FakeAmadeus:
    """Amadeus as its examples describe it: a token endpoint and scripted replies per route."""

    def __init__(self, routes: dict[str, list[Reply]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0

    def calls(self, route: str) -> list[httpx.Request]:
        return [r for r in self.requests if f"{r.method} {r.url.path}" == route]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == TOKEN_PATH:
            self.tokens_issued += 1
            token = payload("oauth2-token-response.json")
            if self.tokens_issued > 1:
                token["access_token"] = f"{token['access_token']}-{self.tokens_issued}"
            return ok(token)
        replies = self.routes[f"{request.method} {request.url.path}"]
        answer = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Waits:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture(scope="module")
def zones() -> dict[str, str]:
    """airportsdata's time zones, loaded once for the module rather than per provider."""
    return load_airport_time_zones()


@pytest.fixture
async def amadeus(
    waits: Waits, zones: dict[str, str]
) -> AsyncIterator[Callable[[FakeAmadeus], AmadeusProvider]]:
    """AmadeusProviders served by a FakeAmadeus, never by the network."""
    clients: list[httpx.AsyncClient] = []

    def make(fake: FakeAmadeus) -> AmadeusProvider:
        client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
        clients.append(client)
        return AmadeusProvider(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            client=client,
            resilience=FAST,
            airport_time_zones=zones,
            sleep=waits,
            now=lambda: NOW,
        )

    yield make
    for client in clients:
        await client.aclose()


async def found_flight(
    make: Callable[[FakeAmadeus], AmadeusProvider], raw: dict[str, Any], **reply: Any
) -> FlightOffer:
    """`raw` as Flight Offers Search hands it over, mapped by a search as booking receives it."""
    fake = FakeAmadeus({SEARCH: [ok({"data": [raw], **reply})]})
    (offer,) = await make(fake).search_flights(SYDNEY_TO_BANGKOK)
    return offer.model_copy(update={"search": SYDNEY_TO_BANGKOK})


async def found_hotel(make: Callable[[FakeAmadeus], AmadeusProvider]) -> HotelOffer:
    fake = FakeAmadeus(
        {
            "GET /v1/reference-data/locations/hotels/by-city": [
                reply("hotel-list-by-city-response.json")
            ],
            "GET /v3/shopping/hotel-offers": [reply("hotel-search-v3-hotel-offers-response.json")],
        }
    )
    (offer,) = await make(fake).search_hotels(NICE)
    return offer.model_copy(update={"search": NICE})


async def repriced_flight(make: Callable[[FakeAmadeus], AmadeusProvider]) -> FlightOffer:
    """The searched offer priced again by Amadeus's recorded pricing reply."""
    offer = await found_flight(make, searched_offer())
    fake = FakeAmadeus({PRICING: [reply("flight-offers-price-response.json")]})
    current = await make(fake).reprice_flight(offer)
    assert current is not None
    return current


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


def test_it_is_an_order_desk_for_flights_and_hotels() -> None:
    provider = AmadeusProvider(client_id="id", client_secret="secret", client=httpx.AsyncClient())
    flights: FlightOrders = provider
    hotels: HotelOrders = provider
    assert flights.name == hotels.name == "amadeus"


async def test_found_flights_keep_amadeus_offer_objects_verbatim(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    fake = FakeAmadeus({SEARCH: [reply("flight-offers-search-v2-get-response.json")]})

    offers = await amadeus(fake).search_flights(SYDNEY_TO_BANGKOK)

    recorded = payload("flight-offers-search-v2-get-response.json")["data"]
    assert [o.provider_data for o in offers] == [{"flight_offer": raw} for raw in recorded]
    assert [FlightOffer.model_validate(o.model_dump(mode="json")) for o in offers] == offers


async def test_found_hotel_rooms_keep_amadeus_offer_id(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = await found_hotel(amadeus)

    assert offer.provider_data == {"offer_id": "TSXOJ6LFQ2"}


async def test_the_price_check_sends_the_searched_offer_verbatim(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = await found_flight(amadeus, searched_offer())
    fake = FakeAmadeus({PRICING: [reply("flight-offers-price-response.json")]})

    await amadeus(fake).reprice_flight(offer)

    token, pricing = fake.requests
    assert token.url.path == TOKEN_PATH
    assert pricing.method == "POST"
    assert pricing.url.host == "test.api.amadeus.com"
    assert pricing.headers["Authorization"] == f"Bearer {TOKEN}"
    assert pricing.headers["X-HTTP-Method-Override"] == "GET"
    assert pricing.headers["Content-Type"] == "application/json"
    # Exactly the request body of Amadeus's own Flight Offers Price example.
    assert sent(pricing) == payload("flight-offers-price-request.json")


async def test_the_priced_offer_keeps_our_id_and_replaces_the_vendor_object(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = await found_flight(amadeus, searched_offer())
    assert (offer.total_price, offer.currency) == (Decimal("546.70"), "EUR")

    current = await repriced_flight(amadeus)

    assert current.id == offer.id
    assert current.provider == "amadeus"
    # Amadeus's pricing example prices another trip than its request: its reply is mapped.
    assert (current.total_price, current.currency) == (Decimal("2778.98"), "USD")
    assert (current.passengers, current.cabin) == (2, Cabin.ECONOMY)  # business, then economy
    assert [s.flight_number for j in current.journeys for s in j.segments] == [
        "AT212",
        "AT970",
        "AT971",
        "AT213",
    ]
    assert current.journeys[0].departure.isoformat() == "2020-03-01T23:30:00-03:00"
    assert current.expires_at == offer.expires_at
    assert current.search == SYDNEY_TO_BANGKOK
    assert current.provider_data == {"flight_offer": priced_offer()}


async def test_a_price_that_moved_keeps_the_names_the_search_gave(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    search = payload("flight-offers-search-v2-get-response.json")
    offer = await found_flight(amadeus, search["data"][0], dictionaries=search["dictionaries"])
    dearer = copy.deepcopy(search["data"][0])  # variant: priced again, 34.56 EUR dearer
    dearer["price"]["grandTotal"] = "389.90"
    fake = FakeAmadeus({PRICING: [ok({"data": {"type": "flight-offers-pricing",
                                               "flightOffers": [dearer]}})]})  # fmt: skip

    current = await amadeus(fake).reprice_flight(offer)

    assert current is not None
    assert (offer.total_price, current.total_price) == (Decimal("355.34"), Decimal("389.90"))
    assert current.currency == "EUR"
    assert current.journeys == offer.journeys  # carrier and aircraft names included
    assert current.carriers == "PHILIPPINE AIRLINES"


@pytest.mark.parametrize(
    "answer",
    [
        reply("error-404-hotel-list.json", 404),
        amadeus_error(400, 34651, "SEGMENT SELL FAILURE"),
        ok({"data": {"type": "flight-offers-pricing", "flightOffers": []}}),
    ],
    ids=["not-found", "sell-failure", "nothing-priced"],
)
async def test_an_offer_amadeus_no_longer_sells_reprices_to_none(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider], answer: httpx.Response
) -> None:
    offer = await found_flight(amadeus, searched_offer())
    fake = FakeAmadeus({PRICING: [answer]})

    assert await amadeus(fake).reprice_flight(offer) is None
    assert len(fake.calls(PRICING)) == 1


async def test_a_refused_price_check_is_a_provider_error_in_amadeus_words(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = await found_flight(amadeus, searched_offer())
    fake = FakeAmadeus({PRICING: [reply("error-400-flight-offers-search.json", 400)]})

    with pytest.raises(RejectedRequest) as raised:
        await amadeus(fake).reprice_flight(offer)

    assert not isinstance(raised.value, InvalidSearch)
    assert raised.value.message == (
        "Amadeus refused the price check: invalid query parameter format (airport)."
    )


async def test_the_price_check_is_retried_like_any_read(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider], waits: Waits
) -> None:
    offer = await found_flight(amadeus, searched_offer())
    fake = FakeAmadeus({PRICING: [httpx.Response(500)]})

    with pytest.raises(ProviderUnavailable, match=r"^Amadeus is not answering right now"):
        await amadeus(fake).reprice_flight(offer)

    assert len(fake.calls(PRICING)) == 3
    assert waits.delays == pytest.approx([0.01, 0.02])


async def test_the_order_amadeus_receives(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = await repriced_flight(amadeus)
    fake = FakeAmadeus({ORDERS: [reply("flight-create-orders-response.json", 201)]})

    placed = await amadeus(fake).order_flight(
        offer, travellers=[ADRIANA, JORGE], contact=CONTACT, idempotency_key=KEY
    )

    assert placed == PlacedOrder(order_id=ORDER_ID, provider_reference="2ZYVAL")
    (order,) = fake.calls(ORDERS)
    assert order.headers["Authorization"] == f"Bearer {TOKEN}"
    assert order.headers["Accept"] == "application/vnd.amadeus+json"
    assert order.headers["Content-Type"] == "application/json"
    assert "X-HTTP-Method-Override" not in order.headers
    assert "Idempotency-Key" not in order.headers  # Amadeus documents none
    body = sent(order)
    assert body == {
        "data": {
            "type": "flight-order",
            "flightOffers": [priced_offer()],
            "travelers": [
                {
                    "id": "1",  # the priced ADULT
                    "dateOfBirth": "1982-01-16",
                    "name": {"firstName": "Jorge", "lastName": "Gonzales"},
                    "contact": {"emailAddress": "jorge@example.com"},
                },
                {
                    "id": "2",  # the priced CHILD
                    "dateOfBirth": "2012-10-11",
                    "name": {"firstName": "Adriana", "lastName": "Gonzales"},
                    "contact": {"emailAddress": "jorge@example.com"},
                },
            ],
        }
    }
    # Every field sent is one Amadeus's own example request sends too.
    recorded = payload("flight-create-orders-request.json")["data"]
    assert body["data"].keys() <= recorded.keys()
    for ours, theirs in zip(body["data"]["travelers"], recorded["travelers"], strict=True):
        assert ours.keys() <= theirs.keys()
        assert ours["name"].keys() <= theirs["name"].keys()
        assert ours["contact"].keys() <= theirs["contact"].keys()


async def test_a_held_infant_is_matched_to_its_priced_traveler(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    held = payload("flight-create-orders-response.json")["data"]["flightOffers"][0]
    offer = (await repriced_flight(amadeus)).model_copy(
        update={"passengers": 3, "provider_data": {"flight_offer": held}}
    )
    baby = Passenger(
        given_name="Jules", family_name="Martin", kind="infant", born_on=date(2018, 3, 24)
    )
    fake = FakeAmadeus({ORDERS: [reply("flight-create-orders-response.json", 201)]})

    await amadeus(fake).order_flight(
        offer, travellers=[baby, JORGE, ADRIANA], contact=CONTACT, idempotency_key=KEY
    )

    travelers = sent(fake.calls(ORDERS)[0])["data"]["travelers"]
    assert [(t["id"], t["name"]["firstName"]) for t in travelers] == [
        ("1", "Jorge"),
        ("2", "Adriana"),
        ("3", "Jules"),
    ]


@pytest.mark.parametrize(
    ("travellers", "sentence"),
    [
        (
            [JORGE, ADRIANA.model_copy(update={"born_on": None})],
            "Amadeus needs the date of birth of every traveller to book this flight, and"
            " traveller 2 has none; please add it and try again.",
        ),
        (
            [JORGE.model_copy(update={"family_name": " "}), ADRIANA],
            "Amadeus needs the family name of every traveller to book this flight, and"
            " traveller 1 has none; please add it and try again.",
        ),
        (
            [JORGE],
            "This flight was priced for 1 adult and 1 child, but the booking names 1 adult;"
            " please search again for this party.",
        ),
    ],
    ids=["no-birth-date", "no-family-name", "other-party"],
)
async def test_what_amadeus_would_refuse_is_refused_first_in_a_sentence(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
    travellers: list[Passenger],
    sentence: str,
) -> None:
    offer = await repriced_flight(amadeus)
    fake = FakeAmadeus({ORDERS: [reply("flight-create-orders-response.json", 201)]})

    with pytest.raises(ProviderError) as raised:
        await amadeus(fake).order_flight(
            offer, travellers=travellers, contact=CONTACT, idempotency_key=KEY
        )

    assert raised.value.message == sentence
    assert not isinstance(raised.value, ProviderUnavailable)
    assert fake.requests == []  # not even a token


async def test_an_offer_found_without_its_vendor_object_asks_for_a_new_search(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = (await repriced_flight(amadeus)).model_copy(update={"provider_data": {}})
    fake = FakeAmadeus({})

    with pytest.raises(ProviderError, match=r"^This Amadeus offer cannot be booked as it was"):
        await amadeus(fake).reprice_flight(offer)
    with pytest.raises(ProviderError, match=r"^This Amadeus offer cannot be booked as it was"):
        await amadeus(fake).order_flight(
            offer, travellers=[JORGE, ADRIANA], contact=CONTACT, idempotency_key=KEY
        )
    assert fake.requests == []


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(500), httpx.Response(504), httpx.ReadTimeout("no answer")],
    ids=["500", "504", "read-timeout"],
)
async def test_an_order_that_may_have_gone_through_is_never_sent_twice(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
    waits: Waits,
    caplog: pytest.LogCaptureFixture,
    failure: Reply,
) -> None:
    offer = await repriced_flight(amadeus)
    fake = FakeAmadeus({ORDERS: [failure, reply("flight-create-orders-response.json", 201)]})

    with pytest.raises(ProviderUnavailable) as raised:
        await amadeus(fake).order_flight(
            offer, travellers=[JORGE, ADRIANA], contact=CONTACT, idempotency_key=KEY
        )

    assert isinstance(raised.value, OutcomeUnknown)
    assert raised.value.message == (
        "Amadeus did not confirm whether the order went through; please do not try again until"
        " it has been checked, so that nothing is booked twice."
    )
    assert len(fake.calls(ORDERS)) == 1
    assert waits.delays == []
    assert KEY in caplog.text  # what an operator needs to find the booking


@pytest.mark.parametrize(
    "refused",
    [
        httpx.Response(429, headers={"Retry-After": "1"}),
        amadeus_error(401, 38190, "Invalid access token"),
        httpx.ConnectError("connection refused"),
    ],
    ids=["rate-limited", "token-refused", "never-connected"],
)
async def test_an_order_amadeus_never_processed_is_sent_again(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider], refused: Reply
) -> None:
    offer = await repriced_flight(amadeus)
    fake = FakeAmadeus({ORDERS: [refused, reply("flight-create-orders-response.json", 201)]})

    placed = await amadeus(fake).order_flight(
        offer, travellers=[JORGE, ADRIANA], contact=CONTACT, idempotency_key=KEY
    )

    assert placed.order_id == ORDER_ID
    first, second = fake.calls(ORDERS)
    assert sent(first) == sent(second)


async def test_a_refused_order_is_a_provider_error_in_amadeus_words(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = await repriced_flight(amadeus)
    fake = FakeAmadeus({ORDERS: [reply("error-400-flight-offers-search.json", 400)]})

    with pytest.raises(RejectedRequest) as raised:
        await amadeus(fake).order_flight(
            offer, travellers=[JORGE, ADRIANA], contact=CONTACT, idempotency_key=KEY
        )

    assert not isinstance(raised.value, InvalidSearch)
    assert raised.value.message == (
        "Amadeus refused the order: invalid query parameter format (airport)."
    )
    assert len(fake.calls(ORDERS)) == 1


async def test_cancelling_deletes_the_flight_order(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    fake = FakeAmadeus({f"DELETE /v1/booking/flight-orders/{ORDER_ID}": [httpx.Response(204)]})

    await amadeus(fake).cancel_flight_order(ORDER_ID)

    (delete,) = fake.calls(f"DELETE /v1/booking/flight-orders/{ORDER_ID}")
    assert delete.headers["Authorization"] == f"Bearer {TOKEN}"
    assert delete.content == b""


async def test_an_order_id_amadeus_sent_percent_encoded_is_used_as_sent(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    order_id = "eJzTd9f3NjIJdzUGAAp%2fAiY%3D"
    fake = FakeAmadeus({"DELETE /v1/booking/flight-orders/eJzTd9f3NjIJdzUGAAp/AiY=": [
        httpx.Response(204)]})  # fmt: skip

    await amadeus(fake).cancel_flight_order(order_id)

    (delete,) = [r for r in fake.requests if r.method == "DELETE"]
    assert delete.url.raw_path == f"/v1/booking/flight-orders/{order_id}".encode()


async def test_cancelling_an_order_amadeus_does_not_know_is_a_sentence(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    fake = FakeAmadeus(
        {f"DELETE /v1/booking/flight-orders/{ORDER_ID}": [reply("error-404-hotel-list.json", 404)]}
    )

    with pytest.raises(ProviderError) as raised:
        await amadeus(fake).cancel_flight_order(ORDER_ID)

    assert raised.value.message == (
        "Amadeus could not find this flight order to cancel; it may have been cancelled already."
    )


async def test_a_hotel_room_is_priced_again_by_its_offer_id(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = await found_hotel(amadeus)
    fake = FakeAmadeus({HOTEL_OFFER: [reply("hotel-search-v3-hotel-offer-by-id-response.json")]})

    current = await amadeus(fake).reprice_hotel(offer)

    token, request = fake.requests
    assert token.url.path == TOKEN_PATH
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert dict(request.url.params) == {}
    assert current is not None
    assert (current.id, current.provider, current.hotel_id) == ("TSXOJ6LFQ2", "amadeus", "MCLONGHM")
    # The hotel as the search described it; the room as Amadeus sells it now.
    assert current.name == "JW Marriott Grosvenor House London"
    assert current.room_type == "Room with 1 double bed"
    assert current.board is Board.ROOM_ONLY
    assert (current.check_in, current.check_out) == (date(2023, 11, 22), date(2023, 11, 23))
    assert (current.total_price, current.nightly_price, current.currency) == (
        Decimal("716.00"),
        Decimal("716.00"),
        "GBP",
    )
    assert current.free_cancellation_until is None  # "NON-REFUNDABLE RATE"
    assert current.search == NICE
    assert current.provider_data == {"offer_id": "TSXOJ6LFQ2"}


async def test_a_hotel_price_that_moved_is_reported_as_amadeus_sells_it_now(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = await found_hotel(amadeus)
    dearer = payload("hotel-search-v3-hotel-offer-by-id-response.json")  # variant: dearer
    dearer["data"]["offers"][0]["price"]["total"] = "802.00"
    fake = FakeAmadeus({HOTEL_OFFER: [ok(dearer)]})

    current = await amadeus(fake).reprice_hotel(offer)

    assert current is not None
    assert (offer.total_price, current.total_price) == (Decimal("716.00"), Decimal("802.00"))
    assert current.nightly_price == Decimal("802.00")


def unavailable() -> httpx.Response:
    body = payload("hotel-search-v3-hotel-offer-by-id-response.json")  # variant: sold out
    body["data"]["available"] = False
    return ok(body)


@pytest.mark.parametrize(
    "answer",
    [
        reply("error-404-hotel-list.json", 404),
        amadeus_error(400, 3664, "NO ROOMS AVAILABLE AT REQUESTED PROPERTY"),
        unavailable(),
    ],
    ids=["not-found", "no-rooms", "unavailable"],
)
async def test_a_room_amadeus_no_longer_sells_reprices_to_none(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider], answer: httpx.Response
) -> None:
    offer = await found_hotel(amadeus)

    assert await amadeus(FakeAmadeus({HOTEL_OFFER: [answer]})).reprice_hotel(offer) is None


async def test_hotel_rooms_cannot_be_booked_through_amadeus_yet(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    offer = await found_hotel(amadeus)
    fake = FakeAmadeus({})
    provider = amadeus(fake)
    sentence = (
        "Booking hotels through Amadeus is not available yet; please choose a hotel from another"
        " provider, or book this one directly with the hotel."
    )

    with pytest.raises(ProviderError) as ordering:
        await provider.order_hotel(offer, travellers=[JORGE], contact=CONTACT, idempotency_key=KEY)
    with pytest.raises(ProviderError) as cancelling:
        await provider.cancel_hotel_order("any")

    assert ordering.value.message == cancelling.value.message == sentence
    assert fake.requests == []


async def test_no_personal_data_or_secret_reaches_the_logs(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    offer = await repriced_flight(amadeus)
    fake = FakeAmadeus(
        {
            ORDERS: [
                httpx.Response(500),
                reply("error-400-flight-offers-search.json", 400),
                reply("flight-create-orders-response.json", 201),
            ],
            f"DELETE /v1/booking/flight-orders/{ORDER_ID}": [httpx.Response(204)],
        }
    )
    provider = amadeus(fake)
    undated = ADRIANA.model_copy(update={"born_on": None})
    for travellers in ([JORGE, ADRIANA], [JORGE, ADRIANA], [JORGE, ADRIANA], [JORGE, undated]):
        with contextlib.suppress(ProviderError):
            await provider.order_flight(
                offer, travellers=travellers, contact=CONTACT, idempotency_key=KEY
            )
    await provider.cancel_flight_order(ORDER_ID)

    assert ORDER_ID in caplog.text  # the log does tell what happened
    for secret in (CLIENT_SECRET, TOKEN):
        assert secret not in caplog.text
    for detail in PERSONAL:
        assert detail not in caplog.text


# Looking an order up: how the reconciler asks Amadeus about a booking a crash left unsettled.
async def test_an_order_is_looked_up_by_its_id(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    # Flight Order Management answers GET with the flight-order document the create returned.
    route = f"GET /v1/booking/flight-orders/{ORDER_ID}"
    fake = FakeAmadeus({route: [reply("flight-create-orders-response.json")]})

    found = await amadeus(fake).find_flight_order(
        offer_id="1", idempotency_key="key-0001:0", order_id=ORDER_ID
    )

    assert found == PlacedOrder(order_id=ORDER_ID, provider_reference="2ZYVAL")
    assert len(fake.calls(route)) == 1


async def test_an_order_amadeus_does_not_know_is_no_order(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    route = f"GET /v1/booking/flight-orders/{ORDER_ID}"
    fake = FakeAmadeus({route: [reply("error-404-hotel-list.json", 404)]})

    found = await amadeus(fake).find_flight_order(
        offer_id="1", idempotency_key="key-0001:0", order_id=ORDER_ID
    )

    assert found is None


async def test_an_order_whose_id_never_arrived_cannot_be_found_by_our_key(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    fake = FakeAmadeus({})

    with pytest.raises(ProviderError, match="cannot look an order up by our key"):
        await amadeus(fake).find_flight_order(
            offer_id="1", idempotency_key="key-0001:0", order_id=None
        )
    assert fake.requests == []


async def test_no_amadeus_hotel_order_can_exist(
    amadeus: Callable[[FakeAmadeus], AmadeusProvider],
) -> None:
    found = await amadeus(FakeAmadeus({})).find_hotel_order(
        offer_id="OFFER1", idempotency_key="key-0001:0", order_id=None
    )

    assert found is None
