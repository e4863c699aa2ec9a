"""What travellers see, in Chromium: log in, search, book with Confirm, decline, resume,
feedback, and nobody else's threads; two app processes sharing one database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, Server, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
TIMEOUT = 30_000


def log_in(browser: Any, server: Server, email: str, password: str = PASSWORD) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{server.base}/chat/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    if password == PASSWORD:
        page.locator("#chat-input").wait_for(timeout=TIMEOUT)  # signed in
    return page


def say(page: Any, text: str) -> None:
    box = page.locator("#chat-input")
    box.wait_for(timeout=TIMEOUT)
    box.fill(text)
    send = page.locator("#chat-submit")
    send.wait_for(timeout=TIMEOUT)
    page.wait_for_function(
        "() => !document.querySelector('#chat-submit')?.disabled", timeout=TIMEOUT
    )
    send.click()
    page.get_by_text(text).first.wait_for(timeout=TIMEOUT)


def latest_thread(owner_db: Any, email: str) -> str:
    """The thread of the traveller's most recent conversation."""
    row = owner_db.execute(
        "SELECT s.thread_id::text FROM chat_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE u.email = %s ORDER BY s.created_at DESC LIMIT 1",
        (email,),
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_a_wrong_password_is_refused(browser: Any, servers: list[Server]) -> None:
    page = log_in(browser, servers[0], "ada@example.com", "not the password")
    page.get_by_text("Unable to sign in").wait_for(timeout=TIMEOUT)
    assert "/login" in page.url
    page.close()


def test_search_then_book_with_confirm(browser: Any, servers: list[Server], owner_db: Any) -> None:
    page = log_in(browser, servers[0], "ada@example.com")
    say(page, "Flights from London to Lisbon in three weeks")
    try:
        page.get_by_role("button", name="Book flight #1").wait_for(timeout=TIMEOUT)
    except Exception:
        screenshot(page, "search-results-missing")  # what the page showed instead
        raise
    assert page.get_by_text("flights London (LON) to Lisbon (LIS)").count() >= 1
    assert page.get_by_test_id("offer-card").count() >= 1  # each offer is a card
    assert page.get_by_text("Used search flights").count() >= 1  # the tool call, as a step
    screenshot(page, "flight-results")

    page.get_by_role("button", name="Book flight #1").click()
    page.get_by_role("button", name="Confirm").wait_for(timeout=TIMEOUT)
    assert page.get_by_text("Please confirm this booking").count() >= 1
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Booked! Your reference is").wait_for(timeout=TIMEOUT)
    reference = owner_db.execute(
        "SELECT b.booking_reference FROM bookings b JOIN users u ON u.id = b.user_id"
        " WHERE u.email = 'ada@example.com' AND b.status = 'confirmed'"
    ).fetchone()[0]
    assert page.get_by_text(reference).count() >= 1
    screenshot(page, "booked")
    page.close()


def test_decline_books_nothing(browser: Any, servers: list[Server], owner_db: Any) -> None:
    before = owner_db.execute("SELECT count(*) FROM bookings").fetchone()[0]
    page = log_in(browser, servers[0], "bob@example.com")
    say(page, "A hotel in Rome for 2 nights in four weeks")
    page.get_by_role("button", name="Book hotel #2").wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="Book hotel #2").click()
    page.get_by_role("button", name="Decline").wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="Decline").click()
    page.get_by_text("declined; nothing was booked").wait_for(timeout=TIMEOUT)
    assert owner_db.execute("SELECT count(*) FROM bookings").fetchone()[0] == before
    page.close()


