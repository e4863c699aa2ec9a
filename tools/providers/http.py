"""The resilient HTTP layer of the provider adapters: timeouts, retries and a circuit breaker."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from ops import metrics
from ops.live import watch_circuit
from tools.errors import InvalidSearch, ProviderError, ProviderUnavailable, TravelError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
"""Waits between attempts; tests inject one that returns at once and records the delay."""
Clock = Callable[[], float]
"""Monotonic seconds, for the breaker's cooldown and token lifetimes."""
Now = Callable[[], datetime]
"""The aware wall clock, for HTTP dates and offer expiries."""
QueryParams = Mapping[str, str | int | float]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class Resilience:
    """How patiently one provider is called; the defaults suit a traveller waiting in a chat."""

    timeout: float = 10.0
    """Seconds allowed to each attempt (connect, send, read)."""
    max_attempts: int = 3
    """Attempts per request, the first included."""
    backoff_initial: float = 0.5
    """Seconds before the second attempt; doubled before each later one."""
    backoff_max: float = 8.0
    jitter: float = 0.5
    """Up to this many random seconds added to each backoff, so clients do not retry in step."""
    max_retry_after: float = 30.0
    """A provider asking to wait longer than this is not waited for: the traveller is told."""
    failure_threshold: int = 5
    """Consecutive failed requests that open the circuit."""
    cooldown: float = 30.0
    """Seconds the circuit stays open before one trial request is let through."""
    budget: float | None = None
    """Seconds one request may take in all, attempts and waits included (None: no limit). No
    wait starts that would end past it, and an attempt gets at most what is left of it, so a
    provider that keeps failing is given up on, in its own words, before the turn's deadline."""

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.max_attempts < 1 or self.failure_threshold < 1:
            raise ValueError("timeout must be positive, max_attempts and failure_threshold >= 1.")
        if self.budget is not None and self.budget <= 0:
            raise ValueError("budget must be positive (or None for no limit).")
        if min(self.backoff_initial, self.backoff_max, self.jitter, self.cooldown) < 0:
            raise ValueError("Backoff, jitter and cooldown cannot be negative.")


class CredentialsRefused(ProviderError):
    """The provider refused our credentials (HTTP 401/403): an operator has to fix them."""


class NotFound(ProviderError):
    """The provider answered 404: what was asked for does not exist (or matched nothing)."""

    def __init__(self, message: str, *, code: str | None) -> None:
        super().__init__(message)
        self.code = code


class UnreadableReply(ProviderError):
    """The provider answered with something that is not the JSON it documents."""


