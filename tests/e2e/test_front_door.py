"""The front door, in Chromium: the branded sign-in page, a newcomer signing up (each mistake
told beside its field) and landing signed in in the chat, and no door with TRAVELHUB_SIGNUP=off."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from accounts.passwords import hash_password
from tests.e2e.conftest import Server, screenshot
from tests.e2e.test_browser import say

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
TIMEOUT = 30_000
PUBLIC = Path(__file__).resolve().parents[2] / "public"


@pytest.fixture(scope="module")
def front_door(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(e2e_database, tmp_path_factory.mktemp("open"), os.environ.get("REDIS_URL"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def closed_door(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        e2e_database, tmp_path_factory.mktemp("closed"), os.environ.get("REDIS_URL"),
        extra_env={"TRAVELHUB_SIGNUP": "off"},
    )  # fmt: skip
    yield server
    server.stop()


def sign_in_page(browser: Any, server: Server) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme="light")
    with page.expect_response(lambda answer: answer.url.endswith("/signup")):
        page.goto(f"{server.base}/chat/login")  # the page asks whether sign-up is open
    page.locator("form input#email").wait_for(timeout=TIMEOUT)
    return page


def served(url: str) -> bytes:
    return httpx.get(url, timeout=10).content


def test_the_sign_in_page_wears_the_brand(browser: Any, front_door: Server) -> None:
    page = sign_in_page(browser, front_door)
    assert page.title() == "Global Travel Hub"
    page.get_by_text("Sign in to Global Travel Hub").wait_for(timeout=TIMEOUT)
    assert page.get_by_text("Login to access the app").count() == 0
    logo = page.locator("img.logo").first
    logo.wait_for(timeout=TIMEOUT)
    logo_files = {(PUBLIC / f"logo_{theme}.svg").read_bytes() for theme in ("light", "dark")}
    assert served(logo.evaluate("image => image.src")) in logo_files
    picture = page.locator("img[src$='/public/login.svg']")
    picture.wait_for(timeout=TIMEOUT)
    assert picture.evaluate("image => image.complete && image.naturalWidth > 0")
    assert served(f"{front_door.base}/chat/favicon") == (PUBLIC / "favicon.svg").read_bytes()
    primary = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--primary').trim()"
    )
    assert primary in {"199 87% 32%", "190 80% 50%"}  # public/theme.json, light or dark
    screenshot(page, "front-door-sign-in")
    page.close()


def test_a_newcomer_signs_up_and_lands_in_the_chat(
    browser: Any, front_door: Server, owner_db: Any
) -> None:
    owner_db.execute(
        "INSERT INTO users (tenant_id, email, full_name, hashed_password)"
        " SELECT id, 'taken@example.com', 'Taken', %s FROM tenants WHERE slug = 'default'",
        (hash_password("someone-else1"),),
    )
    page = sign_in_page(browser, front_door)
    page.get_by_role("link", name="Create an account").click()
    page.wait_for_url("**/signup")

    good = {"#email": "grace@example.com", "#name": "Grace Hopper",
            "#password": "compiler-1952", "#repeated": "compiler-1952"}  # fmt: skip
    mistakes = [
        ("email", {"#email": "grace.example.com"}, True, "That is not an email address"),
        ("name", {"#name": ""}, True, "Tell us your name."),
        ("password", {"#password": "cobol", "#repeated": "cobol"}, True,
         "A password needs at least 8 characters."),
        ("repeated", {"#repeated": "compiler-1953"}, True, "The two passwords differ"),
        ("consent", {}, False, "Tick the box: we cannot plan trips without your data."),
        ("email", {"#email": "taken@example.com"}, True,
         "That email address already has an account: sign in instead."),
    ]  # fmt: skip
    for field, changes, consent, sentence in mistakes:
        for selector, value in {**good, **changes}.items():
            page.fill(selector, value)
        page.set_checked("#consent", consent)
        page.click("button[type=submit]")
        told = page.locator(f"#{field}-problem")
        told.wait_for(timeout=TIMEOUT)
        assert told.inner_text().startswith(sentence)
        assert page.locator(".problem").count() == 1  # that mistake alone
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
    screenshot(page, "front-door-sign-up-mistake")

    for selector, value in good.items():
        page.fill(selector, value)
    page.check("#consent")
    page.click("button[type=submit]")
    page.locator("#chat-input").wait_for(timeout=TIMEOUT)  # signed in, in the chat
    assert page.url.rstrip("/").endswith("/chat")
    say(page, "Show my bookings")
    page.get_by_text("You have no bookings yet.").wait_for(timeout=TIMEOUT)  # consent given
    assert page.get_by_text("Please accept the data-processing terms").count() == 0
    screenshot(page, "front-door-signed-up")
    row = owner_db.execute(
        "SELECT u.full_name, u.data_processing_consent, t.slug FROM users u"
        " JOIN tenants t ON t.id = u.tenant_id WHERE u.email = 'grace@example.com'"
    ).fetchone()
    assert row == ("Grace Hopper", True, "default")
    page.close()


def test_signup_off_leaves_no_door(browser: Any, closed_door: Server) -> None:
    assert httpx.get(f"{closed_door.base}/signup", timeout=10).status_code == 404
    page = sign_in_page(browser, closed_door)
    page.locator("button[type=submit]").wait_for(timeout=TIMEOUT)
    assert page.get_by_role("link", name="Create an account").count() == 0
    assert page.locator("#create-account").count() == 0
    page.close()
