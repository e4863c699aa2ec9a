"""A session token stolen or left behind is worth nothing once its session ends: after signing
out, and after a password change (the page's own session excepted), the same token is refused
by our REST API, Chainlit's, and its socket; an open socket of the ended session is closed."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import psycopg
import pytest
import socketio  # type: ignore[import-untyped]
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from accounts.directory import authenticate, create_account
from accounts.password_change import WRONG_CURRENT
from accounts.passwords import password_problem
from accounts.user_sessions import ENDED
from agent.bootstrap import Services
from cli.main import app as cli_app
from db.urls import libpq_url
from tests.conftest import app_url
from tests.hostile.conftest import Loop
from tests.integration.agent_world import stack
from web import runtime

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

PASSWORD = "first password"
SOCKET_PATH = "/chat/ws/socket.io"
BASE = "http://testserver"


@dataclass
class Desk:
    services: Services
    database: str
    thread: str
    """A conversation of Ada's, which her replay API call reads."""


@pytest.fixture(scope="module")
def desk(module_database: str, web_app: FastAPI, loop: Loop) -> Iterator[Desk]:
    del web_app  # made first: it sets the working directory Chainlit reads its config from

    @asynccontextmanager
    async def built() -> AsyncIterator[Desk]:
        async with stack(module_database, app_url(module_database)) as services:
            ada = await create_account(
                services.sessions, tenant_slug="default", email="ada@example.com",
                password=PASSWORD, name="Ada",
            )  # fmt: skip
            thread = (await services.conversations.turn(ada, "hello")).thread_id
            runtime.install(services)
            try:
                yield Desk(services, module_database, thread)
            finally:
                runtime.install(None)

    exits = AsyncExitStack()
    made = loop.run(exits.enter_async_context(built()))
    try:
        yield made
    finally:
        loop.run(exits.aclose())


