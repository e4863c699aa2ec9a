"""Editing a sent message in Chromium: the agent answers the new words, and the thread read
back after a reload shows the current branch only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_browser import latest_thread, log_in, say

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
TIMEOUT = 30_000
SAID = "Flights from London to Paris in three weeks"
EDITED = "Flights from London to Rome in three weeks"


def user_messages(page: Any) -> Any:
    """The traveller's messages in the chat (each a row with Chainlit's edit pencil)."""
    return page.locator("div.group:has(button.edit-message)")


def test_an_edited_message_is_answered_anew_and_stays_the_only_branch(
    browser: Any, servers: list[Server], owner_db: Any
) -> None:
    page = log_in(browser, servers[0], "ada@example.com")
    say(page, SAID)
    page.get_by_text("flights London (LON) to Paris (PAR)").first.wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="Book flight #1").wait_for(timeout=TIMEOUT)

    message = user_messages(page).filter(has_text=SAID)
    message.hover()
    message.locator("button.edit-message").click()
    page.locator("#edit-chat-input").fill(EDITED)
    page.locator("button.confirm-edit").click()
    try:
        page.get_by_text("flights London (LON) to Rome (ROM)").first.wait_for(timeout=TIMEOUT)
    except Exception:
        screenshot(page, "edit-unanswered")
        raise
    assert page.get_by_text("to Paris (PAR)").count() == 0  # the replaced reply is gone
    screenshot(page, "edited")
    thread = latest_thread(owner_db, "ada@example.com")

    page.reload()
    page.goto(f"{servers[0].base}/chat/thread/{thread}")
    page.get_by_text("flights London (LON) to Rome (ROM)").first.wait_for(timeout=TIMEOUT)
    assert user_messages(page).all_inner_texts() == [EDITED]
    assert page.get_by_text("to Paris (PAR)").count() == 0
    screenshot(page, "edited-resumed")
    superseded = owner_db.execute(
        "SELECT m.content FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id"
        " WHERE s.thread_id = %s AND m.role = 'user' AND m.superseded_at IS NOT NULL",
        (thread,),
    ).fetchall()
    assert superseded == [(SAID,)]
    page.close()
