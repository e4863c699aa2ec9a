"""Duffel's published offer requests become our FlightOffers; its failures become sentences."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from db.models.enums import Cabin
from tools.errors import InvalidSearch, ProviderError, ProviderUnavailable
from tools.offers import FareConditions, FlightOffer
from tools.providers.base import FlightProvider
from tools.providers.duffel import DuffelProvider
from tools.providers.http import CredentialsRefused, Resilience
from tools.queries import FlightQuery

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "duffel"
TOKEN = "duffel_test_k3y"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FAST = Resilience(max_attempts=3, backoff_initial=0.01, jitter=0.0, failure_threshold=2)
LONDON_TO_NEW_YORK = FlightQuery(origin="LHR", destination="JFK", departure_date=date(2020, 6, 13))
LONDON_TO_STUTTGART = FlightQuery(origin="LHR", destination="STR", departure_date=date(2022, 6, 15))

Handler = Callable[[httpx.Request], httpx.Response]


def payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def reply(name: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload(name), headers=headers)


class Script:
    """A fake Duffel answering from a list of replies (the last one repeats)."""

    def __init__(self, *replies: httpx.Response | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
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


@pytest.fixture
async def duffel(waits: Waits) -> AsyncIterator[Callable[..., DuffelProvider]]:
    """DuffelProviders whose httpx client is served by a handler, never by the network."""
    clients: list[httpx.AsyncClient] = []

    def make(handler: Handler, **options: Any) -> DuffelProvider:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        clients.append(client)
        options.setdefault("resilience", FAST)
        return DuffelProvider(
            access_token=TOKEN, client=client, sleep=waits, now=lambda: NOW, **options
        )

    yield make
    for client in clients:
        await client.aclose()


def segment_ends(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        segment[end]
        for offer in body["data"]["offers"]
        for piece in offer["slices"]
        for segment in piece["segments"]
        for end in ("origin", "destination")
    ]


def test_it_is_a_flight_provider() -> None:
    provider: FlightProvider = DuffelProvider(access_token=TOKEN, client=httpx.AsyncClient())
    assert provider.name == "duffel"


def test_it_refuses_to_start_without_a_token() -> None:
    with pytest.raises(ValueError, match="access token"):
        DuffelProvider(access_token="", client=httpx.AsyncClient())


async def test_the_offer_request_duffel_receives(duffel: Callable[..., DuffelProvider]) -> None:
    script = Script(reply("python/create-offer-request.json"))
    query = FlightQuery(
        origin="lhr",
        destination="JFK",
        departure_date=date(2025, 6, 13),
        return_date=date(2025, 6, 20),
        adults=2,
        children=1,
        infants=1,
        cabin=Cabin.BUSINESS,
    )

    await duffel(script).search_flights(query)

    (request,) = script.requests
    assert request.method == "POST"
    assert request.url.host == "api.duffel.com"
    assert request.url.path == "/air/offer_requests"
    assert request.url.params["return_offers"] == "true"
    assert request.url.params["supplier_timeout"] == "8000"  # two seconds under our 10 s
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Duffel-Version"] == "v2"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "data": {
            "slices": [
                {"origin": "LHR", "destination": "JFK", "departure_date": "2025-06-13"},
                {"origin": "JFK", "destination": "LHR", "departure_date": "2025-06-20"},
            ],
            "passengers": [
                {"type": "adult"},
                {"type": "adult"},
                {"age": 8},
                {"type": "infant_without_seat"},
            ],
            "cabin_class": "business",
        }
    }


async def test_a_one_way_search_sends_one_slice_to_the_configured_base_url(
    duffel: Callable[..., DuffelProvider],
) -> None:
    script = Script(reply("python/create-offer-request.json"))

    await duffel(script, base_url="https://duffel.internal/").search_flights(LONDON_TO_NEW_YORK)

    (request,) = script.requests
    assert str(request.url).startswith("https://duffel.internal/air/offer_requests?")
    body = json.loads(request.content)["data"]
    assert body["slices"] == [
        {"origin": "LHR", "destination": "JFK", "departure_date": "2020-06-13"}
    ]
    assert body["passengers"] == [{"type": "adult"}]
    assert body["cabin_class"] == "economy"


async def test_the_python_example_maps_into_one_offer(
    duffel: Callable[..., DuffelProvider],
) -> None:
    script = Script(reply("python/create-offer-request.json"))

    (offer,) = await duffel(script).search_flights(LONDON_TO_NEW_YORK)

    assert offer.id == "off_00009htYpSCXrwaB9DnUm0"
    assert offer.provider == "duffel"
    assert (offer.total_price, offer.currency) == (Decimal("45.00"), "GBP")
    assert offer.expires_at == datetime(2020, 1, 17, 10, 42, 14, 545000, tzinfo=UTC)
    assert (offer.cabin, offer.passengers, offer.seats_left) == (Cabin.ECONOMY, 1, None)
    assert offer.conditions == FareConditions(
        refundable=True, change_fee=Decimal("100.00"), cancellation_fee=Decimal("100.00")
    )
    (journey,) = offer.journeys
    (segment,) = journey.segments
    assert (journey.stops, journey.duration_minutes) == (0, 146)  # PT02H26M
    assert (segment.carrier_code, segment.carrier_name) == ("BA", "British Airways")
    assert segment.flight_number == "BA1234"
    assert (segment.origin, segment.destination) == ("LHR", "JFK")
    assert segment.aircraft == "Airbus Industries A380"
    assert segment.duration_minutes == 146
    # The fixture's departing_at equals its arriving_at; each is local to its own airport.
    assert segment.departure == datetime(2020, 6, 13, 16, 38, 2, tzinfo=ZoneInfo("Europe/London"))
    assert segment.departure.utcoffset() == timedelta(hours=1)
    assert segment.arrival == datetime(2020, 6, 13, 16, 38, 2, tzinfo=ZoneInfo("America/New_York"))
    assert segment.arrival.utcoffset() == timedelta(hours=-4)


async def test_the_java_example_maps_all_eleven_offers(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offers = await duffel(Script(reply("java/offer_request.json"))).search_flights(
        LONDON_TO_STUTTGART
    )

    assert len(offers) == 11
    assert {o.carriers for o in offers} == {"British Airways", "Eurowings", "Duffel Airways"}
    assert sorted(o.total_price for o in offers)[:3] == [
        Decimal("80.99"),
        Decimal("80.99"),
        Decimal("98.42"),
    ]
    assert {o.currency for o in offers} == {"GBP"}
    assert all(o.stops == 0 and o.cabin is Cabin.ECONOMY for o in offers)

    by_id = {o.id: o for o in offers}
    ba = by_id["off_0000AJySzfAebZOfc24O4e"].journeys[0].segments[0]
    assert ba.flight_number == "BA920"
    assert ba.departure.isoformat() == "2022-06-15T17:40:00+01:00"
    assert ba.arrival.isoformat() == "2022-06-15T20:20:00+02:00"
    assert ba.duration_minutes == 100 == (ba.arrival - ba.departure) / timedelta(minutes=1)
    assert ba.aircraft == "Airbus A319"
    assert by_id["off_0000AJySzfAebZOfc24O4e"].conditions == FareConditions(refundable=False)

    duffel_airways = by_id["off_0000AJySzYlyOQ5blkTam4"]
    overnight = duffel_airways.journeys[0].segments[0]
    assert overnight.flight_number == "ZZ5619"
    assert overnight.departure.isoformat() == "2022-06-15T23:00:00+01:00"
    assert overnight.arrival.isoformat() == "2022-06-16T00:43:00+02:00"
    assert duffel_airways.duration_minutes == 103
    assert duffel_airways.total_price == Decimal("178.02")
    assert duffel_airways.expires_at == datetime(2022, 5, 30, 10, 30, 14, 558906, tzinfo=UTC)
    assert duffel_airways.conditions == FareConditions(
        refundable=False, change_fee=Decimal("30.00"), cancellation_fee=None
    )


async def test_missing_time_zones_come_from_airportsdata(
    duffel: Callable[..., DuffelProvider],
) -> None:
    body = payload("java/offer_request.json")  # a variant made here: no time_zone anywhere
    for place in segment_ends(body):
        del place["time_zone"]

    offers = await duffel(Script(httpx.Response(200, json=body))).search_flights(
        LONDON_TO_STUTTGART
    )

    segment = offers[0].journeys[0].segments[0]
    assert segment.departure.isoformat() == "2022-06-15T17:40:00+01:00"
    assert segment.arrival.isoformat() == "2022-06-15T20:20:00+02:00"
    assert str(segment.departure.tzinfo) == "Europe/London"
    assert str(segment.arrival.tzinfo) == "Europe/Berlin"


async def test_an_offer_at_an_airport_without_known_time_zone_is_skipped(
    duffel: Callable[..., DuffelProvider], caplog: pytest.LogCaptureFixture
) -> None:
    body = payload("java/offer_request.json")  # variant: the first offer loses its zones
    for segment in body["data"]["offers"][0]["slices"][0]["segments"]:
        segment["origin"]["time_zone"] = None

    offers = await duffel(
        Script(httpx.Response(200, json=body)), airport_time_zones={}
    ).search_flights(LONDON_TO_STUTTGART)

    assert len(offers) == 10
    assert "off_0000AJySzfAebZOfc24O4e" not in {o.id for o in offers}
    assert "no time zone is known for LHR" in caplog.text


async def test_changes_allowed_at_an_unknown_fee_are_not_promised_as_free(
    duffel: Callable[..., DuffelProvider],
) -> None:
    body = payload("python/create-offer-request.json")  # variant: penalty amounts unknown
    conditions = body["data"]["offers"][0]["conditions"]
    conditions["change_before_departure"]["penalty_amount"] = None
    conditions["refund_before_departure"]["penalty_currency"] = "USD"

    (offer,) = await duffel(Script(httpx.Response(200, json=body))).search_flights(
        LONDON_TO_NEW_YORK
    )

    assert offer.conditions == FareConditions(refundable=True)


async def test_partial_offers_are_left_out_and_no_offers_is_an_empty_list(
    duffel: Callable[..., DuffelProvider],
) -> None:
    partial = payload("python/create-offer-request.json")
    partial["data"]["offers"][0]["partial"] = True
    empty = payload("python/create-offer-request.json")
    empty["data"]["offers"] = []
    provider = duffel(Script(httpx.Response(200, json=partial), httpx.Response(200, json=empty)))

    assert await provider.search_flights(LONDON_TO_NEW_YORK) == []
    assert await provider.search_flights(LONDON_TO_NEW_YORK) == []


async def test_an_offer_without_expiry_lives_twenty_minutes(
    duffel: Callable[..., DuffelProvider],
) -> None:
    body = payload("python/create-offer-request.json")
    del body["data"]["offers"][0]["expires_at"]

    (offer,) = await duffel(Script(httpx.Response(200, json=body))).search_flights(
        LONDON_TO_NEW_YORK
    )

    assert offer.expires_at == NOW + timedelta(minutes=20)


async def test_429_then_success_waits_until_the_rate_limit_resets(
    duffel: Callable[..., DuffelProvider], waits: Waits
) -> None:
    reset = {"ratelimit-reset": "Wed, 01 May 2024 12:00:02 GMT"}
    script = Script(
        reply("java/exceptions/429_rate_limit.json", 429, reset),
        reply("python/create-offer-request.json"),
    )

    offers = await duffel(script).search_flights(LONDON_TO_NEW_YORK)

    assert [o.id for o in offers] == ["off_00009htYpSCXrwaB9DnUm0"]
    assert len(script.requests) == 2
    assert waits.delays == [2.0]


async def test_repeated_airline_errors_give_up_after_the_configured_attempts(
    duffel: Callable[..., DuffelProvider], waits: Waits
) -> None:
    script = Script(reply("java/exceptions/500_airline_internal.json", 500))

    with pytest.raises(ProviderUnavailable) as raised:
        await duffel(script).search_flights(LONDON_TO_NEW_YORK)

    assert (
        raised.value.message == "Duffel is not answering right now; please try again in a minute."
    )
    assert len(script.requests) == 3
    assert waits.delays == pytest.approx([0.01, 0.02])


async def test_timeouts_give_up_with_a_sentence(duffel: Callable[..., DuffelProvider]) -> None:
    script = Script(httpx.ReadTimeout("timed out"))

    with pytest.raises(ProviderUnavailable, match=r"^Duffel is taking too long to answer"):
        await duffel(script).search_flights(LONDON_TO_NEW_YORK)

    assert len(script.requests) == 3


async def test_a_validation_error_is_an_invalid_search_in_duffels_words(
    duffel: Callable[..., DuffelProvider],
) -> None:
    script = Script(reply("java/exceptions/422_validation_error.json", 422))

    with pytest.raises(InvalidSearch) as raised:
        await duffel(script).search_flights(LONDON_TO_NEW_YORK)

    assert raised.value.message == "Duffel refused the search: Field 'slices' can't be blank."
    assert len(script.requests) == 1


async def test_a_refused_token_is_a_provider_error(duffel: Callable[..., DuffelProvider]) -> None:
    script = Script(reply("ruby/authentication_error.json", 401))

    with pytest.raises(CredentialsRefused) as raised:
        await duffel(script).search_flights(LONDON_TO_NEW_YORK)

    assert isinstance(raised.value, ProviderError)
    assert raised.value.message.startswith("Duffel refused the travel hub's credentials")
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>Service Unavailable</html>"),
        httpx.Response(200, json={"data": "no offers here"}),
        httpx.Response(200, json={"errors": []}),
    ],
)
async def test_a_reply_that_is_not_an_offer_request_is_a_provider_error(
    duffel: Callable[..., DuffelProvider], answer: httpx.Response
) -> None:
    with pytest.raises(ProviderError) as raised:
        await duffel(Script(answer)).search_flights(LONDON_TO_NEW_YORK)

    assert not isinstance(raised.value, ProviderUnavailable)
    assert raised.value.message == (
        "Duffel sent a reply I could not read; please try again in a little while."
    )


async def test_offers_that_are_all_unreadable_are_a_provider_error(
    duffel: Callable[..., DuffelProvider],
) -> None:
    body = payload("python/create-offer-request.json")
    body["data"]["offers"][0]["total_amount"] = "forty-five"

    with pytest.raises(ProviderError, match=r"^Duffel sent flight offers I could not read"):
        await duffel(Script(httpx.Response(200, json=body))).search_flights(LONDON_TO_NEW_YORK)


async def test_the_circuit_opens_after_failed_searches_and_refuses_without_calling(
    duffel: Callable[..., DuffelProvider],
) -> None:
    script = Script(httpx.Response(503))
    provider = duffel(script, resilience=Resilience(max_attempts=1, failure_threshold=2))

    for _ in range(2):
        with pytest.raises(ProviderUnavailable, match="not answering"):
            await provider.search_flights(LONDON_TO_NEW_YORK)
    with pytest.raises(ProviderUnavailable, match="unavailable for the moment"):
        await provider.search_flights(LONDON_TO_NEW_YORK)

    assert len(script.requests) == 2


async def test_mixed_cabins_are_offered_as_the_lowest(
    duffel: Callable[..., DuffelProvider],
) -> None:
    body = payload("python/create-offer-request.json")  # variant: a business connection added
    piece = body["data"]["offers"][0]["slices"][0]
    onward = copy.deepcopy(piece["segments"][0])
    onward["passengers"][0]["cabin_class"] = "business"
    piece["segments"][0]["passengers"][0]["cabin_class"] = "premium_economy"
    piece["segments"].append(onward)

    (offer,) = await duffel(Script(httpx.Response(200, json=body))).search_flights(
        LONDON_TO_NEW_YORK
    )

    assert offer.cabin is Cabin.PREMIUM_ECONOMY
    assert offer.stops == 1
    assert isinstance(offer, FlightOffer)


async def test_yen_stay_whole_and_an_amount_finer_than_its_currency_is_skipped(
    duffel: Callable[..., DuffelProvider],
) -> None:
    body = payload("java/offer_request.json")
    first, second = body["data"]["offers"][:2]
    first.update(total_amount="16200.00", total_currency="JPY")
    second.update(total_amount="16200.5", total_currency="JPY")  # no such thing as half a yen
    for offer in (first, second):
        for condition in offer["conditions"].values():
            if condition and condition.get("penalty_amount") is not None:
                condition.update(penalty_amount="5000", penalty_currency="JPY")

    offers = await duffel(Script(httpx.Response(200, json=body))).search_flights(
        LONDON_TO_STUTTGART
    )

    yen = [offer for offer in offers if offer.currency == "JPY"]
    assert [(str(offer.total_price), offer.id) for offer in yen] == [("16200", first["id"])]
    assert len(offers) == len(body["data"]["offers"]) - 1
