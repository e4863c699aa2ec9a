"""What the chat accepts, in Chromium: no file upload (no feature reads files), and dates
read as a traveller means them ("in 1 month", "next Saturday"), down to the cards' dates;
a flight between two airports of one city is refused in a sentence."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from dateutil.relativedelta import SA, relativedelta

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_browser import TIMEOUT, log_in, say

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
EMAIL = "ada@example.com"


def card_texts(page: Any) -> list[str]:
    cards = page.get_by_test_id("offer-card")
    cards.first.wait_for(timeout=TIMEOUT)
    return [cards.nth(n).inner_text() for n in range(cards.count())]


def test_there_is_no_file_upload(browser: Any, server: Server) -> None:
    page = log_in(browser, server, EMAIL)
    page.locator("#chat-input").wait_for(timeout=TIMEOUT)
    assert page.locator("#upload-button").count() == 0
    assert page.locator("#upload-button-input").count() == 0
    page.close()


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("in 1 month", lambda day: day + relativedelta(months=1)),
        # The Saturday of the following week (Monday to Sunday), never the coming one.
        ("next Saturday", lambda day: day + relativedelta(days=7 - day.weekday(), weekday=SA)),
    ],
    ids=["in-1-month", "next-saturday"],
)
def test_dates_read_as_meant_down_to_the_cards(
    browser: Any, server: Server, phrase: str, expected: Any
) -> None:
    day: date = expected(date.today())  # the server's day: it runs on this machine
    page = log_in(browser, server, EMAIL)
    say(page, f"Flights from London to Lisbon {phrase}")
    texts = card_texts(page)
    if not all(f"{day:%a %d %b}" in text for text in texts):
        screenshot(page, f"dates-{phrase.replace(' ', '-')}")
    assert all(f"· {day:%a %d %b} ·" in text for text in texts), texts[0]
    page.close()


def test_two_airports_of_one_city_are_refused(browser: Any, server: Server) -> None:
    page = log_in(browser, server, EMAIL)
    say(page, "Flights from NRT to HND next week")
    page.get_by_text("no flight joins them").first.wait_for(timeout=TIMEOUT)
    assert page.get_by_test_id("offer-card").count() == 0
    page.close()
