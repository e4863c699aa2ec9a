"""Offers as cards, in Chromium: search flights, book one from its card (the other cards'
Book buttons go), confirm, and take the itinerary's calendar file home; resumed, the thread
shows the same cards as they were left; a new search closes the cards before it; and a price
that moved since the search is told, then booked at the new price after one more yes."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from icalendar import Calendar
from psycopg.types.json import Jsonb

from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_browser import TIMEOUT, log_in, say
from tools.cache import REDIS_PREFIX
from tools.places import gazetteer

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
EMAIL = "ada@example.com"
TIME = re.compile(r"\b\d{2}:\d{2}\b")


def test_book_from_a_card_then_add_the_trip_to_a_calendar(
    browser: Any, server: Server, owner_db: Any
) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, server, EMAIL)
    say(page, "Flights from London to Lisbon in three weeks")
    cards = page.get_by_test_id("offer-card")
    try:
        cards.first.wait_for(timeout=TIMEOUT)
    except Exception:
        screenshot(page, "offer-cards-missing")
        raise
    expect(cards).to_have_count(5)
    assert [cards.nth(n).get_attribute("data-number") for n in range(5)] == list("12345")
    assert page.locator("table").count() == 0  # the offers are cards, not a Markdown table
    first = cards.first.inner_text()
    assert re.search(r"\b(LHR|LGW|STN|LTN|LCY|SEN)\b", first)
    assert "LIS" in first
    assert len(TIME.findall(first)) >= 2  # take-off and landing
    assert re.search(r"€\d{1,3}(,\d{3})*\.\d{2}", first)
    expect(page.get_by_role("button", name="Book flight #1")).to_be_visible()
    screenshot(page, "offer-cards")

    page.get_by_role("button", name="Book flight #2").click()
    page.get_by_role("button", name="Confirm").wait_for(timeout=TIMEOUT)
    expect(page.get_by_role("button", name=re.compile(r"^Book flight #"))).to_have_count(0)
    expect(cards.nth(1)).to_have_attribute("data-state", "chosen")
    for other in (0, 2, 3, 4):
        expect(cards.nth(other)).to_have_attribute("data-state", "closed")
    expect(cards.nth(1)).to_contain_text("Chosen")

    page.get_by_role("button", name="Confirm").click()
    itinerary = page.get_by_test_id("itinerary-card")
    itinerary.wait_for(timeout=TIMEOUT)
    expect(page.get_by_role("button", name="Confirm")).to_have_count(0)
    expect(page.get_by_role("button", name="Decline")).to_have_count(0)
    reference, segments = owner_db.execute(
        "SELECT b.booking_reference, f.segments FROM bookings b"
        " JOIN users u ON u.id = b.user_id JOIN booking_items i ON i.booking_id = b.id"
        " JOIN flight_bookings f ON f.id = i.flight_booking_id"
        " WHERE u.email = %s AND b.status = 'confirmed'",
        (EMAIL,),
    ).fetchone()
    expect(itinerary).to_contain_text(f"Booking {reference}")
    screenshot(page, "itinerary-card")

    with page.expect_download(timeout=TIMEOUT) as download:
        itinerary.get_by_role("link", name="Add to calendar").click()
    assert download.value.suggested_filename == f"trip-{reference}.ics"
    calendar = Calendar.from_ical(Path(download.value.path()).read_bytes())
    events = list(calendar.walk("VEVENT"))
    flown = [s for journey in segments for s in journey["segments"]]
    assert [str(e["SUMMARY"]) for e in events] == [
        f"Flight {s['flight_number']} {s['origin']} → {s['destination']}" for s in flown
    ]
    places = gazetteer()
    for event, segment in zip(events, flown, strict=True):
        assert event["DTSTART"].params["TZID"] == places.airport(segment["origin"]).timezone
        assert event["DTEND"].params["TZID"] == places.airport(segment["destination"]).timezone
        assert event.start.strftime("%H:%M") == segment["departure"][11:16]  # local, as booked
    page.close()


def test_a_resumed_thread_shows_its_cards_as_they_were_left(browser: Any, server: Server) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, server, EMAIL)
    page.get_by_text("Flights from London to Lisbon in three weeks").first.click()
    cards = page.get_by_test_id("offer-card")
    cards.first.wait_for(timeout=TIMEOUT)
    expect(cards).to_have_count(5)
    expect(cards.nth(1)).to_have_attribute("data-state", "chosen")
    expect(page.get_by_role("button", name=re.compile(r"^Book flight #"))).to_have_count(0)
    expect(page.get_by_test_id("itinerary-card")).to_have_count(1)
    page.close()


def test_a_new_search_closes_the_cards_of_the_one_before(browser: Any, server: Server) -> None:
    """The agent books from the latest search only: an earlier search's Book buttons go."""
    from playwright.sync_api import expect

    page = log_in(browser, server, EMAIL)
    say(page, "Flights from London to Madrid in four weeks")
    cards = page.get_by_test_id("offer-card")
    expect(cards).to_have_count(5, timeout=TIMEOUT)
    say(page, "Flights from London to Rome in four weeks")
    expect(cards).to_have_count(10, timeout=TIMEOUT)
    for older in range(5):
        expect(cards.nth(older)).to_have_attribute("data-state", "closed")
    for latest in range(5, 10):
        expect(cards.nth(latest)).to_have_attribute("data-state", "open")
    expect(page.get_by_role("button", name=re.compile(r"^Book flight #"))).to_have_count(5)
    page.close()


