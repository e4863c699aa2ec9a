"""`travelhub serve` in a process of its own, and a chat tab speaking Chainlit's socket.io as the
browser does: what the traveller sees is what this tab heard."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import socketio  # type: ignore[import-untyped]

from accounts.passwords import hash_password
from db.urls import libpq_url
from tests.integration.test_cli import environment
from tests.support.redis_server import free_port

PASSWORD = "faults password"
SOCKET_PATH = "/chat/ws/socket.io"  # Chainlit mounted at /chat serves socket.io under it


class Served:
    """`travelhub serve` on a free port over `database`."""

    def __init__(self, database: str, data_dir: Path) -> None:
        env = {k: v for k, v in environment(DATABASE_URL=database, REDIS_URL=None).items()
               if not k.startswith("OAUTH_")}  # fmt: skip
        env.update(
            TRAVELHUB_DATA_DIR=str(data_dir),
            CHAINLIT_AUTH_SECRET="faults-secret-" + "x" * 40,
            TRAVELHUB_MAINTENANCE_INTERVAL="0",
        )
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = data_dir / "serve.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", "serve", "--port", self.base.rsplit(":", 1)[1]],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def wait_healthy(self, within: float = 90.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        raise AssertionError(f"travelhub serve did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def traveller_with_password(owner: str, email: str) -> None:
    """A traveller of the default tenant who has consented already (no question first)."""
    with psycopg.connect(libpq_url(owner), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (tenant_id, email, full_name, hashed_password,"
            " data_processing_consent, consent_granted_at)"
            " SELECT id, %s, 'Faults Traveller', %s, true, now() FROM tenants"
            " WHERE slug = 'default'",
            (email, hash_password(PASSWORD)),
        )


@dataclass
class Heard:
    """One turn as the tab saw it."""

    tokens: list[str] = field(default_factory=list)
    ended: bool = False

    @property
    def text(self) -> str:
        return "".join(self.tokens)


class ChatTab:
    """One chat in a browser tab: a socket.io connection, so one Chainlit session and thread."""

    def __init__(self, base: str, email: str) -> None:
        self._base, self._email = base, email
        self._client: Any = socketio.AsyncClient(reconnection=False)
        self._client.on("*", self._hear)
        self._settings_shown = asyncio.Event()
        self.turns: list[Heard] = []

    async def open(self) -> None:
        async with httpx.AsyncClient(base_url=self._base) as http:
            login = await http.post(
                "/chat/login", data={"username": self._email, "password": PASSWORD}
            )
            login.raise_for_status()
            cookie = "; ".join(f"{name}={value}" for name, value in login.cookies.items())
        await self._client.connect(
            self._base,
            headers={"Cookie": cookie},
            auth={"clientType": "webapp", "sessionId": str(uuid.uuid4()), "threadId": "",
                  "userEnv": "{}", "chatProfile": ""},
            transports=["websocket"],
            socketio_path=SOCKET_PATH,
            wait_timeout=10,
        )  # fmt: skip
        await self._client.emit("connection_successful")
        await asyncio.wait_for(self._settings_shown.wait(), 30)
        # on_chat_start reads the traveller's consent after the settings; nothing says when it
        # is done, and a person reads the page first anyway.
        await asyncio.sleep(0.5)

    async def say(self, text: str) -> Heard:
        """Send `text` as the browser does; the turn's Heard fills in as the server streams."""
        heard = Heard()
        self.turns.append(heard)
        step = {"threadId": "", "id": str(uuid.uuid4()), "name": self._email,
                "type": "user_message", "output": text,
                "createdAt": datetime.now(UTC).isoformat(), "metadata": {}}  # fmt: skip
        await self._client.emit("client_message", {"message": step, "fileReferences": []})
        return heard

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def close(self) -> None:
        if self._client.connected:
            await self._client.disconnect()

    async def _hear(self, event: str, data: Any = None) -> None:
        if event == "chat_settings":
            self._settings_shown.set()
        elif self.turns and event == "stream_start" and isinstance(data, dict):
            self.turns[-1].tokens.append(str(data.get("output") or ""))  # the first token
        elif self.turns and event == "stream_token" and isinstance(data, dict):
            self.turns[-1].tokens.append(str(data.get("token", "")))
        elif self.turns and event == "task_end":
            self.turns[-1].ended = True


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the chat did not get there in time")
        await asyncio.sleep(0.05)
