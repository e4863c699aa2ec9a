"""The pure parts of the sign-in attempt limits: the sentence, the keys, whose address counts."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from accounts.attempt_limits import AttemptLimits, AttemptRule, SignInLimited
from agent.settings import Settings
from web.client_address import client_address, keep_client_address


@pytest.mark.parametrize(
    ("seconds", "wait"),
    [(1, "1 minute"), (60, "1 minute"), (61, "2 minutes"), (900, "15 minutes")],
)
def test_the_refusal_is_one_sentence_saying_how_long(seconds: int, wait: str) -> None:
    limited = SignInLimited("account", seconds)
    assert limited.sentence == f"Too many sign-in attempts: please wait {wait} and try again."


def _limits(secret: str = "s", **rule: int) -> AttemptLimits:
    return AttemptLimits(AttemptRule(**rule), sessions=None, secret=secret)


def test_keys_are_keyed_hashes_of_the_normalised_address() -> None:
    limits = _limits()
    windows = limits._windows(" Ada@Example.COM ", "203.0.113.1")
    assert [(limit, size) for limit, _key, size in windows] == [("account", 10), ("address", 100)]
    same = limits._windows("ada@example.com", "203.0.113.1")
    assert [key for _, key, _ in windows] == [key for _, key, _ in same]
    assert all(len(key) == 64 and "ada" not in key for _, key, _ in windows)
    other_secret = _limits(secret="t")._windows("ada@example.com", "203.0.113.1")
    assert {key for _, key, _ in other_secret}.isdisjoint(key for _, key, _ in same)


def test_a_limit_of_zero_or_an_unknown_address_counts_nothing() -> None:
    assert [w[0] for w in _limits(per_account=0)._windows("a@b.c", "1.2.3.4")] == ["address"]
    assert [w[0] for w in _limits()._windows("a@b.c", None)] == ["account"]
    assert _limits(per_account=0, per_address=0)._windows("a@b.c", "1.2.3.4") == []


async def _address_seen(trusted_proxies: str, peer: str, forwarded: str) -> str | None:
    app = FastAPI()

    @app.get("/whoami")
    async def whoami() -> dict[str, str | None]:
        return {"address": client_address()}

    keep_client_address(app, trusted_proxies=trusted_proxies)
    transport = httpx.ASGITransport(app=app, client=(peer, 40_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.get("/whoami", headers={"X-Forwarded-For": forwarded})
    address: str | None = answer.json()["address"]
    return address


async def test_forwarded_for_counts_only_from_a_trusted_proxy() -> None:
    assert await _address_seen("", "10.0.0.5", "198.51.100.7") == "10.0.0.5"
    assert await _address_seen("10.0.0.0/8", "10.0.0.5", "198.51.100.7") == "198.51.100.7"
    assert await _address_seen("10.0.0.0/8", "192.0.2.9", "198.51.100.7") == "192.0.2.9"
    # A client's own header before the proxy's entry is not believed: the proxy's is.
    seen = await _address_seen("10.0.0.0/8", "10.0.0.5", "1.1.1.1, 198.51.100.7")
    assert seen == "198.51.100.7"
    assert client_address() is None  # outside a request


def test_a_trusted_proxy_that_is_no_address_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"TRAVELHUB_TRUSTED_PROXIES: 'proxy\.local'"):
        Settings(TRAVELHUB_TRUSTED_PROXIES="10.0.0.1, proxy.local")
    assert Settings(TRAVELHUB_TRUSTED_PROXIES="10.0.0.1, 10.1.0.0/16")