def test_resume_after_reload_and_feedback(
    browser: Any, servers: list[Server], owner_db: Any
) -> None:
    page = log_in(browser, servers[0], "ada@example.com")
    say(page, "Flights from Paris to Vienna in five weeks")
    page.get_by_role("button", name="Book flight #1").wait_for(timeout=TIMEOUT)
    thread = latest_thread(owner_db, "ada@example.com")

    page.reload()
    page.goto(f"{servers[0].base}/chat")
    page.get_by_text("Flights from Paris to Vienna in five weeks").first.click()
    page.get_by_text("flights Paris (PAR) to Vienna (VIE)").first.wait_for(timeout=TIMEOUT)
    say(page, "what about business class?")
    page.get_by_text("business.").first.wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="Book flight #1").last.wait_for(timeout=TIMEOUT)
    assert latest_thread(owner_db, "ada@example.com") == thread
    assert owner_db.execute(
        "SELECT count(*) FROM chat_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE u.email = 'ada@example.com' AND s.title LIKE 'Flights from Paris to Vienna%%'"
    ).fetchone() == (1,)

    page.locator("button:has(svg.lucide-thumbs-up)").last.click()
    page.get_by_placeholder("Your feedback...").fill("Great options")
    page.get_by_role("button", name="Submit feedback").click()
    page.wait_for_timeout(1500)
    rows = owner_db.execute(
        "SELECT m.attributes->'feedback'->>'value', m.attributes->'feedback'->>'comment'"
        " FROM chat_messages m"
        " JOIN chat_sessions s ON s.id = m.session_id WHERE s.thread_id = %s"
        " AND m.attributes ? 'feedback'",
        (thread,),
    ).fetchall()
    assert rows == [("1", "Great options")]
    assert (
        owner_db.execute(
            "SELECT count(*) FROM analytics_events WHERE event_type = 'feedback_given'"
        ).fetchone()[0]
        >= 1
    )
    page.close()


def _session_cookie(server: Server, email: str) -> httpx.Cookies:
    response = httpx.post(
        f"{server.base}/chat/login", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 200
    return response.cookies


def test_nobody_opens_another_travellers_thread(
    browser: Any, servers: list[Server], owner_db: Any
) -> None:
    page = log_in(browser, servers[0], "ada@example.com")
    say(page, "hello")
    page.get_by_text("Where would you like to go?").wait_for(timeout=TIMEOUT)
    thread = latest_thread(owner_db, "ada@example.com")
    page.close()
    base = servers[0].base
    ada, bob = (
        _session_cookie(servers[0], "ada@example.com"),
        _session_cookie(servers[0], "bob@example.com"),
    )

    assert httpx.get(f"{base}/chat/project/thread/{thread}", cookies=ada).status_code == 200
    assert httpx.get(f"{base}/chat/project/thread/{thread}", cookies=bob).status_code in (401, 403)
    assert httpx.get(f"{base}/api/threads/{thread}/replay", cookies=ada).status_code == 200
    assert httpx.get(f"{base}/api/threads/{thread}/replay", cookies=bob).status_code == 403
    assert httpx.get(f"{base}/api/threads/{thread}/replay").status_code == 401
    forged = httpx.Cookies({"access_token": "forged.token.value"})
    assert httpx.get(f"{base}/api/threads/{thread}/replay", cookies=forged).status_code == 401
    assert httpx.get(f"{base}/api/threads/not-a-uuid/replay", cookies=ada).status_code == 422


def test_a_thread_started_on_one_process_carries_on_on_the_other(
    browser: Any, servers: list[Server], owner_db: Any
) -> None:
    first, second = servers
    page = log_in(browser, first, "bob@example.com")
    say(page, "Flights from Madrid to Athens in six weeks")
    page.get_by_role("button", name="Book flight #1").wait_for(timeout=TIMEOUT)
    thread = latest_thread(owner_db, "bob@example.com")
    page.close()

    other = log_in(browser, second, "bob@example.com")
    other.goto(f"{second.base}/chat/thread/{thread}")
    other.get_by_text("flights Madrid (MAD) to Athens (ATH)").first.wait_for(timeout=TIMEOUT)
    say(other, "book the cheapest")
    other.get_by_role("button", name="Confirm").wait_for(timeout=TIMEOUT)
    other.get_by_role("button", name="Confirm").click()
    other.get_by_text("Booked! Your reference is").wait_for(timeout=TIMEOUT)
    assert owner_db.execute(
        "SELECT count(*) FROM bookings b JOIN chat_sessions s ON s.id = b.session_id"
        " WHERE s.thread_id = %s AND b.status = 'confirmed'",
        (thread,),
    ).fetchone() == (1,)
    other.close()
