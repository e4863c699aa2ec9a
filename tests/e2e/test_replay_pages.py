"""Replay's pages in Chromium: an admin finds a traveller's thread by email, steps through its
checkpoints and forks it before the booking; the fork answers and books nothing; a traveller
reaches neither another's thread nor the tenant's list."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from accounts.passwords import hash_password
from db.urls import libpq_url
from tests.conftest import app_url
from tests.e2e.conftest import PASSWORD, Server, screenshot
from tests.e2e.test_browser import log_in
from tests.integration.agent_world import stack, traveller

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
TIMEOUT = 30_000
FORK_MESSAGE = "what about business class?"


async def _conversations(database: str) -> tuple[str, str]:
    """Ada's booked trip and Bob's greeting, as their turns had them; their thread ids."""
    async with stack(database, app_url(database)) as services:
        ada = await traveller(services, "ada@example.com")
        bob = await traveller(services, "bob@example.com")
        thread = None
        for text in ["Flights from Madrid to Lisbon in 3 weeks", "book the cheapest", "yes"]:
            thread = (await services.conversations.turn(ada, text, thread_id=thread)).thread_id
        assert thread is not None
        return thread, (await services.conversations.turn(bob, "hello")).thread_id


def choose(page: Any, step: Any) -> None:
    """Click a timeline step and wait for its own state: the panel before it has a form too,
    which a test filling it at once would fill just before htmx swaps it away."""
    checkpoint = step.get_attribute("href").split("?checkpoint=")[1].split("#")[0]
    step.click()
    page.locator("#state h2 code").filter(has_text=checkpoint).wait_for(timeout=TIMEOUT)
    assert f"?checkpoint={checkpoint}" in page.url


def test_an_admin_finds_steps_through_and_forks_a_thread_and_a_traveller_cannot(
    browser: Any, server: Server, e2e_database: str, owner_db: Any
) -> None:
    with psycopg.connect(libpq_url(e2e_database), autocommit=True) as owner:
        owner.execute(
            "INSERT INTO users (tenant_id, email, full_name, hashed_password, role,"
            " data_processing_consent, consent_granted_at) SELECT id, 'dora@example.com',"
            " 'Dora', %s, 'admin', true, now() FROM tenants WHERE slug = 'default'",
            (hash_password(PASSWORD),),
        )
    # Playwright's sync API runs an event loop on this thread: the turns run on another.
    with ThreadPoolExecutor(1) as worker:
        booked, bobs = worker.submit(asyncio.run, _conversations(e2e_database)).result()
    assert owner_db.execute("SELECT count(*) FROM bookings").fetchone() == (1,)

    page = log_in(browser, server, "dora@example.com")
    try:
        page.goto(f"{server.base}/replay/")
        page.fill("input[name=email]", "ada@example.com")
        page.click("button[type=submit]")
        page.wait_for_url("**/replay/?email=*")
        rows = page.locator("tr.thread")
        assert rows.count() == 1
        rows.locator(f'a[href="/replay/{booked}"]').click()
        page.get_by_text("Tool result: search_flights").wait_for(timeout=TIMEOUT)
        steps = page.locator(".timeline li a")
        assert steps.count() == 3  # a checkpoint per turn
        for index in [*range(steps.count()), 0]:  # htmx swaps the state panel in place
            choose(page, steps.nth(index))
        # Before the booking (step 0, chosen last): after the search, the agent having answered.
        page.fill("#state textarea[name=message]", FORK_MESSAGE)
        page.click("#state form.fork button[type=submit]")
        page.get_by_text("sandbox fork").wait_for(timeout=TIMEOUT)
        page.get_by_text(FORK_MESSAGE).first.wait_for(timeout=TIMEOUT)
        answer = page.locator(".entry.agent p").last
        answer.wait_for(timeout=TIMEOUT)
        assert "business" in page.locator(".entry.agent .call pre").last.inner_text()
        assert answer.inner_text().strip()
        screenshot(page, "replay-fork")
        fork = page.url.rsplit("/", 1)[1]
        page.goto(f"{server.base}/replay/{booked}")
        assert page.locator(f'.forks a[href="/replay/{fork}"]').count() == 1
        assert owner_db.execute("SELECT count(*) FROM bookings").fetchone() == (1,)
    finally:
        page.close()

    traveller = log_in(browser, server, "ada@example.com")
    try:
        refused = traveller.goto(f"{server.base}/replay/{bobs}")
        assert refused is not None
        assert refused.status == 403
        assert traveller.get_by_text("That conversation is not yours.").count() == 1
        traveller.goto(f"{server.base}/replay/")
        assert traveller.get_by_role("heading", name="Your threads").count() == 1
        assert traveller.locator(f'a[href="/replay/{bobs}"]').count() == 0
        assert "bob@example.com" not in traveller.content()
    finally:
        traveller.close()
