"""Chainlit's HTTP API on our data layer, fed any text a JSON body can carry (NUL, lone
surrogates, LIKE wildcards, markup): never a 5xx, and what is stored is storable text."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.directory import Account
from db.urls import libpq_url
from tests.conftest import app_url
from tests.hostile.conftest import Loop, token_for
from tests.integration.agent_world import stack, traveller
from web import runtime

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

EXAMPLES = 50
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=120) | st.sampled_from(
    ["\x00", "%", "_", "\\", "[/b]", "' OR 1=1 --", "\ud800", "a" * 5_000, ""]
)


@dataclass
class Chat:
    ada: Account
    thread: str
    ui_id: str
    database: str


@pytest.fixture(scope="module")
def chat(module_database: str, loop: Loop) -> Iterator[Chat]:
    @asynccontextmanager
    async def built() -> AsyncIterator[Chat]:
        async with stack(module_database, app_url(module_database)) as services:
            ada = await traveller(services)
            ui_id = str(uuid.uuid4())
            result = await services.conversations.turn(ada, "hello", reply_ui_ids=[ui_id])
            runtime.install(services)
            try:
                yield Chat(ada, result.thread_id, ui_id, module_database)
            finally:
                runtime.install(None)

    exits = AsyncExitStack()
    made = loop.run(exits.enter_async_context(built()))
    try:
        yield made
    finally:
        loop.run(exits.aclose())


def _json(body: dict[str, Any]) -> dict[str, Any]:
    # ASCII-escaped JSON: a lone surrogate travels as "\ud800", as a browser may send it.
    return {"content": json.dumps(body), "headers": {"content-type": "application/json"}}


def test_any_text_in_any_field_never_breaks_the_api(
    chat: Chat, web_app: FastAPI, loop: Loop
) -> None:
    statuses: dict[str, set[int]] = {}

    async def requests(client: httpx.AsyncClient, text: str) -> None:
        calls = {
            "rename": client.put(
                "/chat/project/thread", **_json({"threadId": chat.thread, "name": text})
            ),
            "search": client.post(
                "/chat/project/threads",
                **_json({"pagination": {"first": 5}, "filter": {"search": text}}),
            ),
            "rate": client.put(
                "/chat/feedback",
                **_json(
                    {
                        "feedback": {"forId": chat.ui_id, "value": 1, "comment": text},
                        "sessionId": "s",
                    }
                ),
            ),
            "rate unknown": client.put(
                "/chat/feedback",
                **_json({"feedback": {"forId": text, "value": 0}, "sessionId": "s"}),
            ),
            "unrate": client.request("DELETE", "/chat/feedback", **_json({"feedbackId": text})),
            "read": client.get(f"/chat/project/thread/{quote(text, safe='', errors='replace')}"),
            "cursor": client.post(
                "/chat/project/threads",
                **_json({"pagination": {"first": 5, "cursor": text}, "filter": {}}),
            ),
            "login": client.post(
                "/chat/login",
                data={"username": text.encode(errors="replace").decode(), "password": "x"},
            ),
        }
        for name, call in calls.items():
            answer = await call
            statuses.setdefault(name, set()).add(answer.status_code)
            assert answer.status_code < 500, (name, text, answer.text)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(text=ANY_TEXT)
    def any_text(text: str) -> None:
        async def run() -> None:
            transport = httpx.ASGITransport(app=web_app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://testserver",
                headers={"Authorization": f"Bearer {token_for(chat.ada, chat.database)}"},
            ) as client:
                await requests(client, text)

        loop.run(run())

    any_text()
    print(f"\nchainlit api: {EXAMPLES} texts x {len(statuses)} endpoints, statuses {statuses}")

    async def last_words() -> None:
        transport = httpx.ASGITransport(app=web_app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token_for(chat.ada, chat.database)}"},
        ) as client:
            await client.put(
                "/chat/project/thread",
                **_json({"threadId": chat.thread, "name": "Lisbon\x00\ud800 trip"}),
            )
            rated = await client.put(
                "/chat/feedback",
                **_json(
                    {
                        "feedback": {"forId": chat.ui_id, "value": 0, "comment": "bad\x00\udfff"},
                        "sessionId": "s",
                    }
                ),
            )
            assert rated.json()["feedbackId"] == chat.ui_id

    loop.run(last_words())
    with psycopg.connect(libpq_url(chat.database)) as owner:
        stored = owner.execute(
            "SELECT s.title, m.attributes->'feedback' FROM chat_sessions s"
            " JOIN chat_messages m ON m.session_id = s.id WHERE s.thread_id = %s"
            " AND m.attributes->'ui_ids' ? %s",
            (uuid.UUID(chat.thread), chat.ui_id),
        ).fetchone()
    # Kept as typed, bar what PostgreSQL cannot hold.
    assert stored == ("Lisbon\ufffd\ufffd trip", {"value": 0, "comment": "bad\ufffd\ufffd"})


def test_the_sidebar_search_takes_wildcards_literally(
    chat: Chat, web_app: FastAPI, loop: Loop
) -> None:
    async def search(text: str) -> list[str]:
        transport = httpx.ASGITransport(app=web_app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token_for(chat.ada, chat.database)}"},
        ) as client:
            await client.put(
                "/chat/project/thread", json={"threadId": chat.thread, "name": "Rome 100%"}
            )
            found = await client.post(
                "/chat/project/threads",
                json={"pagination": {"first": 5}, "filter": {"search": text}},
            )
        assert found.status_code == 200, found.text
        return [thread["name"] for thread in found.json()["data"]]

    assert loop.run(search("100%")) == ["Rome 100%"]
    assert loop.run(search("%")) == ["Rome 100%"]
    assert loop.run(search("_")) == []
    assert loop.run(search("Rome_")) == []
