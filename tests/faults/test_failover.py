"""The reference deployment (deploy/local.py: HAProxy, two instances, PgBouncer, a primary and
its replica, Redis) loses the instance serving a chat between two turns: the browser carries on
through the other one, nothing lost and nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import socketio  # type: ignore[import-untyped]
from psycopg.types.json import Jsonb

from deploy.local import INSTANCES, Deployment, MissingProgram, installed
from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.e2e.test_browser import say
from tests.faults.browser import PASSWORD, SOCKET_PATH, ChatTab, traveller_with_password, until

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.e2e]

EMAIL = "failover@example.com"
TIMEOUT = 30_000
SEARCH = "Flights from Madrid to Athens in six weeks"
BOOK = "book the cheapest"
CONFIRM = "Please confirm this booking"


def missing(reason: str) -> None:
    """CI installs everything (.ci/run): there a missing program fails; elsewhere it skips."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} .ci/run installs it.")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    if not Path(CHROMIUM).exists():
        missing(f"No Chromium at {CHROMIUM}: apt-get install chromium.")
    # The OAuth tests' providers would need callback URLs of their own here.
    environ = {key: value for key, value in os.environ.items() if not key.startswith("OAUTH_")}
    try:
        installed()
    except MissingProgram as absent:
        missing(str(absent))
    with Deployment(environ=environ) as started:
        print("deployment started:", {step: round(s, 1) for step, s in started.took.items()})
        yield started


def serving(page: Any) -> str:
    """The instance HAProxy's sticky cookie sends this browser to."""
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    return str(cookies["SERVERID"])


def rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as connection:
        return [tuple(row) for row in connection.execute(query, params).fetchall()]


SESSIONS = (
    "SELECT s.thread_id::text FROM chat_sessions s JOIN users u ON u.id = s.user_id"
    " WHERE u.email = %s"
)
MESSAGES = (
    "SELECT m.role, m.content FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id"
    " WHERE s.thread_id = %s ORDER BY m.id"
)


def test_the_chat_carries_on_when_its_instance_dies(deployment: Deployment) -> None:
    owner = deployment.settings["DATABASE_URL"]
    traveller_with_password(owner, EMAIL)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{deployment.url}/chat/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            say(page, SEARCH)
            page.get_by_role("button", name="Book flight #1").wait_for(timeout=TIMEOUT)
            first = serving(page)
            [(thread,)] = rows(owner, SESSIONS, EMAIL)

            with page.expect_websocket(timeout=TIMEOUT) as reconnected:
                deployment.kill(first)  # between two turns, as a crashed machine: no goodbye
                killed_at = time.monotonic()
            # The page is back once the other instance has resumed the thread into it.
            reconnected.value.wait_for_event(
                "framereceived", lambda frame: '"resume_thread"' in str(frame), timeout=TIMEOUT
            )
            resumed_after = time.monotonic() - killed_at
            assert page.get_by_text("flights Madrid (MAD) to Athens (ATH)").count() >= 1
            say(page, BOOK)
            page.get_by_role("button", name="Confirm").wait_for(timeout=TIMEOUT)
            answered_after = time.monotonic() - killed_at
            page.get_by_role("button", name="Confirm").click()
            page.get_by_text("Booked! Your reference is").wait_for(timeout=TIMEOUT)
            assert page.get_by_text("flights Madrid (MAD) to Athens (ATH)").count() >= 1
            second = serving(page)

            page.reload()
            page.goto(f"{deployment.url}/chat/thread/{thread}")
            page.get_by_text("flights Madrid (MAD) to Athens (ATH)").first.wait_for(timeout=TIMEOUT)
            page.get_by_text("Booked! Your reference is").first.wait_for(timeout=TIMEOUT)
            assert page.get_by_text(SEARCH).count() >= 1
            assert page.get_by_text(BOOK).count() >= 1
        finally:
            browser.close()
    print(f"{first} killed; the page was resumed by {second} {resumed_after:.1f} s later and"
          f" the next turn answered {answered_after:.1f} s after the kill")  # fmt: skip
    assert {first, second} == set(INSTANCES)

    stored = rows(owner, MESSAGES, thread)
    said = [content for role, content in stored if role == "user"]
    assert said == [SEARCH, BOOK, "yes"], stored  # "yes": the Confirm button
    # Empty assistant rows are the model's tool calls; every row with words is there once.
    twice = {pair: n for pair, n in Counter(row for row in stored if row[1]).items() if n > 1}
    assert not twice, f"stored more than once: {twice}\n{stored}"
    assert rows(owner, SESSIONS, EMAIL) == [(thread,)]
    booked = "SELECT b.status FROM bookings b JOIN chat_sessions s ON s.id = b.session_id"
    assert rows(owner, f"{booked} WHERE s.thread_id = %s", thread) == [("confirmed",)]
    counted = (
        "SELECT e.event_type, count(*) FROM analytics_events e"
        " JOIN chat_sessions s ON s.id = e.session_id WHERE s.thread_id = %s GROUP BY 1"
    )
    events = dict(rows(owner, counted, thread))
    assert events["message_sent"] == events["turn_completed"] == len(said), events

    # The replica streams it all; the app's own connections came through PgBouncer.
    replica = deployment.settings["ANALYTICS_DATABASE_URL"]
    deadline = time.monotonic() + 10
    while rows(replica, MESSAGES, thread) != stored:
        assert time.monotonic() < deadline, "the replica did not catch up within 10 s"
        time.sleep(0.2)
    assert "login attempt: db=travelhub user=travelhub_app" in deployment.log("pgbouncer")
    balancer = deployment.log("haproxy")
    assert "/chat/ws/socket.io" in balancer
    for instance in INSTANCES:
        assert f"travelhub/{instance} " in balancer


