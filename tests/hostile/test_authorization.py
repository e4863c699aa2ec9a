"""Randomised authorization: six people in three tenants, each with conversations, messages
and bookings, probing each other's through every entry point: the chat's data layer (as
called, and over Chainlit's own HTTP API), the replay and export API, the `travelhub`
command, the agent's tools (through real turns) and the services behind them. Nothing of
another person is ever returned or changed; a tenant's admin reaches the tenant's bookings
and replays, never another tenant's."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from chainlit.types import Feedback, Pagination, ThreadFilter
from fastapi import FastAPI
from typer.testing import CliRunner

from accounts.directory import Account, account_by_email
from agent.bootstrap import Services
from agent.customers import contact_of, customer_of
from cli.main import app as cli_app
from db.urls import libpq_url
from tests.conftest import app_url
from tests.hostile.conftest import Loop, token_for
from tests.integration.agent_world import stack
from tools.booking import BookingRequest
from tools.errors import TravelError
from tools.queries import FlightFilters, FlightQuery
from tools.search import Searcher
from web import runtime
from web.data_layer import VIEWER, TravelDataLayer

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

SEED = 20261128
TENANTS = ("default", "north", "south")
SAID = [
    "hello",
    "Flights from Rome to Paris in 30 days",
    "show my bookings",
    "A hotel in Lisbon for 2 nights in 3 weeks",
    "thanks",
]
NOT_YOURS = "I found no booking"


@dataclass
class Person:
    name: str
    tenant: str
    traveller: Account
    threads: list[str] = field(default_factory=list)
    ui_ids: dict[str, str] = field(default_factory=dict)
    """Thread id: the interface id of a reply in it (what feedback names)."""
    references: list[str] = field(default_factory=list)

    @property
    def email(self) -> str:
        return self.traveller.email

    @property
    def admin(self) -> bool:
        return self.traveller.is_admin


@dataclass
class World:
    services: Services
    people: list[Person]
    database: str
    probes: dict[str, int] = field(default_factory=dict)

    def count(self, entry: str, probes: int = 1) -> None:
        self.probes[entry] = self.probes.get(entry, 0) + probes

    def owner_of_thread(self, thread: str) -> Person:
        return next(person for person in self.people if thread in person.threads)

    def owner_of_booking(self, reference: str) -> Person:
        return next(person for person in self.people if reference in person.references)

    def threads(self) -> list[str]:
        return [thread for person in self.people for thread in person.threads]

    def references(self) -> list[str]:
        return [reference for person in self.people for reference in person.references]


def may_replay(viewer: Person, author: Person) -> bool:
    """The replay API's rule: the author, or an admin of the author's tenant."""
    return viewer is author or (viewer.admin and viewer.tenant == author.tenant)


def may_see_booking(viewer: Person, holder: Person) -> bool:
    """The bookings' rule (show, cancel): the holder, or an admin of the holder's tenant."""
    return may_replay(viewer, holder)


async def _book(services: Services, person: Person, days: int) -> str:
    customer = customer_of(person.traveller)
    flights = await services.search.search_flights(
        FlightQuery(
            origin="LON", destination="BCN", departure_date=date.today() + timedelta(days=days)
        ),
        FlightFilters(),
        searcher=Searcher(tenant_id=customer.tenant_id, user_id=customer.user_id),
    )
    booking = await services.bookings.book(
        BookingRequest(
            offers=(flights.offers[0],),
            contact=contact_of(person.traveller),
            idempotency_key=uuid.uuid4().hex,
        ),
        customer=customer,
    )
    return booking.booking_reference


@pytest.fixture(scope="module")
def world(module_database: str, loop: Loop) -> Iterator[World]:
    chance = random.Random(SEED)
    with psycopg.connect(libpq_url(module_database), autocommit=True) as owner:
        for slug in TENANTS[1:]:
            owner.execute("INSERT INTO tenants (slug, name) VALUES (%s, %s)", (slug, slug.title()))
        names = ["ada", "bob", "cy", "dee", "eve", "fay"]
        placed = [(name, TENANTS[index // 2]) for index, name in enumerate(names)]
        for name, tenant in placed:
            role = "admin" if chance.random() < 0.4 else "user"
            owner.execute(
                "INSERT INTO users (id, tenant_id, email, full_name, role) SELECT"
                " gen_random_uuid(), id, %s, %s, %s FROM tenants WHERE slug = %s",
                (f"{name}@example.com", name.title(), role, tenant),
            )

    @asynccontextmanager
    async def built() -> AsyncIterator[World]:
        async with stack(module_database, app_url(module_database)) as services:
            people = [
                Person(
                    name,
                    tenant,
                    await account_by_email(
                        services.sessions, tenant, f"{name}@example.com", create=False
                    ),
                )
                for name, tenant in placed
            ]
            for person in people:
                for _ in range(chance.randint(2, 3)):
                    thread = None
                    for text in chance.sample(SAID, chance.randint(1, 2)):
                        ui = str(uuid.uuid4())
                        result = await services.conversations.turn(
                            person.traveller, text, thread_id=thread, reply_ui_ids=[ui]
                        )
                        thread = result.thread_id
                    assert thread is not None
                    person.threads.append(thread)
                    person.ui_ids[thread] = ui
                for _ in range(chance.randint(1, 2)):
                    person.references.append(await _book(services, person, chance.randint(30, 90)))
            runtime.install(services)
            try:
                yield World(services, people, module_database)
            finally:
                runtime.install(None)

    exits = AsyncExitStack()
    made = loop.run(exits.enter_async_context(built()))
    roles = {person.name: (person.tenant, person.admin) for person in made.people}
    assert any(admin for _, admin in roles.values()), roles  # the seed gives admins...
    assert not all(admin for _, admin in roles.values()), roles  # ...and travellers
    try:
        yield made
    finally:
        loop.run(exits.aclose())
        print(f"\nauthorization: {sum(made.probes.values())} probes {made.probes}")


def _state(database: str) -> dict[str, Any]:
    """What no probe may change: sessions, messages, bookings, checkpoints."""
    with psycopg.connect(libpq_url(database)) as owner:
        queries = {
            "sessions": "SELECT thread_id, title, status, deleted_at FROM chat_sessions",
            "messages": "SELECT id, content, attributes FROM chat_messages",
            "bookings": "SELECT booking_reference, status, refund_amount FROM bookings",
            "checkpoints": "SELECT thread_id, count(*) FROM checkpoints GROUP BY thread_id",
        }
        return {name: {str(row) for row in owner.execute(sql)} for name, sql in queries.items()}


@pytest.fixture
def untouched(world: World) -> Iterator[World]:
    """The world, checked afterwards to hold exactly what it held before the probes (rows
    added by the probing person's own new conversations aside)."""
    before = _state(world.database)
    yield world
    after = _state(world.database)
    for name, rows in before.items():
        assert rows <= after[name], (name, sorted(rows - after[name])[:5])


def test_the_chat_data_layer_hands_nobody_anothers_threads(untouched: World, loop: Loop) -> None:
    """As called inside a web request of each person (Chainlit checks the author before some
    of these calls, not before feedback; the layer checks them all)."""
    world = untouched
    layer = TravelDataLayer(runtime.services)

    async def probe(viewer: Person) -> None:
        marker = VIEWER.set(viewer.email)
        try:
            for thread in world.threads():
                author = world.owner_of_thread(thread)
                mine = author is viewer
                # The author, for Chainlit to compare with the person signed in (it refuses).
                assert await layer.get_thread_author(thread) == author.email
                found = await layer.get_thread(thread)
                assert (found is not None) == mine, (viewer.name, author.name)
                if found is not None:
                    assert found["userIdentifier"] == viewer.email
                world.count("data layer", 2)
                if mine:
                    continue
                ui, user = author.ui_ids[thread], str(viewer.traveller.user_id)
                await layer.update_thread(thread, name="pwned", user_id=user)
                await layer.delete_thread(thread)
                rated = Feedback(forId=ui, value=0, threadId=thread)
                assert await layer.upsert_feedback(rated) == ""
                assert await layer.upsert_feedback(Feedback(forId=ui, value=1)) == ""
                assert await layer.delete_feedback(ui) is False
                world.count("data layer", 5)
            for person in world.people:
                page = await layer.list_threads(
                    Pagination(first=50), ThreadFilter(userId=str(person.traveller.user_id))
                )
                listed = {thread["id"] for thread in page.data}
                assert listed == (set(viewer.threads) if person is viewer else set())
                world.count("data layer")
        finally:
            VIEWER.reset(marker)

    for viewer in world.people:
        loop.run(probe(viewer))


def test_chainlit_http_api_serves_each_person_only_their_own_threads(
    untouched: World, web_app: FastAPI, loop: Loop
) -> None:
    """Chainlit's own endpoints (sidebar, resume, rename, delete, feedback), signed in as each
    person in turn, asking for everyone's threads."""
    world = untouched

    async def probe(client: httpx.AsyncClient, viewer: Person) -> None:
        client.headers["Authorization"] = f"Bearer {token_for(viewer.traveller, world.database)}"
        for person in world.people:
            listed = await client.post(
                "/chat/project/threads",
                json={
                    "pagination": {"first": 50},
                    "filter": {"userId": str(person.traveller.user_id)},
                },
            )
            assert listed.status_code == 200, listed.text
            assert {t["id"] for t in listed.json()["data"]} == set(viewer.threads)
            world.count("chainlit http")
        for thread in world.threads():
            author = world.owner_of_thread(thread)
            read = await client.get(f"/chat/project/thread/{thread}")
            world.count("chainlit http")
            if author is viewer:
                assert read.status_code == 200, read.text
                assert read.json()["userIdentifier"] == viewer.email
                continue
            assert read.status_code == 401, (viewer.name, read.status_code)
            ui = author.ui_ids[thread]
            answers = [
                await client.put(
                    "/chat/project/thread", json={"threadId": thread, "name": "pwned"}
                ),
                await client.request("DELETE", "/chat/project/thread", json={"threadId": thread}),
                await client.put(
                    "/chat/feedback",
                    json={
                        "feedback": {"forId": ui, "threadId": thread, "value": 0},
                        "sessionId": str(uuid.uuid4()),
                    },
                ),
                await client.request("DELETE", "/chat/feedback", json={"feedbackId": ui}),
            ]
            world.count("chainlit http", len(answers))
            for answer in answers:
                assert answer.status_code < 500, answer.text
                if answer.status_code == 200:
                    assert answer.json().get("feedbackId", "") == "", answer.text

    async def run() -> None:
        transport = httpx.ASGITransport(app=web_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for viewer in world.people:
                await probe(client, viewer)

    loop.run(run())


def test_the_replay_api_follows_its_rule_for_every_pair(
    untouched: World, web_app: FastAPI, loop: Loop
) -> None:
    world = untouched

    async def run() -> None:
        transport = httpx.ASGITransport(app=web_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for viewer in world.people:
                headers = {"Authorization": f"Bearer {token_for(viewer.traveller, world.database)}"}
                for thread in world.threads():
                    author = world.owner_of_thread(thread)
                    answer = await client.get(f"/api/threads/{thread}/replay", headers=headers)
                    exported = await client.get(f"/api/threads/{thread}/export", headers=headers)
                    world.count("replay api", 2)
                    if may_replay(viewer, author):
                        assert answer.status_code == 200, answer.text
                        assert answer.json()["thread_id"] == thread
                        assert answer.json()["messages"]
                        assert exported.status_code == 200, exported.text
                        assert exported.json()["thread_id"] == thread
                        assert exported.json()["traveller"]["email"] == author.email
                    else:
                        for refused in (answer, exported):
                            assert refused.status_code == 403, (viewer.name, author.name)
                            assert refused.json() == {"detail": "That conversation is not yours."}

    loop.run(run())


def test_the_replay_pages_follow_the_replay_apis_rule_for_every_pair(
    untouched: World, web_app: FastAPI, loop: Loop
) -> None:
    """/replay/ lists only what the viewer may replay; a thread's page, its checkpoint
    fragment and its fork form refuse everyone else with 403 and none of its words."""
    world = untouched

    async def run() -> None:
        transport = httpx.ASGITransport(app=web_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for viewer in world.people:
                headers = {"Authorization": f"Bearer {token_for(viewer.traveller, world.database)}"}
                listed = await client.get("/replay/", headers=headers)
                world.count("replay pages")
                assert listed.status_code == 200, listed.text
                for thread in world.threads():
                    author = world.owner_of_thread(thread)
                    assert (thread in listed.text) == may_replay(viewer, author), (
                        viewer.name, author.name,
                    )  # fmt: skip
                    page = await client.get(f"/replay/{thread}", headers=headers)
                    fragment = await client.get(
                        f"/replay/{thread}/checkpoints/{uuid.uuid4()}", headers=headers
                    )
                    forked = await client.post(
                        f"/replay/{thread}/fork",
                        data={"checkpoint_id": "x", "message": "book it", "csrf_token": "t"},
                        headers={**headers, "Cookie": "travelhub_replay_csrf=t"},
                    )
                    world.count("replay pages", 3)
                    if may_replay(viewer, author):
                        assert page.status_code == 200, page.text
                        assert fragment.status_code == 404  # no such checkpoint
                        assert forked.status_code == 422  # nor one to fork from
                    else:
                        for refused in (page, fragment, forked):
                            assert refused.status_code == 403, (viewer.name, author.name)
                            assert "That conversation is not yours." in refused.text
                            assert author.email not in refused.text

    loop.run(run())


def test_the_agent_and_its_services_keep_bookings_to_their_holders(
    untouched: World, loop: Loop
) -> None:
    """Through real turns (the tools as the model calls them) and the services under them."""
    world = untouched
    desk = world.services.desk
    conversations = world.services.conversations

    async def probe(viewer: Person) -> None:
        customer = customer_of(viewer.traveller)
        listed = {summary.reference for summary in await desk.itineraries.list(customer)}
        assert listed == set(viewer.references)
        mine = await conversations.turn(viewer.traveller, "show my bookings")
        foreign = set(world.references()) - set(viewer.references)
        assert not any(reference in mine.reply for reference in foreign), mine.reply
        assert all(reference in mine.reply for reference in viewer.references), mine.reply
        world.count("services", 1)
        world.count("agent turns", 1)
        for reference in sorted(foreign):
            holder = world.owner_of_booking(reference)
            allowed = may_see_booking(viewer, holder)
            if allowed:
                assert (await desk.itineraries.show(reference, customer)).reference == reference
            else:
                with pytest.raises(TravelError, match=NOT_YOURS):
                    await desk.itineraries.show(reference, customer)
            shown_in_chat = await conversations.turn(viewer.traveller, f"show booking {reference}")
            assert (NOT_YOURS in shown_in_chat.reply) != allowed, shown_in_chat.reply
            cancel = await conversations.turn(viewer.traveller, f"cancel {reference}")
            if allowed:  # an admin is asked to confirm; they decline
                assert cancel.awaiting_confirmation, cancel.reply
                kept = await conversations.turn(viewer.traveller, "no", thread_id=cancel.thread_id)
                assert kept.reply.startswith("Kept booking"), kept.reply
            else:
                assert not cancel.awaiting_confirmation
                assert NOT_YOURS in cancel.reply, cancel.reply
                with pytest.raises(TravelError, match=NOT_YOURS):
                    await world.services.cancellations.cancel(reference, customer)
            world.count("services", 1 + (not allowed))
            world.count("agent turns", 2 + allowed)

    for viewer in world.people:
        loop.run(probe(viewer))


def test_the_command_line_keeps_each_person_to_their_own(
    untouched: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = untouched
    monkeypatch.setenv("DATABASE_URL", world.database)
    monkeypatch.setenv("APP_DATABASE_URL", app_url(world.database))
    monkeypatch.delenv("REDIS_URL", raising=False)
    cli = CliRunner()
    chance = random.Random(SEED + 1)
    for viewer in world.people:
        who = ["--user", viewer.email, "--tenant", viewer.tenant]
        listed = cli.invoke(cli_app, ["bookings", "list", *who, "--json"])
        assert listed.exit_code == 0, listed.stderr
        assert {b["reference"] for b in json.loads(listed.stdout)} == set(viewer.references)
        others = [p for p in world.people if p is not viewer]
        thread = chance.choice([t for p in others for t in p.threads])
        chat = cli.invoke(cli_app, ["chat", *who, "--thread", thread, "hello"])
        assert chat.exit_code == 1
        assert chat.stderr.strip() == f"travelhub: There is no conversation {thread} of yours."
        reference = chance.choice([r for p in others for r in p.references])
        allowed = may_see_booking(viewer, world.owner_of_booking(reference))
        shown = cli.invoke(cli_app, ["bookings", "show", reference, *who, "--json"])
        assert (shown.exit_code == 0) == allowed, (viewer.name, shown.stderr)
        if not allowed:
            assert shown.stderr.strip() == f"travelhub: I found no booking {reference} of yours."
            cancelled = cli.invoke(cli_app, ["bookings", "cancel", reference, *who])
            assert cancelled.exit_code == 1
            assert NOT_YOURS in cancelled.stderr
        # An operator acting for the viewer's tenant sees none of another tenant's bookings.
        strangers = [r for p in world.people if p.tenant != viewer.tenant for r in p.references]
        operator = cli.invoke(
            cli_app, ["bookings", "show", chance.choice(strangers), "--tenant", viewer.tenant]
        )
        assert operator.exit_code == 1
        assert NOT_YOURS in operator.stderr
        world.count("command line", 5 + (not allowed))
    # The operator's replay shows a thread's own messages, nobody else's.
    thread = chance.choice(world.threads())
    replayed = cli.invoke(cli_app, ["replay", thread, "--json"])
    assert replayed.exit_code == 0, replayed.stderr
    with psycopg.connect(libpq_url(world.database)) as owner:
        expected = {
            row[0]
            for row in owner.execute(
                "SELECT m.content FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id"
                " WHERE s.thread_id = %s",
                (uuid.UUID(thread),),
            )
        }
    assert {m["content"] for m in json.loads(replayed.stdout)["messages"]} == expected
    world.count("command line")


def test_an_address_reused_after_a_soft_delete_inherits_no_conversation(
    world: World, web_app: FastAPI, loop: Loop
) -> None:
    """Threads name their author by address; a soft-deleted account's address taken by a
    newcomer in another tenant must not open the old conversations, nor delete them.
    (Runs last in this module: it changes who the world's people are.)"""
    leaver = next(person for person in world.people if person.tenant == TENANTS[0])
    with psycopg.connect(libpq_url(world.database), autocommit=True) as owner:
        owner.execute("UPDATE users SET deleted_at = now() WHERE email = %s", (leaver.email,))
        owner.execute(
            "INSERT INTO users (id, tenant_id, email) SELECT gen_random_uuid(), id, %s"
            " FROM tenants WHERE slug = %s",
            (leaver.email, TENANTS[2]),
        )
    before = _state(world.database)
    layer = TravelDataLayer(runtime.services)

    async def probe() -> None:
        newcomer = await account_by_email(
            world.services.sessions, TENANTS[2], leaver.email, create=False
        )
        headers = {"Authorization": f"Bearer {token_for(newcomer, world.database)}"}
        transport = httpx.ASGITransport(app=web_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for thread in leaver.threads:
                replayed = await client.get(f"/api/threads/{thread}/replay", headers=headers)
                assert replayed.status_code == 404, replayed.text
                read = await client.get(f"/chat/project/thread/{thread}", headers=headers)
                assert read.status_code == 404 or read.json() is None, read.text
                removed = await client.request(
                    "DELETE", "/chat/project/thread", json={"threadId": thread}, headers=headers
                )
                assert removed.status_code < 500
                world.count("reused address", 3)
        marker = VIEWER.set(newcomer.email)
        try:
            for thread in leaver.threads:
                assert await layer.get_thread(thread) is None
                await layer.delete_thread(thread)
                world.count("reused address", 2)
        finally:
            VIEWER.reset(marker)

    loop.run(probe())
    assert _state(world.database) == before  # the old threads and their checkpoints remain
