"""OAuth login end to end against a real OpenID Connect provider running here (the npm
package oidc-provider): first login creates the traveller, asks for consent, stores the
provider's token encrypted."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.e2e.test_browser import TIMEOUT, say
from tests.support.redis_server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
OIDC = Path(__file__).resolve().parent.parent / "support" / "oidc"


@pytest.fixture(scope="module")
def provider() -> Iterator[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (OIDC / "node_modules" / "oidc-provider").exists():
        pytest.skip("needs Node.js and `npm ci` in tests/support/oidc (the local OpenID provider)")
    port, app_port = free_port(), free_port()
    redirect = f"http://127.0.0.1:{app_port}/chat/auth/oauth/generic/callback"
    process = subprocess.Popen(
        [node, str(OIDC / "provider.mjs"), str(port), redirect],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    issuer = f"http://localhost:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield {"issuer": issuer, "app_port": app_port}
    process.terminate()
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="module")
def oauth_server(
    e2e_database: str, provider: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    issuer = provider["issuer"]
    server = Server(
        e2e_database,
        tmp_path_factory.mktemp("oauth"),
        None,
        port=provider["app_port"],
        extra_env={
            "OAUTH_GENERIC_CLIENT_ID": "travelhub",
            "OAUTH_GENERIC_CLIENT_SECRET": "travelhub-test-secret",
            "OAUTH_GENERIC_AUTH_URL": f"{issuer}/auth",
            "OAUTH_GENERIC_TOKEN_URL": f"{issuer}/token",
            "OAUTH_GENERIC_USER_INFO_URL": f"{issuer}/me",
            "OAUTH_GENERIC_SCOPES": "openid email profile",
            "TRAVELHUB_TOKEN_KEYS": "wGdKf0yM5b2iVtB5u3Yk9qU9kQ2r9l5YQ3b8c0m4Zx8=",
        },
    )
    yield server
    server.stop()


def test_first_oauth_login_creates_the_traveller(
    browser: Any, oauth_server: Server, owner_db: Any
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{oauth_server.base}/chat/login")
    page.get_by_role("button", name="generic", exact=False).click()
    page.locator("input[name=login]").fill("carol@example.com")
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click()  # the provider's consent page
    page.get_by_role("button", name="I agree", exact=True).click(timeout=TIMEOUT)
    say(page, "show my bookings")
    page.get_by_text("You have no bookings yet.").wait_for(timeout=TIMEOUT)

    user = owner_db.execute(
        "SELECT id, data_processing_consent, consent_granted_at IS NOT NULL, marketing_consent"
        " FROM users WHERE email = 'carol@example.com'"
    ).fetchone()
    assert user[1:] == (True, True, False)
    account = owner_db.execute(
        "SELECT provider, provider_account_id, provider_email, access_token_encrypted"
        " FROM oauth_accounts WHERE user_id = %s",
        (user[0],),
    ).fetchone()
    assert account[:3] == ("generic", "carol@example.com", "carol@example.com")
    assert account[3].startswith("gAAAAA")  # a Fernet token: the provider's token is sealed
    page.close()