async def test_a_message_sent_while_reconnecting_waits_for_the_resume(
    deployment: Deployment,
) -> None:
    """The browser flushes a message typed while it reconnected before it says the connection
    is up: the instance it lands on must resume the thread first, not answer from nothing."""
    owner, email = deployment.settings["DATABASE_URL"], "reconnect@example.com"
    traveller_with_password(owner, email)
    tab = ChatTab(deployment.url, email)
    await tab.open()
    first = await tab.say(SEARCH)
    await until(lambda: first.ended)
    await tab.close()
    thread_of = (
        "SELECT s.thread_id::text, s.title, s.context FROM chat_sessions s"
        " JOIN users u ON u.id = s.user_id WHERE u.email = %s"
    )
    await asyncio.sleep(0.5)  # the tab's goodbye keeps its settings with the thread
    [(thread, title, _)] = rows(owner, thread_of, email)
    chosen = {"chat_settings": {"cabin": "business", "currency": "USD", "travellers": 1}}
    update = "UPDATE chat_sessions SET context = %s WHERE thread_id = %s RETURNING 1"
    assert rows(owner, update, Jsonb(chosen), thread) == [(1,)]

    async with httpx.AsyncClient(base_url=deployment.url) as http:
        login = await http.post("/chat/login", data={"username": email, "password": PASSWORD})
        login.raise_for_status()
        cookie = "; ".join(f"{name}={value}" for name, value in login.cookies.items())
    said: list[str] = []

    async def hear(event: str, data: Any = None) -> None:
        if event in {"new_message", "update_message"} and isinstance(data, dict):
            said.append(str(data.get("output") or ""))
        elif event == "stream_token" and isinstance(data, dict):
            said.append(str(data.get("token", "")))

    client = socketio.AsyncClient(reconnection=False)
    client.on("*", hear)
    await client.connect(
        deployment.url, headers={"Cookie": cookie}, transports=["websocket"],
        auth={"clientType": "webapp", "sessionId": str(uuid.uuid4()), "threadId": thread,
              "userEnv": "{}", "chatProfile": ""},
        socketio_path=SOCKET_PATH, wait_timeout=10,
    )  # fmt: skip
    try:
        step = {"threadId": "", "id": str(uuid.uuid4()), "name": email, "output": BOOK,
                "type": "user_message", "createdAt": "2026-01-01T00:00:00Z",
                "metadata": {}}  # fmt: skip
        await client.emit("client_message", {"message": step, "fileReferences": []})
        await asyncio.sleep(0.2)  # the order a reconnecting browser's packets arrive in
        await client.emit("connection_successful")
        with contextlib.suppress(AssertionError):  # the assertion below says what it heard
            await until(lambda: any(reply in "".join(said) for reply in (CONFIRM, "consent")))
    finally:
        await client.disconnect()
    assert CONFIRM in "".join(said), said
    # Neither renamed after the message nor its chat settings reset to the defaults.
    assert rows(owner, thread_of, email) == [(thread, title, chosen)]