class RejectedSearch(InvalidSearch):
    """The provider refused the request as invalid; keeps its status and error code."""

    def __init__(self, message: str, *, status: int, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RejectedRequest(ProviderError):
    """The provider refused a booking request (an order, a price check, a cancellation) as
    invalid: nothing was done. A ProviderError, so a booking that meets it is abandoned cleanly."""

    def __init__(self, message: str, *, status: int, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class OutcomeUnknown(ProviderUnavailable):
    """A request that must not be sent twice (placing an order) failed after it may have been
    processed: a 5xx reply, or a timeout or a broken connection once it was sent. It is not
    retried, since that could order twice; whether it took effect is for an operator to check."""

    def __init__(self, message: str, *, status: int | None, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class VendorProblem:
    """What a provider's error body says, read defensively (Duffel and Amadeus share `errors[]`)."""

    status: int
    code: str | None = None
    message: str | None = None
    parameter: str | None = None
    request_id: str | None = None

    @classmethod
    def read(cls, response: httpx.Response) -> VendorProblem:
        """The first error of `response`'s body, or only its status when the body says nothing."""
        try:
            body: object = response.json()
        except ValueError:
            body = None
        fields: dict[str, Any] = body if isinstance(body, dict) else {}
        errors = fields.get("errors")
        first: dict[str, Any] = {}
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
        # Duffel words it in `message`, Amadeus in `detail`; OAuth2 errors in `error_description`.
        message = _text(first.get("message")) or _text(first.get("detail"))
        message = message or _text(first.get("title")) or _text(fields.get("error_description"))
        source = first.get("source")
        parameter = None
        if isinstance(source, dict):  # Duffel's airline errors carry a plain string here
            parameter = _text(source.get("parameter")) or _text(source.get("field"))
        code = first.get("code", fields.get("error"))
        meta = fields.get("meta")
        request_id = _text(meta.get("request_id")) if isinstance(meta, dict) else None
        request_id = (
            request_id
            or response.headers.get("x-request-id")
            or response.headers.get("ama-request-id")
        )
        return cls(
            status=response.status_code,
            code=None if code is None else str(code),
            message=message,
            parameter=parameter,
            request_id=request_id,
        )


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Stops calling a provider that keeps failing, and lets one trial through after a cooldown.

    Closed: every call goes out. Open (after `failure_threshold` consecutive failures): calls are
    refused without touching the network. Half-open (once `cooldown` has passed): one trial call
    goes out; its success closes the circuit, its failure opens it for another cooldown.
    """

    def __init__(self, *, failure_threshold: int, cooldown: float, clock: Clock) -> None:
        self._threshold = failure_threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self._cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may go out now (taking the single trial slot when half-open)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._trial_running:
            return False
        self._trial_running = True
        return True

    def record_success(self) -> None:
        """The provider answered: close the circuit and forget earlier failures."""
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        """The provider failed a whole request (after its retries)."""
        self._trial_running = False
        self._failures += 1
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()  # a failed trial restarts the cooldown

    def release(self) -> None:
        """Forget a call that ended without a verdict (it was cancelled), freeing the trial slot."""
        self._trial_running = False


class _Trouble(StrEnum):
    BUSY = "busy"  # 429
    DOWN = "down"  # 5xx, connection errors
    SLOW = "slow"  # timeouts


class _Transient(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(
        self, trouble: _Trouble, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{trouble} (HTTP {status})" if status else str(trouble))
        self.trouble = trouble
        self.status = status
        self.retry_after = retry_after


class _Unconfirmed(Exception):
    """One attempt of a request that must not be repeated failed after it may have been
    processed; never retried."""

    def __init__(self, trouble: _Trouble, *, response: httpx.Response | None = None) -> None:
        status = response.status_code if response is not None else None
        super().__init__(f"{trouble} (HTTP {status})" if status else str(trouble))
        self.trouble = trouble
        self.response = response


_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Failures that prove the request never reached the provider, so even an order may be retried."""

_GIVE_UP = {
    _Trouble.BUSY: "{} is too busy right now; please try again in a minute.",
    _Trouble.DOWN: "{} is not answering right now; please try again in a minute.",
    _Trouble.SLOW: "{} is taking too long to answer; please try again in a minute.",
}


class _StopOnLongRetryAfter(stop_base):
    """Stop at once when the provider asks for a longer pause than a traveller should wait."""

    def __init__(self, limit: float) -> None:
        self._limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        problem = outcome.exception() if outcome is not None else None
        return (
            isinstance(problem, _Transient)
            and problem.retry_after is not None
            and problem.retry_after > self._limit
        )


class _StopBeforeBudget(stop_base):
    """Stop when the wait before the next attempt would end past the request's budget."""

    def __init__(self, budget: float, elapsed: Callable[[], float]) -> None:
        self._budget = budget
        self._elapsed = elapsed

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._elapsed() + retry_state.upcoming_sleep >= self._budget


def retry_after_seconds(headers: httpx.Headers, *, now: datetime) -> float | None:
    """Seconds the provider asks us to wait: `Retry-After` (seconds or HTTP date), else Duffel's
    `ratelimit-reset` (HTTP date, or epoch seconds); None when neither says anything usable."""
    for name in ("retry-after", "ratelimit-reset"):
        raw = headers.get(name)
        if raw is None:
            continue
        seconds = _seconds_until(raw.strip(), now=now, epoch_allowed=name == "ratelimit-reset")
        if seconds is not None:
            return seconds
    return None


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: Mapping[str, str] | None
    params: QueryParams | None
    json: object
    form: Mapping[str, str] | None
    repeatable: bool
    about: str | None


class ResilientClient:
    """Sends JSON requests to one provider through an injected `httpx.AsyncClient`.

    Each attempt has its own timeout; 429, 5xx, timeouts and connection errors are retried with
    exponential backoff and jitter (or the provider's Retry-After); a circuit breaker stops
    calling a provider that keeps failing. Every failure surfaces as a domain error whose message
    is one sentence for the traveller.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        provider: str,
        base_url: str,
        resilience: Resilience | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        now: Now = utc_now,
    ) -> None:
        self._client = client
        self._provider = provider
        self._base_url = base_url.rstrip("/")
        self._settings = resilience or Resilience()
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self._backoff = wait_exponential_jitter(
            multiplier=self._settings.backoff_initial,
            max=self._settings.backoff_max,
            jitter=self._settings.jitter,
        )
        self.breaker = CircuitBreaker(
            failure_threshold=self._settings.failure_threshold,
            cooldown=self._settings.cooldown,
            clock=clock,
        )
        watch_circuit(provider, self.breaker)

    @property
    def provider(self) -> str:
        return self._provider

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: QueryParams | None = None,
        json: object = None,
        form: Mapping[str, str] | None = None,
        repeatable: bool = True,
        about: str | None = None,
    ) -> object:
        """The decoded JSON body of a 2xx reply to `method path` (None for an empty one, 204).

        Raises ProviderUnavailable (circuit open, or 429/5xx/timeouts after every attempt),
        CredentialsRefused (401/403), RejectedSearch, an InvalidSearch (400/422, with the
        provider's own message), NotFound (404), UnreadableReply (2xx that is not JSON) or
        ProviderError (any other status).

        `repeatable=False` is for a request that must not take effect twice (placing an order,
        when the provider documents no idempotency key): only failures that prove it was not
        processed (429, a connection never made) are retried; any other failure raises
        OutcomeUnknown at once. `about` names what a booking request is about ("the order");
        its refusal (400/422) is then a RejectedRequest, a ProviderError, in those words.
        """
        if not self.breaker.allow():
            metrics.provider_failed(self._provider, "circuit_open")
            log.warning(
                "%s circuit is open; %s %s refused without calling", self._provider, method, path
            )
            raise ProviderUnavailable(
                f"{self._provider} is unavailable for the moment;"
                " please try again in a few minutes."
            )
        request = _Request(method, path, headers, params, json, form, repeatable, about)
        try:
            response = await self._send(request)
            payload = self._read(response, request)
        except (ProviderUnavailable, UnreadableReply) as error:
            self.breaker.record_failure()
            metrics.provider_failed(self._provider, _error_kind(error))
            raise
        except TravelError:
            self.breaker.record_success()  # it answered, if only to refuse: it is up
            raise
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record_success()
        return payload

    async def _send(self, request: _Request) -> httpx.Response:
        method, path = request.method, request.path

        def log_retry(state: RetryCallState) -> None:
            outcome = state.outcome
            problem = outcome.exception() if outcome is not None else None
            delay = state.upcoming_sleep
            log.info(
                "%s %s %s failed (%s), attempt %d of %d; retrying in %.2f s",
                self._provider, method, path, problem, state.attempt_number,
                self._settings.max_attempts, delay,
            )  # fmt: skip

        started = self._clock()

        def elapsed() -> float:
            return self._clock() - started

        budget = self._settings.budget
        retrying = AsyncRetrying(
            stop=stop_any(
                stop_after_attempt(self._settings.max_attempts),
                _StopOnLongRetryAfter(self._settings.max_retry_after),
                *([] if budget is None else [_StopBeforeBudget(budget, elapsed)]),
            ),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    timeout = self._settings.timeout
                    if budget is not None:
                        # Never below a few milliseconds: httpx reads 0 as "no time at all".
                        timeout = max(min(timeout, budget - elapsed()), 0.01)
                    return await self._attempt(request, timeout=timeout)
        except _Unconfirmed as unconfirmed:
            raise self._outcome_unknown(request, str(unconfirmed), unconfirmed.response) from None
        except _Transient as gave_up:
            attempts = retrying.statistics.get("attempt_number", self._settings.max_attempts)
            log.warning(
                "%s %s %s gave up after %d attempts: %s",
                self._provider, method, path, attempts, gave_up,
            )  # fmt: skip
            raise ProviderUnavailable(self._give_up_sentence(gave_up)) from None
        raise AssertionError("tenacity either returns the response or raises")  # pragma: no cover

    def _outcome_unknown(
        self, request: _Request, why: str, response: httpx.Response | None
    ) -> OutcomeUnknown:
        problem = VendorProblem.read(response) if response is not None else None
        code = problem.code if problem else None
        request_id = problem.request_id if problem else None
        log.warning(
            "%s %s %s failed after it may have been processed (%s, code %s, request id %s);"
            " not retried, so check whether it took effect",
            self._provider, request.method, request.path, why, code, request_id,
        )  # fmt: skip
        return OutcomeUnknown(
            unconfirmed_sentence(self._provider, request.about or "the request"),
            status=problem.status if problem else None,
            code=code,
        )

    def _give_up_sentence(self, gave_up: _Transient) -> str:
        wait = gave_up.retry_after
        if wait is not None and wait > self._settings.max_retry_after:
            minutes = max(1, math.ceil(wait / 60))
            unit = "a minute" if minutes == 1 else f"{minutes} minutes"
            return f"{self._provider} asks us to wait; please try again in {unit}."
        return _GIVE_UP[gave_up.trouble].format(self._provider)

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        problem = outcome.exception() if outcome is not None else None
        if isinstance(problem, _Transient) and problem.retry_after is not None:
            return problem.retry_after  # the provider said how long; trust it over our guess
        return self._backoff(state)

    async def _attempt(self, request: _Request, *, timeout: float) -> httpx.Response:
        try:
            response = await self._client.request(
                request.method,
                f"{self._base_url}{request.path}",
                headers=request.headers,
                params=request.params,
                json=request.json,
                data=request.form,
                timeout=timeout,
            )
        except _NEVER_SENT as exc:
            trouble = _Trouble.DOWN if isinstance(exc, httpx.ConnectError) else _Trouble.SLOW
            raise _Transient(trouble) from exc
        except httpx.TimeoutException as exc:
            if not request.repeatable:
                raise _Unconfirmed(_Trouble.SLOW) from exc
            raise _Transient(_Trouble.SLOW) from exc
        except httpx.RequestError as exc:
            if not request.repeatable:
                raise _Unconfirmed(_Trouble.DOWN) from exc
            raise _Transient(_Trouble.DOWN) from exc
        status = response.status_code
        if status >= 500 and not request.repeatable:
            raise _Unconfirmed(_Trouble.DOWN, response=response)
        if status == httpx.codes.TOO_MANY_REQUESTS or status >= 500:
            raise _Transient(
                _Trouble.BUSY if status == httpx.codes.TOO_MANY_REQUESTS else _Trouble.DOWN,
                status=status,
                retry_after=retry_after_seconds(response.headers, now=self._now()),
            )
        return response

    def _read(self, response: httpx.Response, request: _Request) -> object:
        provider, method, path, about = self._provider, request.method, request.path, request.about
        if response.is_success:
            if not response.content and (
                response.status_code == httpx.codes.NO_CONTENT or method == "DELETE"
            ):
                return None  # the request was its own effect (a cancelled Amadeus order)
            try:
                return response.json()
            except ValueError as exc:
                if not request.repeatable:  # it was processed, but we cannot tell what it did
                    raise self._outcome_unknown(request, "unreadable reply", response) from exc
                log.warning(
                    "%s answered %s %s with a body that is not JSON", provider, method, path
                )
                raise UnreadableReply(
                    f"{provider} sent a reply I could not read; please try again in a little while."
                ) from exc
        problem = VendorProblem.read(response)
        log.warning(
            "%s answered %s %s with HTTP %d (code %s, request id %s)",
            provider, method, path, problem.status, problem.code, problem.request_id,
        )  # fmt: skip
        if problem.status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise CredentialsRefused(
                f"{provider} refused the travel hub's credentials, so I cannot"
                f" {'search' if about is None else 'book'} there until an administrator renews"
                " them."
            )
        if problem.status in (httpx.codes.BAD_REQUEST, httpx.codes.UNPROCESSABLE_ENTITY):
            if about is not None:
                raise RejectedRequest(
                    _refusal(provider, problem, about), status=problem.status, code=problem.code
                )
            raise RejectedSearch(
                _refusal(provider, problem, "the search"), status=problem.status, code=problem.code
            )
        if problem.status == httpx.codes.NOT_FOUND:
            raise NotFound(
                f"{provider} could not find {about or 'what was asked for'}; please try again"
                " later.",
                code=problem.code,
            )
        raise ProviderError(f"{provider} could not handle this request; please try again later.")


def unconfirmed_sentence(provider: str, about: str) -> str:
    """What the traveller is told when `provider` may or may not have done what was asked."""
    return (
        f"{provider} did not confirm whether {about} went through; please do not try again"
        " until it has been checked, so that nothing is booked twice."
    )


def _refusal(provider: str, problem: VendorProblem, about: str) -> str:
    if problem.message is None:
        return f"{provider} refused {about} as invalid."
    message = " ".join(problem.message.split())[:300].rstrip(" .!?")
    parameter = problem.parameter
    if parameter and parameter.lower() not in message.lower():
        message = f"{message} ({parameter})"
    return f"{provider} refused {about}: {message}."


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _seconds_until(raw: str, *, now: datetime, epoch_allowed: bool) -> float | None:
    try:
        number = float(raw)
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - now).total_seconds())
    if not math.isfinite(number) or number < 0:
        return None
    if epoch_allowed and number > 1_000_000_000:  # an epoch timestamp, not a delay
        return max(0.0, number - now.timestamp())
    return number


def _error_kind(error: ProviderError) -> str:
    """The metrics label of a failed provider request."""
    if isinstance(error, UnreadableReply):
        return "unreadable"
    if isinstance(error, OutcomeUnknown):
        return "outcome_unknown"
    return "unavailable"
