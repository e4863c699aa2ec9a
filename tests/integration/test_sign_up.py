"""Signing up on /signup against a real PostgreSQL: the account in the default tenant with its
consent, a session like Chainlit's own, and nothing written for a refused form."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from accounts.directory import authenticate, create_account, has_consented
from accounts.sign_up import EMAIL_TAKEN, SignUp, SignUpRefused, sign_up
from agent.bootstrap import Services
from web.signup import CSRF_COOKIE, FORM_EXPIRED, NO_TENANT, signup_router

pytestmark = pytest.mark.integration
SECRET = "sign-up-test-secret-" + "x" * 40
ADA = {"email": "Ada@Example.com", "name": "Ada Lovelace", "password": "analytical1",
       "repeated": "analytical1", "consent": "on"}  # fmt: skip


@pytest.fixture
def installed(installed_services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", SECRET)
    return installed_services


@pytest.fixture
async def browser(installed: Services) -> AsyncIterator[httpx.AsyncClient]:
    del installed
    app = FastAPI()
    app.include_router(signup_router(chat_path="/chat", tenant_slug="default"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def form_token(client: httpx.AsyncClient) -> str:
    page = await client.get("/signup")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def users(owner: Any) -> list[tuple[Any, ...]]:
    return owner.execute(
        "SELECT u.email, u.full_name, t.slug, u.data_processing_consent, u.marketing_consent,"
        " u.consent_granted_at IS NOT NULL FROM users u JOIN tenants t ON t.id = u.tenant_id"
    ).fetchall()


async def test_a_newcomer_signs_up_and_is_signed_in(
    browser: httpx.AsyncClient, services: Services, owner: Any
) -> None:
    from chainlit.auth import decode_jwt, get_token_from_cookies

    token = await form_token(browser)
    answer = await browser.post("/signup", data={**ADA, "marketing": "on", "csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/chat/"
    user = decode_jwt(get_token_from_cookies(dict(answer.cookies)) or "")
    assert user.identifier == "ada@example.com"
    assert user.display_name == "Ada Lovelace"
    assert user.metadata["role"] == "user"
    assert users(owner) == [("ada@example.com", "Ada Lovelace", "default", True, True, True)]
    events = owner.execute(
        "SELECT event_type FROM analytics_events ORDER BY created_at, event_type"
    ).fetchall()
    assert {row[0] for row in events} == {"user_signed_up", "consent_changed"}
    account = await authenticate(services.sessions, "ada@example.com", "analytical1")
    assert account is not None
    assert str(account.user_id) == user.metadata["user_id"]
    assert await has_consented(services.sessions, account)  # the chat will not ask again


async def test_each_mistake_is_told_beside_its_field_and_nothing_is_written(
    browser: httpx.AsyncClient, owner: Any
) -> None:
    token = await form_token(browser)
    answer = await browser.post(
        "/signup",
        data={"email": "ada.example.com", "name": "Ada", "password": "analytical1",
              "repeated": "analytical2", "csrf_token": token},
    )  # fmt: skip
    assert answer.status_code == 422
    assert 'id="email-problem">That is not an email address' in answer.text
    assert 'id="repeated-problem">The two passwords differ' in answer.text
    assert 'id="consent-problem">Tick the box' in answer.text
    assert 'value="ada.example.com"' in answer.text  # what was typed stays, passwords do not
    assert "analytical1" not in answer.text
    assert users(owner) == []


async def test_what_was_typed_comes_back_as_text_never_markup(
    browser: httpx.AsyncClient, owner: Any
) -> None:
    token = await form_token(browser)
    typed = '"><script>alert(1)</script>'
    answer = await browser.post(
        "/signup",
        data={"email": f"ada{typed}@example.com", "name": typed, "password": "short",
              "repeated": "short", "consent": "on", "csrf_token": token},
    )  # fmt: skip
    assert answer.status_code == 422
    assert "<script>" not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    assert users(owner) == []


async def test_a_form_without_its_token_is_refused(browser: httpx.AsyncClient, owner: Any) -> None:
    await form_token(browser)
    answer = await browser.post("/signup", data={**ADA, "csrf_token": "forged"})
    assert answer.status_code == 403
    assert FORM_EXPIRED in answer.text
    browser.cookies.delete(CSRF_COOKIE)
    answer = await browser.post("/signup", data={**ADA, "csrf_token": ""})
    assert answer.status_code == 403
    assert users(owner) == []


async def test_an_address_in_use_is_one_sentence(
    browser: httpx.AsyncClient, services: Services, owner: Any
) -> None:
    await create_account(
        services.sessions, tenant_slug="default", email="ada@example.com", password="other-pass1"
    )
    token = await form_token(browser)
    answer = await browser.post("/signup", data={**ADA, "csrf_token": token})
    assert answer.status_code == 409
    assert f'id="email-problem">{EMAIL_TAKEN}' in answer.text
    assert "set-cookie" not in answer.headers or "access_token" not in answer.headers["set-cookie"]
    assert len(users(owner)) == 1
    still = await authenticate(services.sessions, "ada@example.com", "other-pass1")
    assert still is not None  # the owner's password is untouched


async def test_sign_up_refuses_the_same_address_created_in_the_meantime(
    services: Services, owner: Any
) -> None:
    form = SignUp("ada@example.com", "Ada", "analytical1", "analytical1", consent=True)
    outcomes = await asyncio.gather(
        *(sign_up(services.sessions, form, tenant_slug="default") for _ in range(4)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, SignUpRefused)]
    assert len(refused) == 3
    assert all(o.problems == {"email": EMAIL_TAKEN} for o in refused)
    assert len(users(owner)) == 1


@pytest.mark.usefixtures("installed")
async def test_a_missing_default_tenant_is_one_sentence(owner: Any) -> None:
    app = FastAPI()
    app.include_router(signup_router(chat_path="/chat", tenant_slug="nowhere"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.post("/signup", data={**ADA, "csrf_token": await form_token(client)})
    assert answer.status_code == 503
    assert NO_TENANT in answer.text
    assert users(owner) == []