def client(app: FastAPI, base: str = BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


async def sign_in(app: FastAPI, password: str = PASSWORD) -> str:
    """Ada signs in on Chainlit's form, as the browser does: her session token."""
    async with client(app) as http:
        answer = await http.post(
            "/chat/login", data={"username": "ada@example.com", "password": password}
        )
    assert answer.status_code == 200, answer.text
    return str(answer.cookies["access_token"])


async def works(app: FastAPI, token: str, desk: Desk) -> dict[str, int]:
    """The status of the token on our replay API and Chainlit's own routes."""
    bearer = {"Authorization": f"Bearer {token}"}
    async with client(app) as http:
        answers = {
            "replay": await http.get(f"/api/threads/{desk.thread}/replay", headers=bearer),
            "chat user": await http.get("/chat/user", headers=bearer),
            "chat threads": await http.post(
                "/chat/project/threads",
                json={"pagination": {"first": 5}, "filter": {}},
                headers={"Cookie": f"access_token={token}"},
            ),
        }
    for answer in answers.values():
        if answer.status_code == 401:
            assert answer.json() == {"detail": ENDED}
    return {name: answer.status_code for name, answer in answers.items()}


LIVE = {"replay": 200, "chat user": 200, "chat threads": 200}
ENDED_EVERYWHERE = {"replay": 401, "chat user": 401, "chat threads": 401}


def test_signing_out_ends_the_token_on_every_route(
    desk: Desk, web_app: FastAPI, loop: Loop
) -> None:
    async def scenario() -> None:
        token, other = await sign_in(web_app), await sign_in(web_app)
        assert await works(web_app, token, desk) == LIVE
        async with client(web_app) as http:
            out = await http.post("/chat/logout", headers={"Cookie": f"access_token={token}"})
            assert out.status_code == 200
            assert 'access_token=""' in out.headers["set-cookie"]  # Chainlit clears it
            assert await works(web_app, token, desk) == ENDED_EVERYWHERE
            # Nor does it buy a fresh token from Chainlit's token-for-token route.
            renewed = await http.post(
                "/chat/auth/jwt", headers={"Authorization": f"Bearer {token}"}
            )
            assert renewed.status_code == 401, renewed.text
            # A browser holding the old cookie is sent to sign in, and may.
            page = await http.get(
                "/chat/", headers={"Accept": "text/html", "Cookie": f"access_token={token}"}
            )
            assert (page.status_code, page.headers["location"]) == (303, "/chat/login")
            login_page = await http.get("/chat/login", headers={"Cookie": f"access_token={token}"})
            assert login_page.status_code == 200
        assert await works(web_app, other, desk) == LIVE  # another sign-in is not touched

    loop.run(scenario())


def test_a_token_from_before_sessions_were_kept_is_refused(
    desk: Desk, web_app: FastAPI, loop: Loop
) -> None:
    from chainlit.auth import create_jwt
    from chainlit.user import User

    async def scenario() -> None:
        token = await sign_in(web_app)
        claims = decoded_claims(token)
        del claims["metadata"]["session_id"]
        old = create_jwt(User(identifier=claims["identifier"], metadata=claims["metadata"]))
        assert await works(web_app, old, desk) == ENDED_EVERYWHERE

    loop.run(scenario())


def decoded_claims(token: str) -> dict[str, Any]:
    import jwt

    return dict(jwt.decode(token, options={"verify_signature": False}))


async def password_form(http: httpx.AsyncClient, token: str) -> str:
    page = await http.get("/account/password", headers={"Cookie": f"access_token={token}"})
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def change(http: httpx.AsyncClient, token: str, **fields: str) -> httpx.Response:
    csrf = await password_form(http, token)
    return await http.post(
        "/account/password",
        data={"csrf_token": csrf, **fields},
        headers={"Cookie": f"access_token={token}; travelhub_password_csrf={csrf}"},
    )


def stored_hash(desk: Desk) -> str:
    with psycopg.connect(libpq_url(desk.database)) as owner:
        row = owner.execute(
            "SELECT hashed_password FROM users WHERE email = 'ada@example.com'"
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_the_password_page_refuses_mistakes_and_changes_nothing(
    desk: Desk, web_app: FastAPI, loop: Loop
) -> None:
    before = stored_hash(desk)

    async def scenario() -> None:
        token, other = await sign_in(web_app), await sign_in(web_app)
        async with client(web_app) as http:
            wrong = await change(
                http, token, current="not my password", new="second password",
                repeated="second password",
            )  # fmt: skip
            assert wrong.status_code == 422
            assert WRONG_CURRENT in wrong.text
            short = await change(http, token, current=PASSWORD, new="short", repeated="short")
            assert short.status_code == 422
            problem = password_problem("short")
            assert problem is not None
            assert problem in short.text
            forged = await http.post(
                "/account/password",
                data={"current": PASSWORD, "new": "second password",
                      "repeated": "second password", "csrf_token": "guessed"},
                headers={"Cookie": f"access_token={token}"},
            )  # fmt: skip
            assert forged.status_code == 403
            signed_out = await http.get("/account/password")
            assert (signed_out.status_code, signed_out.headers["location"]) == (
                303,
                "/chat/login",
            )
        assert await works(web_app, other, desk) == LIVE

    loop.run(scenario())
    assert stored_hash(desk) == before


async def chat_socket(base: str, token: str, http: aiohttp.ClientSession) -> Any:
    """A chat tab's socket.io connection with `token`'s cookie, as Chainlit's frontend opens it
    (over `http`, which the test closes: a refused client would leave its own open)."""
    tab = socketio.AsyncClient(reconnection=False, http_session=http)
    await tab.connect(
        base,
        headers={"Cookie": f"access_token={token}"},
        auth={"clientType": "webapp", "sessionId": str(uuid.uuid4()), "threadId": "",
              "userEnv": "{}", "chatProfile": ""},
        transports=["websocket"],
        socketio_path=SOCKET_PATH,
        wait_timeout=10,
    )  # fmt: skip
    return tab


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The web app on a real port of this process (a socket needs one), with its services."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def until_disconnected(tab: Any) -> None:
    for _ in range(100):
        if not tab.connected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the socket of an ended session stayed open")


def test_a_password_change_ends_every_other_session_and_its_socket(
    desk: Desk, web_app: FastAPI, loop: Loop
) -> None:
    async def scenario() -> None:
        async with served(web_app) as base, aiohttp.ClientSession() as http_session:
            mine, stolen, signed_out = [await sign_in(web_app) for _ in range(3)]
            own_tab = await chat_socket(base, mine, http_session)
            stolen_tab = await chat_socket(base, stolen, http_session)
            out_tab = await chat_socket(base, signed_out, http_session)
            assert [own_tab.connected, stolen_tab.connected, out_tab.connected] == [True] * 3

            async with client(web_app) as http:
                await http.post("/chat/logout", headers={"Cookie": f"access_token={signed_out}"})
            await until_disconnected(out_tab)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await chat_socket(base, signed_out, http_session)

            async with client(web_app) as http:
                done = await change(
                    http, mine, current=PASSWORD, new="second password",
                    repeated="second password",
                )  # fmt: skip
            assert (done.status_code, done.headers["location"]) == (303, "/chat/")
            await until_disconnected(stolen_tab)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await chat_socket(base, stolen, http_session)
            assert await works(web_app, stolen, desk) == ENDED_EVERYWHERE
            # The page's own session carries on: its socket stays, its token still works.
            assert own_tab.connected
            assert await works(web_app, mine, desk) == LIVE
            again = await chat_socket(base, mine, http_session)
            assert again.connected
            for tab in (own_tab, again):
                await tab.disconnect()
        sessions = desk.services.sessions
        assert await authenticate(sessions, "ada@example.com", PASSWORD) is None
        assert await authenticate(sessions, "ada@example.com", "second password") is not None
        await _set_back(desk)

    loop.run(scenario())


async def _set_back(desk: Desk) -> None:
    from accounts.password_change import set_password

    await set_password(desk.services.sessions, "ada@example.com", PASSWORD)


def test_set_password_ends_every_session(
    desk: Desk, web_app: FastAPI, loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", desk.database)
    monkeypatch.setenv("APP_DATABASE_URL", app_url(desk.database))
    monkeypatch.setenv("TRAVELHUB_MAINTENANCE_INTERVAL", "0")
    tokens = [loop.run(sign_in(web_app)) for _ in range(2)]
    cli = CliRunner()
    command = ["users", "set-password", "--email", "Ada@Example.com"]
    short = cli.invoke(cli_app, command, input="short\nshort\n")
    assert short.exit_code == 1
    assert short.stderr.strip() == f"travelhub: {password_problem('short')}"
    nobody = cli.invoke(
        cli_app, ["users", "set-password", "--email", "nobody@example.com"],
        input="third password\nthird password\n",
    )  # fmt: skip
    assert nobody.exit_code == 1
    assert nobody.stderr.strip() == (
        "travelhub: No account has the email address 'nobody@example.com'."
    )
    for token in tokens:
        assert loop.run(works(web_app, token, desk)) == LIVE
    done = cli.invoke(cli_app, command, input="third password\nthird password\n")
    assert done.exit_code == 0, done.output
    assert "third password" not in done.output
    assert re.search(r"ada@example\.com; \d+ session\(s\) ended", done.stdout), done.stdout
    for token in tokens:
        assert loop.run(works(web_app, token, desk)) == ENDED_EVERYWHERE
    assert loop.run(sign_in(web_app, "third password"))
    loop.run(_set_back(desk))
