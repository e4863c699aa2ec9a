"""A traveller's first visit, in Chromium: consent asked once, then the starters; declining
said plainly; a thread keeps its title, chat settings and tool steps across a reload."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_browser import latest_thread, log_in, say

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
TIMEOUT = 30_000
QUESTION = "may we process your travel data"
DECLINED = "Without your consent I cannot search or book for you"
# Set when the sidebar ever names a thread "Untitled Conversation".
WATCH_UNTITLED = """() => {
    window.untitledSeen = false;
    new MutationObserver(() => {
        if (document.body.textContent.includes('Untitled Conversation')) window.untitledSeen = true;
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(autouse=True)
def _newcomers_exist(newcomers: list[str]) -> None:
    """The module's travellers without consent, made before any test signs them in."""
    del newcomers


def consented(owner_db: Any, email: str) -> bool:
    row = owner_db.execute(
        "SELECT data_processing_consent FROM users WHERE email = %s", (email,)
    ).fetchone()
    return bool(row[0])


def conversations(owner_db: Any, email: str) -> int:
    return int(
        owner_db.execute(
            "SELECT count(*) FROM chat_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE u.email = %s",
            (email,),
        ).fetchone()[0]
    )


def open_settings(page: Any) -> None:
    page.locator("#chat-settings-open-modal").click()
    page.locator("button#currency").wait_for(timeout=TIMEOUT)


def currency_shown(page: Any) -> str:
    open_settings(page)
    shown = str(page.locator("button#currency").inner_text()).strip()
    page.keyboard.press("Escape")
    page.locator("button#currency").wait_for(state="detached", timeout=TIMEOUT)
    return shown


def choose_currency(page: Any, currency: str) -> None:
    open_settings(page)
    page.locator("button#currency").click()
    page.get_by_role("option", name=currency, exact=True).click()
    page.locator("#confirm").click()
    page.locator("button#currency").wait_for(state="detached", timeout=TIMEOUT)


def test_a_newcomer_agrees_then_sees_the_starters_and_is_never_asked_again(
    browser: Any, server: Server, owner_db: Any
) -> None:
    page = log_in(browser, server, "una@example.com")
    page.get_by_text(QUESTION).wait_for(timeout=TIMEOUT)
    assert page.locator("#starters").count() == 0  # the question comes first
    page.get_by_role("button", name="I agree", exact=True).click()
    page.locator("#starters").wait_for(timeout=TIMEOUT)
    assert page.get_by_text(QUESTION).count() == 0
    assert consented(owner_db, "una@example.com")
    assert conversations(owner_db, "una@example.com") == 0  # answering opened no conversation
    page.close()

    other = log_in(browser, server, "una@example.com")  # another device, a new chat
    starter = other.get_by_role("button", name="My bookings")
    starter.wait_for(timeout=TIMEOUT)
    assert other.get_by_text(QUESTION).count() == 0
    other.wait_for_function(
        "() => !document.querySelector('#starters button')?.disabled", timeout=TIMEOUT
    )
    starter.click()
    thread = other.locator("li[id^=thread-]").filter(has_text="Show my bookings")
    thread.wait_for(timeout=TIMEOUT)  # the sidebar names it after the starter's words
    other.close()


def test_a_newcomer_who_declines_is_told_what_it_means(
    browser: Any, server: Server, owner_db: Any
) -> None:
    page = log_in(browser, server, "dan@example.com")
    page.get_by_text(QUESTION).wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="No, thanks").click()
    page.get_by_text(DECLINED).wait_for(timeout=TIMEOUT)
    assert page.get_by_text(QUESTION).count() == 0
    say(page, "Flights from London to Paris in three weeks")
    page.get_by_text(DECLINED).nth(1).wait_for(timeout=TIMEOUT)  # the input says so too
    assert page.get_by_text("Used search flights").count() == 0
    assert not consented(owner_db, "dan@example.com")
    page.close()


def yen_prices(page: Any) -> int:
    """Offer cards priced in yen (tools.money writes JP¥, whole yen)."""
    return int(page.get_by_test_id("offer-price").filter(has_text="JP¥").count())


def test_a_thread_keeps_its_title_settings_and_tool_steps_across_a_reload(
    browser: Any, server: Server, owner_db: Any
) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, server, "eve@example.com")
    page.get_by_role("button", name="I agree, and send me offers").click()
    page.locator("#starters").wait_for(timeout=TIMEOUT)
    choose_currency(page, "JPY")
    page.evaluate(WATCH_UNTITLED)

    said = "Find flights from London to Paris in three weeks"
    say(page, said)
    titled = page.locator("li[id^=thread-]").filter(has_text=said)
    try:
        titled.wait_for(timeout=TIMEOUT)
        page.get_by_role("button", name="Book flight #1").wait_for(timeout=TIMEOUT)
    except Exception:
        screenshot(page, "first-visit-answer-missing")
        raise
    assert page.get_by_text("Used search flights").count() == 1
    expect(page.get_by_test_id("offer-price").filter(has_text="JP¥")).to_have_count(
        5, timeout=TIMEOUT
    )  # the answer's prices
    assert not page.evaluate("window.untitledSeen")
    thread = latest_thread(owner_db, "eve@example.com")

    page.reload()  # a new chat; the thread is in the sidebar, still titled
    page.locator(f"li#thread-{thread}").filter(has_text=said).click()
    try:
        page.get_by_text("Used search flights").first.wait_for(timeout=TIMEOUT)
    except Exception:
        screenshot(page, "first-visit-resumed")
        raise
    assert currency_shown(page) == "JPY"
    page.close()

    page = log_in(browser, server, "eve@example.com")  # another device, straight to the thread
    page.goto(f"{server.base}/chat/thread/{thread}")
    page.get_by_text("Used search flights").first.wait_for(timeout=TIMEOUT)
    assert currency_shown(page) == "JPY"
    prices_before = yen_prices(page)
    say(page, "Flights from Paris to Rome in four weeks")
    page.get_by_text("Paris (PAR) to Rome").first.wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="Book flight #1").first.wait_for(timeout=TIMEOUT)
    expect(page.get_by_test_id("offer-price").filter(has_text="JP¥")).to_have_count(
        prices_before + 5, timeout=TIMEOUT
    )  # the next turn uses it too
    assert page.get_by_text("Used search flights").count() == 2
    assert latest_thread(owner_db, "eve@example.com") == thread
    assert owner_db.execute(
        "SELECT title, context->'chat_settings'->>'currency' FROM chat_sessions"
        " WHERE thread_id = %s",
        (thread,),
    ).fetchone() == (said, "JPY")
    page.close()
