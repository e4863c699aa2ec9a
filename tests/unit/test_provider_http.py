"""The resilient HTTP layer retries what deserves it, gives up in one sentence, and breaks."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.errors import InvalidSearch, ProviderError, ProviderUnavailable
from tools.providers.http import (
    BreakerState,
    CircuitBreaker,
    CredentialsRefused,
    NotFound,
    RejectedSearch,
    Resilience,
    ResilientClient,
    UnreadableReply,
    retry_after_seconds,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
FAST = Resilience(timeout=7.0, max_attempts=3, backoff_initial=0.1, jitter=0.0, cooldown=30.0)

Reply = httpx.Response | Exception
Handler = Callable[[httpx.Request], httpx.Response]


def payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Script:
    """A fake provider answering from a list of replies (the last one repeats)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply


class Waits:
    """The injected sleep: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[Handler], httpx.AsyncClient]]:
    """httpx clients whose transport is a handler (the real client code runs, no network)."""
    made: list[httpx.AsyncClient] = []

    def make(handler: Handler) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def build(
    connect: Callable[[Handler], httpx.AsyncClient], waits: Waits, clock: Clock
) -> Callable[..., ResilientClient]:
    def make(handler: Handler, resilience: Resilience = FAST) -> ResilientClient:
        return ResilientClient(
            client=connect(handler),
            provider="Duffel",
            base_url="https://api.example.test/",
            resilience=resilience,
            sleep=waits,
            clock=clock,
            now=lambda: NOW,
        )

    return make


def state_of(http: ResilientClient) -> BreakerState:
    return http.breaker.state  # a call, so mypy does not narrow it between assertions


def ok(body: object = None) -> httpx.Response:
    return httpx.Response(200, json={"data": []} if body is None else body)


def error(status: int, name: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload(name), headers=headers)


async def test_a_reply_is_decoded_and_the_request_sent_as_given(
    build: Callable[..., ResilientClient],
) -> None:
    script = Script(ok({"data": {"id": "orq_1"}}))
    http = build(script)

    reply = await http.request_json(
        "POST",
        "/air/offer_requests",
        headers={"Authorization": "Bearer t0ken"},
        params={"return_offers": "true", "supplier_timeout": 5000},
        json={"data": {"cabin_class": "economy"}},
    )

    assert reply == {"data": {"id": "orq_1"}}
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == (
        "https://api.example.test/air/offer_requests?return_offers=true&supplier_timeout=5000"
    )
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert json.loads(request.content) == {"data": {"cabin_class": "economy"}}
    assert request.extensions["timeout"] == {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}


async def test_a_form_body_is_sent_url_encoded(build: Callable[..., ResilientClient]) -> None:
    script = Script(ok({"access_token": "x"}))
    await build(script).request_json("POST", "/token", form={"grant_type": "client_credentials"})
    (request,) = script.requests
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"grant_type=client_credentials"


async def test_429_then_success_waits_as_long_as_retry_after_says(
    build: Callable[..., ResilientClient], waits: Waits
) -> None:
    rate_limited = error(429, "duffel/java/exceptions/429_rate_limit.json", {"Retry-After": "2"})
    script = Script(rate_limited, ok())

    assert await build(script).request_json("GET", "/offers") == {"data": []}
    assert len(script.requests) == 2
    assert waits.delays == [2.0]


async def test_duffel_ratelimit_reset_is_honoured_when_there_is_no_retry_after(
    build: Callable[..., ResilientClient], waits: Waits
) -> None:
    reset = {"ratelimit-reset": "Wed, 01 May 2024 12:00:03 GMT"}
    script = Script(error(429, "duffel/java/exceptions/429_rate_limit.json", reset), ok())

    await build(script).request_json("GET", "/offers")

    assert waits.delays == [3.0]


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"Retry-After": "Wed, 01 May 2024 12:00:05 GMT"}, 5.0),
        ({"Retry-After": "Wed, 01 May 2024 11:00:00 GMT"}, 0.0),
        ({"ratelimit-reset": "Wed, 01 May 2024 12:01:00 GMT"}, 60.0),
        ({"ratelimit-reset": str(int(NOW.timestamp()) + 4)}, 4.0),
        ({"ratelimit-reset": "9"}, 9.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-3"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_seconds_dates_and_epochs(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert retry_after_seconds(httpx.Headers(headers), now=NOW) == seconds


async def test_a_retry_after_longer_than_a_traveller_waits_gives_up_at_once(
    build: Callable[..., ResilientClient], waits: Waits
) -> None:
    script = Script(httpx.Response(503, headers={"Retry-After": "600"}), ok())

    with pytest.raises(ProviderUnavailable) as raised:
        await build(script).request_json("GET", "/offers")

    assert raised.value.message == "Duffel asks us to wait; please try again in 10 minutes."
    assert len(script.requests) == 1
    assert waits.delays == []


async def test_repeated_500s_give_up_after_exactly_the_configured_attempts(
    build: Callable[..., ResilientClient], waits: Waits
) -> None:
    script = Script(error(500, "duffel/java/exceptions/500_airline_internal.json"))
    http = build(script, Resilience(max_attempts=4, backoff_initial=0.1, jitter=0.0))

    with pytest.raises(ProviderUnavailable) as raised:
        await http.request_json("POST", "/air/offer_requests")

    assert str(raised.value) == "Duffel is not answering right now; please try again in a minute."
    assert "Traceback" not in str(raised.value)
    assert len(script.requests) == 4
    assert waits.delays == pytest.approx([0.1, 0.2, 0.4])  # exponential, no jitter asked


async def test_backoff_is_jittered_and_capped(
    build: Callable[..., ResilientClient], waits: Waits
) -> None:
    script = Script(httpx.Response(502))
    settings = Resilience(max_attempts=6, backoff_initial=1.0, backoff_max=5.0, jitter=0.5)

    with pytest.raises(ProviderUnavailable):
        await build(script, settings).request_json("GET", "/offers")

    assert len(waits.delays) == 5
    for delay, base in zip(waits.delays, [1.0, 2.0, 4.0, 5.0, 5.0], strict=True):
        assert base <= delay <= min(base + 0.5, 5.0)


async def test_timeouts_are_retried_then_told_as_slowness(
    build: Callable[..., ResilientClient], waits: Waits
) -> None:
    script = Script(httpx.ReadTimeout("read timed out"))

    with pytest.raises(ProviderUnavailable) as raised:
        await build(script).request_json("GET", "/offers")

    assert (
        raised.value.message == "Duffel is taking too long to answer; please try again in a minute."
    )
    assert len(script.requests) == 3
    assert len(waits.delays) == 2


async def test_a_timeout_then_an_answer_succeeds(build: Callable[..., ResilientClient]) -> None:
    script = Script(httpx.ConnectTimeout("connect timed out"), ok())
    assert await build(script).request_json("GET", "/offers") == {"data": []}
    assert len(script.requests) == 2


async def test_connection_errors_are_retried_then_told_as_not_answering(
    build: Callable[..., ResilientClient],
) -> None:
    script = Script(httpx.ConnectError("connection refused"))

    with pytest.raises(ProviderUnavailable, match=r"^Duffel is not answering right now"):
        await build(script).request_json("GET", "/offers")

    assert len(script.requests) == 3


async def test_a_reply_that_is_not_json_is_a_provider_error_and_not_retried(
    build: Callable[..., ResilientClient],
) -> None:
    script = Script(httpx.Response(200, text="<html>Bad gateway</html>"))

    with pytest.raises(UnreadableReply) as raised:
        await build(script).request_json("GET", "/offers")

    assert isinstance(raised.value, ProviderError)
    assert not isinstance(raised.value, ProviderUnavailable)
    assert raised.value.message == (
        "Duffel sent a reply I could not read; please try again in a little while."
    )
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("status", "fixture", "message", "code"),
    [
        (
            400,
            "amadeus/error-400-flight-offers-search.json",
            "Duffel refused the search: invalid query parameter format (airport).",
            "477",
        ),
        (
            422,
            "duffel/java/exceptions/422_validation_error.json",
            "Duffel refused the search: Field 'slices' can't be blank.",
            "validation_required",
        ),
    ],
)
async def test_validation_errors_carry_the_vendors_own_message(
    build: Callable[..., ResilientClient], status: int, fixture: str, message: str, code: str
) -> None:
    script = Script(error(status, fixture))

    with pytest.raises(InvalidSearch) as raised:
        await build(script).request_json("GET", "/offers")

    assert raised.value.message == message
    assert isinstance(raised.value, RejectedSearch)
    assert (raised.value.status, raised.value.code) == (status, code)
    assert len(script.requests) == 1


async def test_a_validation_error_without_a_body_still_makes_a_sentence(
    build: Callable[..., ResilientClient],
) -> None:
    with pytest.raises(InvalidSearch, match=r"^Duffel refused the search as invalid\.$"):
        await build(Script(httpx.Response(400))).request_json("GET", "/offers")


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_a_provider_error_saying_so(
    build: Callable[..., ResilientClient], status: int
) -> None:
    script = Script(error(status, "duffel/ruby/authentication_error.json"))

    with pytest.raises(CredentialsRefused) as raised:
        await build(script).request_json("GET", "/offers")

    assert isinstance(raised.value, ProviderError)
    assert not isinstance(raised.value, ProviderUnavailable | InvalidSearch)
    assert "refused the travel hub's credentials" in raised.value.message
    assert len(script.requests) == 1


async def test_404_is_not_found_and_other_4xx_a_plain_provider_error(
    build: Callable[..., ResilientClient],
) -> None:
    script = Script(error(404, "duffel/java/exceptions/404_not_found.json"), httpx.Response(409))
    http = build(script)

    with pytest.raises(NotFound) as raised:
        await http.request_json("GET", "/air/offers/off_0")
    assert raised.value.code == "not_found"
    assert raised.value.message.startswith("Duffel could not find what was asked for")

    with pytest.raises(ProviderError) as conflict:
        await http.request_json("GET", "/air/offers/off_0")
    assert conflict.value.message == "Duffel could not handle this request; please try again later."


async def test_the_circuit_opens_refuses_without_calling_half_opens_and_closes(
    build: Callable[..., ResilientClient], clock: Clock
) -> None:
    script = Script(httpx.Response(500), httpx.Response(500), ok())
    http = build(script, Resilience(max_attempts=1, failure_threshold=2, cooldown=30.0))

    for _ in range(2):
        with pytest.raises(ProviderUnavailable, match="not answering"):
            await http.request_json("GET", "/offers")
    assert state_of(http) is BreakerState.OPEN

    clock.now += 29.9
    with pytest.raises(ProviderUnavailable) as refused:
        await http.request_json("GET", "/offers")
    assert refused.value.message == (
        "Duffel is unavailable for the moment; please try again in a few minutes."
    )
    assert len(script.requests) == 2  # refused without calling

    clock.now += 0.1
    assert state_of(http) is BreakerState.HALF_OPEN
    assert await http.request_json("GET", "/offers") == {"data": []}
    assert state_of(http) is BreakerState.CLOSED
    assert len(script.requests) == 3


async def test_a_failed_trial_opens_the_circuit_for_another_cooldown(
    build: Callable[..., ResilientClient], clock: Clock
) -> None:
    script = Script(httpx.Response(503))
    http = build(script, Resilience(max_attempts=2, jitter=0.0, failure_threshold=1, cooldown=10.0))

    with pytest.raises(ProviderUnavailable):
        await http.request_json("GET", "/offers")
    clock.now += 10
    with pytest.raises(ProviderUnavailable, match="not answering"):
        await http.request_json("GET", "/offers")  # the trial, retried, fails
    assert len(script.requests) == 4
    assert state_of(http) is BreakerState.OPEN

    clock.now += 9
    with pytest.raises(ProviderUnavailable, match="unavailable for the moment"):
        await http.request_json("GET", "/offers")
    assert len(script.requests) == 4


async def test_refusals_and_bad_searches_do_not_open_the_circuit(
    build: Callable[..., ResilientClient],
) -> None:
    script = Script(error(400, "amadeus/error-400-flight-offers-search.json"))
    http = build(script, Resilience(max_attempts=1, failure_threshold=1))

    for _ in range(3):
        with pytest.raises(InvalidSearch):
            await http.request_json("GET", "/offers")

    assert state_of(http) is BreakerState.CLOSED
    assert len(script.requests) == 3


async def test_unreadable_replies_count_as_failures(build: Callable[..., ResilientClient]) -> None:
    http = build(Script(httpx.Response(200, text="{")), Resilience(failure_threshold=1))
    with pytest.raises(UnreadableReply):
        await http.request_json("GET", "/offers")
    assert state_of(http) is BreakerState.OPEN


def test_a_half_open_circuit_lets_a_single_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=5.0, clock=clock)
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow()

    clock.now += 5
    assert breaker.allow()
    assert not breaker.allow()  # a trial is already out
    breaker.release()  # that trial was cancelled
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


async def test_secrets_never_reach_the_logs(
    build: Callable[..., ResilientClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(
        httpx.Response(500),
        httpx.Response(200, text="nope"),
        error(401, "duffel/ruby/authentication_error.json"),
    )
    http = build(script, Resilience(max_attempts=2, jitter=0.0))
    secret_headers = {"Authorization": "Bearer duffel_live_SECRET"}

    for _ in range(2):
        with pytest.raises(ProviderError):
            await http.request_json(
                "POST", "/token", headers=secret_headers, form={"client_secret": "hunter2"}
            )

    assert "Duffel" in caplog.text
    assert "SECRET" not in caplog.text
    assert "hunter2" not in caplog.text


def test_resilience_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        Resilience(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        Resilience(cooldown=-1)
