"""Replay's pages on a real database: the list (newest first, found by email, date, outcome,
model, a page at a time), a thread's transcript beside its timeline, the state at a
checkpoint, a fork from the page, and forks kept out of the traveller's history sidebar."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from chainlit.types import Pagination, ThreadFilter

from accounts.directory import Account, account_by_email
from agent.bootstrap import Services
from tests.integration.agent_world import traveller
from tests.integration.conftest import router_client
from web import replay_pages
from web.data_layer import TravelDataLayer
from web.replay_pages import CSRF_COOKIE, replay_router

pytestmark = pytest.mark.integration
SECRET = "replay-pages-tests-only-" + "x" * 32


def _token(person: Account) -> str:
    from chainlit.auth.jwt import create_jwt
    from chainlit.user import User

    role = "admin" if person.is_admin else "user"
    metadata = {"tenant_id": str(person.tenant_id), "user_id": str(person.user_id), "role": role}
    return create_jwt(User(identifier=person.email, metadata=metadata))


@pytest.fixture
async def client(
    installed_services: Services, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    del installed_services
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", SECRET)
    async with router_client(replay_router(chat_path="/chat")) as client:
        yield client


async def _talk(services: Services, person: Account, said: list[str]) -> str:
    thread = None
    for text in said:
        thread = (await services.conversations.turn(person, text, thread_id=thread)).thread_id
    assert thread is not None
    return thread


@pytest.fixture
async def people(services: Services, owner: Any) -> dict[str, Any]:
    """Ada's booked trip, her thread that only asked, Bob's thread; Dora, the admin."""
    ada = await traveller(services, "ada@example.com")
    bob = await traveller(services, "bob@example.com")
    owner.execute(
        "INSERT INTO users (id, tenant_id, email, role) SELECT gen_random_uuid(), id,"
        " 'dora@example.com', 'admin' FROM tenants WHERE slug = 'default'"
    )
    dora = await account_by_email(services.sessions, "default", "dora@example.com", create=False)
    booked = await _talk(
        services, ada, ["Flights from Madrid to Lisbon in 3 weeks", "book the cheapest", "yes"]
    )
    asked = await _talk(services, ada, ["hello"])
    bobs = await _talk(services, bob, ["Flights from Rome to Paris in 30 days"])
    return {"ada": ada, "bob": bob, "dora": dora, "booked": booked, "asked": asked, "bobs": bobs}


def _listed(page: str) -> list[str]:
    return re.findall(r'href="/replay/([0-9a-f-]{36})">', page)


async def test_an_admin_lists_and_finds_the_tenants_threads(
    client: httpx.AsyncClient,
    people: dict[str, Any],
    services: Services,
    owner: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = {"Authorization": f"Bearer {_token(people['dora'])}"}
    page = await client.get("/replay/", headers=admin)
    assert page.status_code == 200, page.text
    assert _listed(page.text) == [people["bobs"], people["asked"], people["booked"]]  # newest first
    by_email = await client.get("/replay/", params={"email": "ADA@"}, headers=admin)
    assert _listed(by_email.text) == [people["asked"], people["booked"]]
    booked = await client.get("/replay/", params={"outcome": "booked"}, headers=admin)
    assert _listed(booked.text) == [people["booked"]]
    abandoned = await client.get("/replay/", params={"outcome": "abandoned"}, headers=admin)
    assert _listed(abandoned.text) == [people["bobs"], people["asked"]]
    owner.execute("UPDATE bookings SET status = 'cancelled', cancelled_at = now()")
    cancelled = await client.get("/replay/", params={"outcome": "cancelled"}, headers=admin)
    assert _listed(cancelled.text) == [people["booked"]]
    # A turn that broke off marks its thread failed.
    await services.chat_sessions.note_failure(
        people["ada"].tenant_id, uuid.UUID(people["asked"]), "TimeoutError"
    )
    failed = await client.get("/replay/", params={"outcome": "failed"}, headers=admin)
    assert _listed(failed.text) == [people["asked"]]
    recorded = "SELECT DISTINCT model_name FROM chat_messages WHERE model_name IS NOT NULL"
    model = owner.execute(recorded).fetchone()[0]
    by_model = await client.get("/replay/", params={"model": model}, headers=admin)
    assert len(_listed(by_model.text)) == 3
    none = await client.get("/replay/", params={"model": "no-such-model"}, headers=admin)
    assert _listed(none.text) == []
    today = date.today().isoformat()
    dated = await client.get("/replay/", params={"since": today, "until": today}, headers=admin)
    assert len(_listed(dated.text)) == 3
    past = await client.get("/replay/", params={"until": "2000-01-01"}, headers=admin)
    assert _listed(past.text) == []
    bad = await client.get("/replay/", params={"since": "yesterday"}, headers=admin)
    assert bad.status_code == 422
    assert "The from date must look like 2025-06-30." in bad.text
    # A page at a time: the next page starts after the last thread of this one.
    monkeypatch.setattr(replay_pages, "PAGE_SIZE", 2)
    first = await client.get("/replay/", headers=admin)
    assert _listed(first.text) == [people["bobs"], people["asked"]]
    after = re.search(r'rel="next" href="/replay/\?after=([0-9a-f-]{36})"', first.text)
    assert after is not None
    assert after.group(1) == people["asked"]
    second = await client.get("/replay/", params={"after": after.group(1)}, headers=admin)
    assert _listed(second.text) == [people["booked"]]
    assert 'rel="next"' not in second.text


async def test_a_traveller_lists_only_their_own_and_nobody_is_let_in(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    bob = {"Authorization": f"Bearer {_token(people['bob'])}"}
    page = await client.get("/replay/", headers=bob)
    assert _listed(page.text) == [people["bobs"]]
    assert "ada@example.com" not in page.text
    for path in (f"/replay/{people['booked']}", f"/replay/{people['booked']}/checkpoints/x"):
        refused = await client.get(path, headers=bob)
        assert refused.status_code == 403
        assert "Madrid" not in refused.text
    browser = await client.get("/replay/", headers={"Accept": "text/html"})
    assert browser.status_code == 303
    assert browser.headers["location"] == "/chat/login"
    nobody = await client.get(f"/replay/{people['booked']}")
    assert nobody.status_code == 401
    assert "Sign in first." in nobody.text


async def test_a_thread_reads_as_its_transcript_beside_its_timeline(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    ada = {"Authorization": f"Bearer {_token(people['ada'])}"}
    page = await client.get(f"/replay/{people['booked']}", headers=ada)
    assert page.status_code == 200, page.text
    html = page.text
    assert "Flights from Madrid to Lisbon in 3 weeks" in html
    assert "search_flights" in html
    assert "&#34;origin&#34;" in html
    assert "Tool result: search_flights" in html
    assert "Agent asks (interrupt" in html
    assert "Traveller, answering the question" in html
    assert html.count('hx-get="/replay/') == 3  # one checkpoint a turn
    assert "pending interrupt" in html
    assert f'href="/api/threads/{people["booked"]}/export"' in html
    checkpoints = re.findall(r"\?checkpoint=([0-9a-f-]+)#state", html)
    # The plain link and the htmx fragment show the same state and its diff.
    chosen = await client.get(
        f"/replay/{people['booked']}", params={"checkpoint": checkpoints[1]}, headers=ada
    )
    fragment = await client.get(
        f"/replay/{people['booked']}/checkpoints/{checkpoints[1]}", headers=ada
    )
    for shown in (chosen.text, fragment.text):
        assert f"Changes since <code>{checkpoints[0]}</code>" in shown
        assert "+ traveller: book the cheapest" in shown
        assert "pending interrupt" in shown
    unknown = await client.get(f"/replay/{people['booked']}/checkpoints/nope", headers=ada)
    assert unknown.status_code == 404
    for garbage in ("not-a-uuid", str(uuid.uuid4()), "%00"):
        assert (await client.get(f"/replay/{garbage}", headers=ada)).status_code == 404


async def test_a_fork_from_the_page_runs_in_a_sandbox_and_stays_out_of_the_sidebar(
    client: httpx.AsyncClient, people: dict[str, Any], services: Services, owner: Any
) -> None:
    dora = {"Authorization": f"Bearer {_token(people['dora'])}"}
    thread = people["booked"]
    page = await client.get(f"/replay/{thread}", headers=dora)
    token = page.cookies[CSRF_COOKIE]
    after_search = re.findall(r"\?checkpoint=([0-9a-f-]+)#state", page.text)[0]
    form = {"checkpoint_id": after_search, "message": "book option 1", "csrf_token": token}
    stale = await client.post(
        f"/replay/{thread}/fork", data={**form, "csrf_token": "x"}, headers=dora
    )
    assert stale.status_code == 403
    forked = await client.post(f"/replay/{thread}/fork", data=form, headers=dora)
    assert forked.status_code == 303, forked.text
    sandbox = forked.headers["location"].rsplit("/", 1)[1]
    shown = await client.get(f"/replay/{sandbox}", headers=dora)
    assert "sandbox fork" in shown.text
    assert "Please confirm this booking" in shown.text
    original = await client.get(f"/replay/{thread}", headers=dora)
    assert f'href="/replay/{sandbox}"' in original.text  # the thread lists its forks
    assert owner.execute("SELECT count(*) FROM bookings").fetchone() == (1,)
    context = owner.execute(
        "SELECT context FROM chat_sessions WHERE thread_id = %s", (sandbox,)
    ).fetchone()[0]
    assert context["forked_from"] == thread
    assert context["sandbox"] is True
    # Never in Ada's history sidebar.
    layer = TravelDataLayer(lambda: services)
    listed = await layer.list_threads(
        Pagination(first=20), ThreadFilter(userId=str(people["ada"].user_id))
    )
    assert {t["id"] for t in listed.data} == {people["booked"], people["asked"]}
