"""Duffel orders: an offer priced again, booked once, and cancelled, against Duffel's payloads."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.errors import InvalidSearch, ProviderError, ProviderUnavailable
from tools.offers import FlightOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.base import FlightOrders
from tools.providers.duffel import DuffelProvider
from tools.providers.http import OutcomeUnknown, RejectedRequest, Resilience
from tools.queries import FlightQuery

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "duffel"
TOKEN = "duffel_test_k3y"
OFFER_ID = "off_00009htYpSCXrwaB9DnUm0"
PASSENGER_ID = "pas_00009hj8USM7Ncg31cBCL"
BEFORE_EXPIRY = datetime(2020, 1, 17, 10, 30, tzinfo=UTC)
"""The recorded offers expire at 2020-01-17T10:42:14.545Z."""
FAST = Resilience(max_attempts=3, backoff_initial=0.01, jitter=0.0)
LONDON_TO_NEW_YORK = FlightQuery(origin="LHR", destination="JFK", departure_date=date(2020, 6, 13))
AMELIA = Passenger(given_name="Amelia", family_name="Earhart", born_on=date(1987, 7, 24))
CONTACT = Contact(name="Amelia Earhart", email="amelia@example.com", phone="+44 20 8016 0508")
PERSONAL = (
    "Amelia",
    "Earhart",
    "amelia@example.com",
    "8016 0508",
    "80160508",
    "1987-07-24",
)
KEY = "booking-key-0001:0"

Reply = httpx.Response | Exception


def payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def reply(name: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload(name), headers=headers)


def refusal(code: str, status: int = 422) -> httpx.Response:
    """Duffel's recorded 422, re-coded in memory (the message is kept as recorded)."""
    body = payload("java/exceptions/422_validation_error.json")
    body["errors"][0]["code"] = code
    return httpx.Response(status, json=body)


