"""Who may read /metrics: this machine, or a scraper with TRAVELHUB_METRICS_TOKEN; a request a
proxy forwarded counts as this machine's only when a trusted proxy says its client is."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from web.client_address import keep_client_address
from web.scrape import LOCAL_ONLY, NEEDS_TOKEN, WRONG_TOKEN, metrics_router

TOKEN = "scrape-token-" + "s" * 32


async def scrape(
    peer: str,
    *,
    token: str | None = None,
    trusted_proxies: str = "",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    app = FastAPI()
    app.include_router(
        metrics_router(token=SecretStr(token) if token else None, trusted_proxies=trusted_proxies)
    )
    keep_client_address(app, trusted_proxies=trusted_proxies)
    transport = httpx.ASGITransport(app=app, client=(peer, 40_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get("/metrics", headers=headers or {})


async def test_this_machine_reads_the_metrics_in_prometheus_format() -> None:
    for loopback in ("127.0.0.1", "::1"):
        answer = await scrape(loopback)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert "# TYPE travelhub_turns_total counter" in answer.text
        assert 'travelhub_bookings_total{status="confirmed"}' in answer.text


async def test_another_machine_is_refused_without_the_token() -> None:
    answer = await scrape("203.0.113.9")
    assert (answer.status_code, answer.json()) == (403, {"detail": LOCAL_ONLY})
    answer = await scrape("203.0.113.9", token=TOKEN)
    assert (answer.status_code, answer.json()) == (401, {"detail": NEEDS_TOKEN})
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_the_token_lets_another_machine_in_and_a_wrong_one_is_refused() -> None:
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert (await scrape("203.0.113.9", token=TOKEN, headers=right)).status_code == 200
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer nothing"):
        answer = await scrape("203.0.113.9", token=TOKEN, headers={"Authorization": wrong})
        assert (answer.status_code, answer.json()) == (401, {"detail": WRONG_TOKEN})
    # No token configured: a presented one matches nothing, even an empty-looking guess.
    answer = await scrape("203.0.113.9", headers={"Authorization": "Bearer guess"})
    assert answer.status_code == 401


async def test_a_request_forwarded_by_an_untrusted_proxy_on_this_machine_is_refused() -> None:
    # nginx on this machine forwards the whole internet from 127.0.0.1.
    for forwarded in (
        {"X-Forwarded-For": "203.0.113.9"},
        {"X-Forwarded-For": "127.0.0.1"},  # the client's own claim, passed on
        {"X-Real-IP": "203.0.113.9"},
        {"Forwarded": "for=203.0.113.9"},
    ):
        answer = await scrape("127.0.0.1", headers=forwarded)
        assert (answer.status_code, answer.json()) == (403, {"detail": LOCAL_ONLY}), forwarded


async def test_a_trusted_proxy_counts_as_this_machine_only_for_a_loopback_client() -> None:
    trusted = "10.0.0.0/8"
    allowed = await scrape("10.0.0.5", trusted_proxies=trusted, headers={"X-Forwarded-For": "::1"})
    assert allowed.status_code == 200
    outside = await scrape(
        "10.0.0.5", trusted_proxies=trusted, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert outside.status_code == 403
    # A client's claim before the proxy's own entry is not believed.
    spoofed = await scrape(
        "10.0.0.5", trusted_proxies=trusted, headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.9"}
    )
    assert spoofed.status_code == 403
    # Only X-Forwarded-For is read from a proxy: another header alone proves nothing.
    real_ip = await scrape("127.0.0.1", trusted_proxies="127.0.0.1", headers={"X-Real-IP": "::1"})
    assert real_ip.status_code == 403
    # A trusted proxy on this machine, for a client on this machine.
    local = await scrape(
        "127.0.0.1", trusted_proxies="127.0.0.1", headers={"X-Forwarded-For": "127.0.0.1"}
    )
    assert local.status_code == 200
