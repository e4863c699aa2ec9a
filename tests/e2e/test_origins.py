"""Pages of other sites can neither call the chat nor open its socket: only the app's own
origin and those TRAVELHUB_ALLOWED_ORIGINS lists (browser chat: test_browser.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.e2e.conftest import Server

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PARTNER = "https://partner.example"
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def app(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(
        e2e_database,
        tmp_path_factory.mktemp("origins"),
        None,
        extra_env={"TRAVELHUB_ALLOWED_ORIGINS": f"{PARTNER}, https://other.example:8443"},
    )
    yield started
    started.stop()


def socket_opens(app: Server, origin: str) -> bool:
    """Whether the chat's socket.io handshake (websocket, as the browser makes it) is accepted
    for a page of `origin` (the server sends Engine.IO's open packet), else refused with 403."""
    url = f"ws://127.0.0.1:{app.port}/chat/ws/socket.io/?EIO=4&transport=websocket"
    try:
        with connect(url, origin=Origin(origin), open_timeout=10) as socket:
            return str(socket.recv(timeout=10)).startswith("0{")
    except InvalidStatus as refused:
        if refused.response.status_code != 403:
            raise
        return False


def preflight(app: Server, origin: str) -> httpx.Response:
    """The CORS preflight a browser sends before a page of `origin` posts JSON to the chat."""
    return httpx.options(
        f"{app.base}/chat/project/thread",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )


def test_the_chat_socket_admits_its_own_and_listed_origins_only(app: Server) -> None:
    assert socket_opens(app, app.base)
    assert socket_opens(app, PARTNER)
    assert socket_opens(app, "https://other.example:8443")
    assert not socket_opens(app, EVIL)
    assert not socket_opens(app, "https://partner.example.evil.example")
    assert not socket_opens(app, "null")


def test_cors_preflights_from_other_sites_are_refused(app: Server) -> None:
    evil = preflight(app, EVIL)
    assert evil.status_code == 400
    assert "access-control-allow-origin" not in evil.headers
    partner = preflight(app, PARTNER)
    assert partner.status_code == 200
    assert partner.headers["access-control-allow-origin"] == PARTNER
    assert partner.headers["access-control-allow-credentials"] == "true"
    # A simple request from another site is answered without a header that lets its page read it.
    settings = httpx.get(f"{app.base}/chat/project/settings", headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in settings.headers


def test_a_wildcard_origin_setting_is_one_sentence() -> None:
    env = {**os.environ, "TRAVELHUB_ALLOWED_ORIGINS": "https://partner.example,*"}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "serve"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "travelhub: TRAVELHUB_ALLOWED_ORIGINS: '*' is not an http(s)://host origin; write"
        " origins such as https://travel.example.com, comma-separated."
    )