class FakeDuffel:
    """Duffel's endpoints, each answering from its own script (the last reply repeats)."""

    def __init__(self, routes: dict[str, list[Reply]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        replies = self.routes[f"{request.method} {request.url.path}"]
        answer = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def calls(self, route: str) -> list[httpx.Request]:
        return [r for r in self.requests if f"{r.method} {r.url.path}" == route]


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
    """DuffelProviders served by a FakeDuffel, never by the network."""
    clients: list[httpx.AsyncClient] = []

    def make(fake: FakeDuffel, now: datetime = BEFORE_EXPIRY) -> DuffelProvider:
        client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
        clients.append(client)
        return DuffelProvider(
            access_token=TOKEN, client=client, resilience=FAST, sleep=waits, now=lambda: now
        )

    yield make
    for client in clients:
        await client.aclose()


async def found_offer(make: Callable[..., DuffelProvider]) -> FlightOffer:
    """The offer of Duffel's recorded offer request, as a search hands it to booking."""
    search = FakeDuffel({"POST /air/offer_requests": [reply("python/create-offer-request.json")]})
    (offer,) = await make(search).search_flights(LONDON_TO_NEW_YORK)
    return offer.model_copy(update={"search": LONDON_TO_NEW_YORK})


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_duffel_headers(request: httpx.Request) -> None:
    assert request.url.host == "api.duffel.com"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Duffel-Version"] == "v2"
    assert request.headers["Accept"] == "application/json"
    # Duffel documents no idempotency header for orders, so none is invented.
    assert "Idempotency-Key" not in request.headers


def test_it_is_a_flight_order_desk() -> None:
    orders: FlightOrders = DuffelProvider(access_token=TOKEN, client=httpx.AsyncClient())
    assert orders.name == "duffel"


async def test_a_found_offer_keeps_the_offer_requests_passenger_ids(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = await found_offer(duffel)

    assert offer.provider_data == {"passengers": [{"id": PASSENGER_ID, "type": "adult", "age": 14}]}
    assert FlightOffer.model_validate(offer.model_dump(mode="json")) == offer  # survives a cache


async def test_repricing_asks_duffel_for_the_single_offer(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({f"GET /air/offers/{OFFER_ID}": [reply("python/get-offer-by-id.json")]})

    current = await duffel(fake).reprice_flight(offer)

    (request,) = fake.requests
    assert request.method == "GET"
    assert_duffel_headers(request)
    assert request.content == b""
    assert current is not None
    assert (current.id, current.provider) == (OFFER_ID, "duffel")
    assert (current.total_price, current.currency) == (Decimal("45.00"), "GBP")
    assert current.expires_at == datetime(2020, 1, 17, 10, 42, 14, 545000, tzinfo=UTC)
    assert current.search == LONDON_TO_NEW_YORK
    assert current.journeys == offer.journeys
    assert current.provider_data == {
        "passengers": [{"id": PASSENGER_ID, "type": "adult", "age": 14}]
    }


async def test_a_price_that_moved_is_reported_as_duffel_sells_it_now(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = await found_offer(duffel)
    dearer = payload("python/get-offer-by-id.json")  # variant: the fare went up
    dearer["data"]["total_amount"] = "52.10"
    fake = FakeDuffel({f"GET /air/offers/{OFFER_ID}": [httpx.Response(200, json=dearer)]})

    current = await duffel(fake).reprice_flight(offer)

    assert current is not None
    assert (offer.total_price, current.total_price) == (Decimal("45.00"), Decimal("52.10"))


@pytest.mark.parametrize(
    "answer",
    [
        reply("java/exceptions/404_not_found.json", 404),
        refusal("offer_no_longer_available"),
        refusal("offer_expired"),
    ],
    ids=["unknown", "no-longer-available", "expired"],
)
async def test_an_offer_duffel_no_longer_sells_reprices_to_none(
    duffel: Callable[..., DuffelProvider], answer: httpx.Response
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({f"GET /air/offers/{OFFER_ID}": [answer]})

    assert await duffel(fake).reprice_flight(offer) is None
    assert len(fake.requests) == 1


async def test_an_offer_past_its_expiry_reprices_to_none(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({f"GET /air/offers/{OFFER_ID}": [reply("python/get-offer-by-id.json")]})
    after_expiry = datetime(2020, 1, 17, 10, 43, tzinfo=UTC)

    assert await duffel(fake, now=after_expiry).reprice_flight(offer) is None


async def test_repricing_is_retried_like_any_read(
    duffel: Callable[..., DuffelProvider], waits: Waits
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel(
        {f"GET /air/offers/{OFFER_ID}": [reply("java/exceptions/500_airline_internal.json", 500)]}
    )

    with pytest.raises(ProviderUnavailable, match=r"^Duffel is not answering right now"):
        await duffel(fake).reprice_flight(offer)

    assert len(fake.requests) == 3
    assert waits.delays == pytest.approx([0.01, 0.02])


async def test_the_order_duffel_receives(duffel: Callable[..., DuffelProvider]) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({"POST /air/orders": [reply("python/create-instant-order.json", 201)]})

    placed = await duffel(fake).order_flight(
        offer, travellers=[AMELIA], contact=CONTACT, idempotency_key=KEY
    )

    assert placed == PlacedOrder(order_id="ord_00009hthhsUZ8W4LxQgkjo", provider_reference="RZPNX8")
    (request,) = fake.requests
    assert (request.method, request.url.path) == ("POST", "/air/orders")
    assert_duffel_headers(request)
    assert request.headers["Content-Type"] == "application/json"
    assert sent(request) == {
        "data": {
            "type": "instant",
            "selected_offers": [OFFER_ID],
            "payments": [{"type": "balance", "amount": "45.00", "currency": "GBP"}],
            "passengers": [
                {
                    "id": PASSENGER_ID,
                    "given_name": "Amelia",
                    "family_name": "Earhart",
                    "born_on": "1987-07-24",
                    "email": "amelia@example.com",
                    "phone_number": "+442080160508",
                }
            ],
            "metadata": {"idempotency_key": KEY},
        }
    }


async def test_the_java_order_maps_its_id_and_booking_reference(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({"POST /air/orders": [reply("java/order.json", 201)]})

    placed = await duffel(fake).order_flight(
        offer, travellers=[AMELIA], contact=CONTACT, idempotency_key=KEY
    )

    assert placed == PlacedOrder(order_id="ord_0000AL3E9lRtT7XMqrEHp8", provider_reference="IXK4SC")


async def test_a_family_is_matched_to_duffels_passengers_by_kind(
    duffel: Callable[..., DuffelProvider],
) -> None:
    family = (await found_offer(duffel)).model_copy(  # variant: two adults, a child, an infant
        update={
            "passengers": 4,
            "provider_data": {
                "passengers": [
                    {"id": "pas_adult_1", "type": "adult", "age": None},
                    {"id": "pas_adult_2", "type": "adult", "age": None},
                    {"id": "pas_child", "type": None, "age": 8},
                    {"id": "pas_infant", "type": "infant_without_seat", "age": None},
                ]
            },
        }
    )
    baby = Passenger(given_name="Ann", family_name="Lee", kind="infant", born_on=date(2025, 1, 2))
    kid = Passenger(given_name="Bo", family_name="Lee", kind="child", born_on=date(2017, 3, 4))
    mum = Passenger(given_name="Cy", family_name="Lee", born_on=date(1990, 5, 6))
    dad = Passenger(given_name="Di", family_name="Lee", born_on=date(1989, 7, 8))
    fake = FakeDuffel({"POST /air/orders": [reply("python/create-instant-order.json", 201)]})

    await duffel(fake).order_flight(
        family, travellers=[baby, kid, mum, dad], contact=CONTACT, idempotency_key=KEY
    )

    passengers = sent(fake.requests[0])["data"]["passengers"]
    assert [(p["id"], p["given_name"]) for p in passengers] == [
        ("pas_adult_1", "Cy"),
        ("pas_adult_2", "Di"),
        ("pas_child", "Bo"),
        ("pas_infant", "Ann"),
    ]
    assert passengers[0]["infant_passenger_id"] == "pas_infant"
    assert all("infant_passenger_id" not in p for p in passengers[1:])


async def test_a_missing_birth_date_is_a_sentence_and_nothing_is_sent(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = (await found_offer(duffel)).model_copy(
        update={
            "provider_data": {
                "passengers": [
                    {"id": "pas_1", "type": "adult", "age": None},
                    {"id": "pas_2", "type": "adult", "age": None},
                ]
            }
        }
    )
    fake = FakeDuffel({"POST /air/orders": [reply("python/create-instant-order.json", 201)]})
    undated = Passenger(given_name="Fred", family_name="Noonan")

    with pytest.raises(ProviderError) as raised:
        await duffel(fake).order_flight(
            offer, travellers=[AMELIA, undated], contact=CONTACT, idempotency_key=KEY
        )

    assert raised.value.message == (
        "Duffel needs the date of birth of every traveller to book this flight, and traveller 2"
        " has none; please add it and try again."
    )
    assert not isinstance(raised.value, ProviderUnavailable)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("contact", "travellers", "sentence"),
    [
        (
            CONTACT.model_copy(update={"phone": None}),
            [AMELIA],
            "Duffel needs a contact phone number to book this flight; please add one and try"
            " again.",
        ),
        (
            CONTACT.model_copy(update={"phone": "020 8016 0508"}),
            [AMELIA],
            "Duffel needs the contact phone number in international format, such as"
            " +44 20 7946 0000; please correct it and try again.",
        ),
        (
            CONTACT,
            [AMELIA.model_copy(update={"family_name": ""})],
            "Duffel needs the family name of every traveller to book this flight, and traveller"
            " 1 has none; please add it and try again.",
        ),
        (
            CONTACT,
            [AMELIA, AMELIA.model_copy(update={"kind": "child"})],
            "This flight was priced for 1 adult, but the booking names 1 adult and 1 child;"
            " please search again for this party.",
        ),
    ],
    ids=["no-phone", "national-phone", "no-family-name", "other-party"],
)
async def test_what_duffel_would_refuse_is_refused_first_in_a_sentence(
    duffel: Callable[..., DuffelProvider],
    contact: Contact,
    travellers: list[Passenger],
    sentence: str,
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({"POST /air/orders": [reply("python/create-instant-order.json", 201)]})

    with pytest.raises(ProviderError) as raised:
        await duffel(fake).order_flight(
            offer, travellers=travellers, contact=contact, idempotency_key=KEY
        )

    assert raised.value.message == sentence
    assert fake.requests == []


async def test_a_phone_dialled_with_00_is_sent_in_e164(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({"POST /air/orders": [reply("python/create-instant-order.json", 201)]})
    contact = CONTACT.model_copy(update={"phone": "0044 (20) 8016-0508"})

    await duffel(fake).order_flight(
        offer, travellers=[AMELIA], contact=contact, idempotency_key=KEY
    )

    assert sent(fake.requests[0])["data"]["passengers"][0]["phone_number"] == "+442080160508"


async def test_an_offer_found_without_its_passengers_asks_for_a_new_search(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = (await found_offer(duffel)).model_copy(update={"provider_data": {}})
    fake = FakeDuffel({"POST /air/orders": [reply("python/create-instant-order.json", 201)]})

    with pytest.raises(ProviderError, match=r"^This Duffel offer cannot be booked as it was"):
        await duffel(fake).order_flight(
            offer, travellers=[AMELIA], contact=CONTACT, idempotency_key=KEY
        )
    assert fake.requests == []


@pytest.mark.parametrize(
    "failure",
    [
        reply("java/exceptions/500_airline_internal.json", 500),
        httpx.Response(503),
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("connection dropped"),
    ],
    ids=["500", "503", "read-timeout", "dropped"],
)
async def test_an_order_that_may_have_gone_through_is_never_sent_twice(
    duffel: Callable[..., DuffelProvider], waits: Waits, failure: Reply
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({"POST /air/orders": [failure, reply("python/create-instant-order.json")]})

    with pytest.raises(ProviderUnavailable) as raised:
        await duffel(fake).order_flight(
            offer, travellers=[AMELIA], contact=CONTACT, idempotency_key=KEY
        )

    assert isinstance(raised.value, OutcomeUnknown)
    assert raised.value.message == (
        "Duffel did not confirm whether the order went through; please do not try again until"
        " it has been checked, so that nothing is booked twice."
    )
    assert len(fake.requests) == 1
    assert waits.delays == []


@pytest.mark.parametrize(
    "refused",
    [
        reply("java/exceptions/429_rate_limit.json", 429, {"retry-after": "1"}),
        httpx.ConnectError("connection refused"),
    ],
    ids=["rate-limited", "never-connected"],
)
async def test_an_order_duffel_never_processed_is_retried(
    duffel: Callable[..., DuffelProvider], refused: Reply
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({"POST /air/orders": [refused, reply("python/create-instant-order.json")]})

    placed = await duffel(fake).order_flight(
        offer, travellers=[AMELIA], contact=CONTACT, idempotency_key=KEY
    )

    assert placed.order_id == "ord_00009hthhsUZ8W4LxQgkjo"
    assert len(fake.requests) == 2
    assert sent(fake.requests[0]) == sent(fake.requests[1])


async def test_an_order_never_processed_gives_up_after_the_configured_attempts(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({"POST /air/orders": [httpx.ConnectError("connection refused")]})

    with pytest.raises(ProviderUnavailable) as raised:
        await duffel(fake).order_flight(
            offer, travellers=[AMELIA], contact=CONTACT, idempotency_key=KEY
        )

    assert not isinstance(raised.value, OutcomeUnknown)
    assert raised.value.message == (
        "Duffel is not answering right now; please try again in a minute."
    )
    assert len(fake.requests) == 3


async def test_order_not_created_is_a_plain_failure(duffel: Callable[..., DuffelProvider]) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({"POST /air/orders": [refusal("order_not_created", 502)]})

    with pytest.raises(ProviderError) as raised:
        await duffel(fake).order_flight(
            offer, travellers=[AMELIA], contact=CONTACT, idempotency_key=KEY
        )

    assert not isinstance(raised.value, ProviderUnavailable)
    assert raised.value.message == (
        "The airline could not create the order through Duffel; nothing was booked or charged."
    )
    assert len(fake.requests) == 1


async def test_a_refused_order_is_a_provider_error_in_duffels_words(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel(
        {"POST /air/orders": [reply("java/exceptions/422_validation_error.json", 422)]}
    )

    with pytest.raises(RejectedRequest) as raised:
        await duffel(fake).order_flight(
            offer, travellers=[AMELIA], contact=CONTACT, idempotency_key=KEY
        )

    assert isinstance(raised.value, ProviderError)
    assert not isinstance(raised.value, InvalidSearch)
    assert raised.value.message == "Duffel refused the order: Field 'slices' can't be blank."
    assert len(fake.requests) == 1


async def test_an_unreadable_order_reply_is_not_taken_for_a_failure(
    duffel: Callable[..., DuffelProvider],
) -> None:
    offer = await found_offer(duffel)
    fake = FakeDuffel({"POST /air/orders": [httpx.Response(201, json={"data": {"status": "?"}})]})

    with pytest.raises(OutcomeUnknown, match="did not confirm whether the order went through"):
        await duffel(fake).order_flight(
            offer, travellers=[AMELIA], contact=CONTACT, idempotency_key=KEY
        )


async def test_cancelling_creates_then_confirms_an_order_cancellation(
    duffel: Callable[..., DuffelProvider],
) -> None:
    order_id = "ord_0000ALiAP5a6cdSZ7Z8Lev"
    confirm = "POST /air/order_cancellations/ore_0000ALkeIxcuQPCDKjE1r7/actions/confirm"
    fake = FakeDuffel(
        {
            "POST /air/order_cancellations": [reply("java/order_cancellation.json", 201)],
            confirm: [reply("java/order_cancellation_confirmed.json")],
        }
    )

    await duffel(fake).cancel_flight_order(order_id)

    quote, confirmation = fake.requests
    assert (quote.method, quote.url.path) == ("POST", "/air/order_cancellations")
    assert_duffel_headers(quote)
    assert sent(quote) == {"data": {"order_id": order_id}}
    assert f"{confirmation.method} {confirmation.url.path}" == confirm
    assert_duffel_headers(confirmation)
    assert confirmation.content == b""


async def test_a_cancellation_already_confirmed_is_not_confirmed_again(
    duffel: Callable[..., DuffelProvider],
) -> None:
    # Duffel's Python example of the create reply already carries `confirmed_at`.
    fake = FakeDuffel(
        {"POST /air/order_cancellations": [reply("python/create-order-cancellation.json", 201)]}
    )

    await duffel(fake).cancel_flight_order("ord_00009hthhsUZ8W4LxQgkjo")

    assert len(fake.requests) == 1


async def test_a_cancellation_left_unconfirmed_is_a_sentence(
    duffel: Callable[..., DuffelProvider],
) -> None:
    confirm = "POST /air/order_cancellations/ore_0000ALkeIxcuQPCDKjE1r7/actions/confirm"
    fake = FakeDuffel(
        {
            "POST /air/order_cancellations": [reply("java/order_cancellation.json", 201)],
            confirm: [reply("java/order_cancellation.json")],
        }
    )

    with pytest.raises(ProviderError) as raised:
        await duffel(fake).cancel_flight_order("ord_0000ALiAP5a6cdSZ7Z8Lev")

    assert raised.value.message == (
        "Duffel did not confirm the cancellation; please try again in a little while."
    )


async def test_a_refused_cancellation_is_a_provider_error_in_duffels_words(
    duffel: Callable[..., DuffelProvider],
) -> None:
    fake = FakeDuffel({"POST /air/order_cancellations": [refusal("order_not_cancellable")]})

    with pytest.raises(RejectedRequest) as raised:
        await duffel(fake).cancel_flight_order("ord_0000ALiAP5a6cdSZ7Z8Lev")

    assert raised.value.message == (
        "Duffel refused the cancellation: Field 'slices' can't be blank."
    )
    assert raised.value.code == "order_not_cancellable"


async def test_no_personal_data_reaches_the_logs(
    duffel: Callable[..., DuffelProvider], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    offer = await found_offer(duffel)
    fake = FakeDuffel(
        {
            "POST /air/orders": [
                httpx.Response(500),
                reply("java/exceptions/422_validation_error.json", 422),
                reply("python/create-instant-order.json", 201),
            ]
        }
    )
    provider = duffel(fake)
    undated = AMELIA.model_copy(update={"born_on": None})
    for traveller in (AMELIA, AMELIA, AMELIA, undated):
        with contextlib.suppress(ProviderError):
            await provider.order_flight(
                offer, travellers=[traveller], contact=CONTACT, idempotency_key=KEY
            )

    assert "ord_00009hthhsUZ8W4LxQgkjo" in caplog.text  # the log does tell what happened
    assert TOKEN not in caplog.text
    for detail in PERSONAL:
        assert detail not in caplog.text


# Looking an order up: how the reconciler asks Duffel about a booking a crash left unsettled.
LIVE_ORDER = "ord_0000AL3E9lRtT7XMqrEHp8"  # java/order.json, booking reference IXK4SC
CANCELLED_ORDER = "ord_00009hthhsUZ8W4LxQgkjo"  # python/get-order-by-id.json: cancelled_at set


def order_list(*orders: dict[str, Any], after: str | None) -> httpx.Response:
    """A "List orders" page (Duffel's list envelope around recorded order objects)."""
    return httpx.Response(
        200, json={"meta": {"limit": 200, "after": after, "before": None}, "data": list(orders)}
    )


def recorded_order(name: str, **changes: Any) -> dict[str, Any]:
    return {**payload(name)["data"], **changes}


async def test_an_order_is_looked_up_by_its_id_when_known(
    duffel: Callable[..., DuffelProvider],
) -> None:
    fake = FakeDuffel({f"GET /air/orders/{LIVE_ORDER}": [reply("java/order.json")]})

    found = await duffel(fake).find_flight_order(
        offer_id=OFFER_ID, idempotency_key=KEY, order_id=LIVE_ORDER
    )

    assert found == PlacedOrder(order_id=LIVE_ORDER, provider_reference="IXK4SC")
    (request,) = fake.requests
    assert_duffel_headers(request)


async def test_a_cancelled_or_unknown_order_is_no_order(
    duffel: Callable[..., DuffelProvider],
) -> None:
    route = f"GET /air/orders/{CANCELLED_ORDER}"
    gone = reply("java/exceptions/404_not_found.json", status=404)
    fake = FakeDuffel({route: [reply("python/get-order-by-id.json"), gone]})
    provider = duffel(fake)

    for _ in range(2):
        assert (
            await provider.find_flight_order(
                offer_id=OFFER_ID, idempotency_key=KEY, order_id=CANCELLED_ORDER
            )
            is None
        )


async def test_an_order_whose_id_never_arrived_is_found_by_the_key_in_its_metadata(
    duffel: Callable[..., DuffelProvider],
) -> None:
    # Someone else's order (its recorded metadata), then ours (metadata set in memory).
    other = recorded_order("python/get-order-by-id.json")
    ours = recorded_order("java/order.json", metadata={"idempotency_key": KEY})
    fake = FakeDuffel(
        {"GET /air/orders": [order_list(other, after="g2wAAAACbQ"), order_list(ours, after=None)]}
    )

    found = await duffel(fake).find_flight_order(
        offer_id=OFFER_ID, idempotency_key=KEY, order_id=None
    )

    assert found == PlacedOrder(order_id=LIVE_ORDER, provider_reference="IXK4SC")
    first, second = fake.calls("GET /air/orders")
    assert dict(first.url.params) == {"limit": "200"}
    assert dict(second.url.params) == {"limit": "200", "after": "g2wAAAACbQ"}


async def test_no_order_under_the_key_after_the_last_page_is_no_order(
    duffel: Callable[..., DuffelProvider],
) -> None:
    someone_elses = recorded_order("java/order.json", metadata={"idempotency_key": "other:0"})
    fake = FakeDuffel({"GET /air/orders": [order_list(someone_elses, after=None)]})

    assert (
        await duffel(fake).find_flight_order(offer_id=OFFER_ID, idempotency_key=KEY, order_id=None)
        is None
    )


async def test_an_order_list_it_cannot_read_is_a_provider_error(
    duffel: Callable[..., DuffelProvider],
) -> None:
    fake = FakeDuffel({"GET /air/orders": [httpx.Response(200, json={"data": "nope"})]})

    with pytest.raises(ProviderError):
        await duffel(fake).find_flight_order(offer_id=OFFER_ID, idempotency_key=KEY, order_id=None)