def forget_cached_flight_searches() -> None:
    """Empty the search cache's first tier (Redis, shared by every test's app) of flights."""
    if os.environ.get("REDIS_URL"):
        with redis.Redis.from_url(os.environ["REDIS_URL"]) as cache:
            for key in cache.scan_iter(f"{REDIS_PREFIX}:flight:*"):
                cache.delete(key)


def test_a_moved_price_is_told_then_booked_at_the_new_price(
    browser: Any, server: Server, owner_db: Any
) -> None:
    """The search answer the traveller saw is older than the vendor's price (its cached copy
    made 10.00 cheaper here): the booking stops and says so, a yes books the new price after
    one more confirmation showing it."""
    from playwright.sync_api import expect

    said = "Flights from London to Oslo in five weeks"
    (started,) = owner_db.execute("SELECT now()").fetchone()
    forget_cached_flight_searches()  # another test database's run may have left this one
    page = log_in(browser, server, EMAIL)
    say(page, said)
    price = page.get_by_test_id("offer-price").first
    price.wait_for(timeout=TIMEOUT)
    current = price.inner_text()
    search_hash, results = owner_db.execute(
        "SELECT search_hash, results FROM flight_search_cache ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    for offer in results:
        offer["total_price"] = str(Decimal(offer["total_price"]) - 10)
    owner_db.execute(
        "UPDATE flight_search_cache SET results = %s WHERE search_hash = %s",
        (Jsonb(results), search_hash),
    )
    forget_cached_flight_searches()  # the first tier would still hold the true price
    page.close()

    page = log_in(browser, server, EMAIL)  # a new chat: the search answered from the cache
    say(page, said)
    cards = page.get_by_test_id("offer-card")
    expect(cards).to_have_count(5, timeout=TIMEOUT)
    shown = cards.first.get_by_test_id("offer-price").inner_text()
    assert shown != current
    page.get_by_role("button", name="Book flight #1").click()
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text(f"moved from {shown} to {current}").wait_for(timeout=TIMEOUT)
    say(page, "yes")
    page.get_by_text(f"Total: {current}").wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_test_id("itinerary-card").wait_for(timeout=TIMEOUT)
    statuses = owner_db.execute(
        "SELECT b.status::text, b.total_amount FROM bookings b JOIN users u ON u.id = b.user_id"
        " WHERE u.email = %s AND b.created_at > %s ORDER BY b.created_at",
        (EMAIL, started),
    ).fetchall()
    assert [status for status, _ in statuses] == ["failed", "confirmed"]
    assert f"{statuses[1][1]:,}" in current.replace("€", "")
    page.close()
