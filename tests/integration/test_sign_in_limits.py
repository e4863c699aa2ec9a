"""Password sign-in attempt limits, through Chainlit's real POST /chat/login: per account and per
client address, in Redis, in PostgreSQL when Redis is not configured, and when it is down."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from accounts.directory import authenticate, create_account
from agent.bootstrap import Services, sign_in_limits_from
from db.urls import libpq_url
from tests.integration.agent_world import stack
from web import runtime

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
WRONG = "not the password"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens there: Redis is down
STORES = ["redis", "postgresql", "redis down"]


@dataclass
class Desk:
    """The web app with services whose limits the test chose, and a way in from an address."""

    app: FastAPI
    services: Services
    database: str

    def client(self, address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 50_000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def traveller(self, email: str | None = None) -> str:
        email = email or f"t-{uuid.uuid4().hex[:10]}@example.com"
        await create_account(
            self.services.sessions, tenant_slug="default", email=email, password=PASSWORD
        )
        return email

    def limited_events(self) -> list[tuple[Any, ...]]:
        with psycopg.connect(libpq_url(self.database)) as owner:
            return owner.execute(
                "SELECT tenant_id, user_id, properties FROM analytics_events"
                " WHERE event_type = 'sign_in_limited' ORDER BY created_at"
            ).fetchall()


@pytest.fixture
def limits() -> dict[str, object]:
    """The sign-in settings of a test (override with `@pytest.mark.parametrize`)."""
    return {}


@pytest.fixture
async def desk(
    web_app: FastAPI,
    database: str,
    runtime_database: str,
    limits: dict[str, object],
    request: pytest.FixtureRequest,
) -> AsyncIterator[Desk]:
    store = getattr(request, "param", "postgresql")
    async with stack(database, runtime_database, **limits) as services:
        redis = None
        if store != "postgresql":
            redis = Redis.from_url(REDIS_URL if store == "redis" else NOWHERE)
            # A prefix of the test's own: tests never count each other's failures in Redis.
            services.sign_in_limits = sign_in_limits_from(
                services.settings,
                sessions=services.sessions,
                redis=redis,
                events=services.chat_log,
                redis_prefix=f"test:sign-in:{uuid.uuid4().hex}",
            )
        runtime.install(services)
        try:
            yield Desk(web_app, services, database)
        finally:
            runtime.install(None)
            if redis is not None:
                await redis.aclose()


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/chat/login", data={"username": email, "password": password})


@pytest.mark.parametrize("desk", STORES, indirect=True)
async def test_the_eleventh_attempt_is_refused_even_with_the_right_password(desk: Desk) -> None:
    email = await desk.traveller()
    async with desk.client("203.0.113.10") as client:
        for _ in range(10):
            assert (await sign_in(client, email, WRONG)).status_code == 401
        refused = await sign_in(client, email, PASSWORD)
        other_case = await sign_in(client, f"  {email.upper()} ", PASSWORD)
    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "Too many sign-in attempts: please wait 15 minutes and try again."
    }
    assert 890 <= int(refused.headers["Retry-After"]) <= 900
    assert other_case.status_code == 429  # the address as typed, normalised, is the account

    await desk.services.chat_log.flushed()
    events = desk.limited_events()
    assert len(events) == 2
    tenant, user, properties = events[0]
    row = await _account_row(desk, email)
    assert (tenant, user) == (row["tenant_id"], row["id"])
    store = "postgresql" if desk.services.sign_in_limits.store == "postgresql" else "redis"
    assert properties["limit"] == "account"
    assert properties["store"] == store
    assert 890 <= properties["retry_after_seconds"] <= 900
    assert email.split("@")[0] not in json.dumps(properties)  # no address, no password
    assert PASSWORD not in json.dumps(properties)


async def _account_row(desk: Desk, email: str) -> dict[str, Any]:
    from accounts.directory import lookup_account

    row = await lookup_account(desk.services.sessions, email)
    assert row is not None
    return row


@pytest.mark.parametrize("desk", ["redis", "postgresql"], indirect=True)
@pytest.mark.parametrize("limits", [{"TRAVELHUB_SIGN_IN_ADDRESS_LIMIT": 3}])
async def test_the_address_limit_spans_accounts(desk: Desk) -> None:
    travellers = [await desk.traveller() for _ in range(4)]
    async with desk.client("198.51.100.20") as office:
        for email in travellers[:3]:
            assert (await sign_in(office, email, WRONG)).status_code == 401
        refused = await sign_in(office, travellers[3], PASSWORD)
        unknown = await sign_in(office, "nobody@example.com", WRONG)
    async with desk.client("198.51.100.21") as elsewhere:
        welcomed = await sign_in(elsewhere, travellers[3], PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Too many sign-in attempts: please wait")
    assert unknown.status_code == 429  # no account needed to be refused
    assert welcomed.status_code == 200

    await desk.services.chat_log.flushed()
    events = desk.limited_events()
    assert [properties["limit"] for _, _, properties in events] == ["address", "address"]
    assert events[1][1] is None  # nobody has that address: the default tenant, no user


@pytest.mark.parametrize(
    "limits", [{"TRAVELHUB_SIGN_IN_ACCOUNT_LIMIT": 2, "TRAVELHUB_SIGN_IN_ADDRESS_LIMIT": 2}]
)
async def test_a_success_is_never_counted(desk: Desk) -> None:
    """A benchmark signs a hundred travellers in at once from 127.0.0.1: never limited."""
    travellers = [await desk.traveller() for _ in range(3)]
    async with desk.client("127.0.0.1") as bench:
        answers = await asyncio.gather(*(sign_in(bench, email, PASSWORD) for email in travellers))
        assert [answer.status_code for answer in answers] == [200] * 3  # more than the limits
        ada = travellers[0]
        assert (await sign_in(bench, ada, WRONG)).status_code == 401
        assert (await sign_in(bench, ada, PASSWORD)).status_code == 200
        assert (await sign_in(bench, ada, WRONG)).status_code == 401  # the second failure
        assert (await sign_in(bench, ada, PASSWORD)).status_code == 429


@pytest.mark.parametrize("desk", ["redis", "postgresql"], indirect=True)
@pytest.mark.parametrize(
    "limits", [{"TRAVELHUB_SIGN_IN_ACCOUNT_LIMIT": 2, "TRAVELHUB_SIGN_IN_WINDOW": 3}]
)
async def test_the_window_slides(desk: Desk) -> None:
    email = await desk.traveller()
    async with desk.client("192.0.2.30") as client:
        assert (await sign_in(client, email, WRONG)).status_code == 401
        first = time.monotonic()  # the failure was counted before it was answered
        await asyncio.sleep(1.5)
        assert (await sign_in(client, email, WRONG)).status_code == 401
        refused = await sign_in(client, email, PASSWORD)
        assert refused.status_code == 429
        # Back-off: the window frees when the oldest failure leaves it, not three seconds on.
        assert 1 <= int(refused.headers["Retry-After"]) <= 2
        assert "please wait 1 minute and" in refused.json()["detail"]
        await asyncio.sleep(max(0.0, first + 3.1 - time.monotonic()))
        assert (await sign_in(client, email, PASSWORD)).status_code == 200  # one failure left


@pytest.mark.parametrize("limits", [{"TRAVELHUB_SIGN_IN_ADDRESS_LIMIT": 3}])
async def test_forwarded_for_is_not_believed_without_a_trusted_proxy(desk: Desk) -> None:
    """Without TRAVELHUB_TRUSTED_PROXIES a client cannot pick its address with a header."""
    async with desk.client("203.0.113.99") as client:
        answers = [
            await client.post(
                "/chat/login",
                data={"username": f"guess{number}@example.com", "password": WRONG},
                headers={"X-Forwarded-For": f"10.0.0.{number}"},
            )
            for number in range(4)
        ]
    assert [answer.status_code for answer in answers] == [401, 401, 401, 429]


@pytest.mark.parametrize("limits", [{"TRAVELHUB_SIGN_IN_ACCOUNT_LIMIT": 2}])
async def test_wrong_current_passwords_on_the_password_page_count_as_failed_sign_ins(
    desk: Desk,
) -> None:
    """A stolen session cannot guess its way to the password: the page shares the windows."""
    email = await desk.traveller()
    async with desk.client("192.0.2.40") as client:
        signed_in = await sign_in(client, email, PASSWORD)
        token = signed_in.cookies["access_token"]

        async def change(current: str) -> httpx.Response:
            cookie = {"Cookie": f"access_token={token}"}
            form = await client.get("/account/password", headers=cookie)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf is not None
            return await client.post(
                "/account/password",
                data={"current": current, "new": "a new passphrase",
                      "repeated": "a new passphrase", "csrf_token": csrf[1]},
                headers={"Cookie": f"access_token={token}; travelhub_password_csrf={csrf[1]}"},
            )  # fmt: skip

        assert (await change(WRONG)).status_code == 422
        assert (await change(WRONG)).status_code == 422
        refused = await change(PASSWORD)
        assert refused.status_code == 429
        assert "Too many sign-in attempts: please wait 15 minutes" in refused.text
        assert int(refused.headers["Retry-After"]) > 0
        assert (await sign_in(client, email, PASSWORD)).status_code == 429
    # Nothing changed: the old password is still the one (checked past the limits).
    assert await authenticate(desk.services.sessions, email, PASSWORD) is not None
    assert await authenticate(desk.services.sessions, email, "a new passphrase") is None
