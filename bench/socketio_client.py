"""The real Chainlit server (`travelhub serve`) driven by python-socketio clients that speak
its protocol as the browser does: password login, a socket per chat, `client_message`."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import socketio  # type: ignore[import-untyped]

from accounts.passwords import hash_password
from bench.common import percentile
from bench.loadgen import Reply, Tally, crowd
from db.urls import libpq_url

PASSWORD = "load bench password"
CHAT_PATH = "/chat"
# Chainlit mounts socket.io at <its root>/ws/socket.io; its frontend derives the same path.
SOCKET_PATH = f"{CHAT_PATH}/ws/socket.io"
TURN_TIMEOUT_SECONDS = 60.0
# on_chat_start looks the traveller's consent up after the socket connects, and nothing tells
# the client it has finished: a person reads the page first, so the clients pause as long.
READING_SECONDS = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process so far; 0 where /proc is not there to ask."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are the 14th and 15th fields; the split above dropped the first two.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ChainlitServer:
    """A `travelhub serve` process: started at once, waited for only when needed, so that
    its start-up overlaps the benchmark's own set-up."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"travelhub serve did not start:\n{self.log.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)


@contextmanager
def chainlit_server(owner: str, runtime: str, redis: str | None) -> Iterator[ChainlitServer]:
    """`travelhub serve` on a free port over the scratch database, stopped on leaving."""
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="th_load_"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("OAUTH_")}
    env.update(
        DATABASE_URL=owner,
        APP_DATABASE_URL=runtime,
        TRAVELHUB_DATA_DIR=str(data_dir),
        CHAINLIT_AUTH_SECRET="load-bench-secret-" + "x" * 40,
        # The hourly upkeep would run at start-up, inside the measured minute: not a
        # representative minute of a server's life.
        TRAVELHUB_MAINTENANCE_INTERVAL="0",
    )
    env.pop("REDIS_URL", None)
    if redis:
        env["REDIS_URL"] = redis
    log = data_dir / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield ChainlitServer(f"http://127.0.0.1:{port}", process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def create_users(owner: str, count: int) -> list[str]:
    """Travellers with a password who have given consent (so no consent question first)."""
    emails = [f"socket-{number}@example.com" for number in range(count)]
    hashed = hash_password(PASSWORD)  # one hash serves all: same password, cheaper set-up
    with psycopg.connect(libpq_url(owner), autocommit=True, prepare_threshold=None) as db:
        row = db.execute("SELECT id FROM tenants WHERE slug = 'default'").fetchone()
        assert row is not None
        for email in emails:
            db.execute(
                "INSERT INTO users (tenant_id, email, full_name, hashed_password,"
                " data_processing_consent, consent_granted_at)"
                " VALUES (%s, %s, %s, %s, true, now())",
                (row[0], email, email.split("@")[0], hashed),
            )
    return emails


async def login(http: httpx.AsyncClient, email: str) -> str:
    """Chainlit's password login; returns the Cookie header carrying its session token."""
    response = await http.post(f"{CHAT_PATH}/login", data={"username": email, "password": PASSWORD})
    response.raise_for_status()
    return "; ".join(f"{name}={value}" for name, value in response.cookies.items())


class ChatSocket:
    """One browser tab's chat: a socket.io connection, hence one Chainlit session and thread."""

    def __init__(self, base: str, email: str, cookie: str, first_token_ms: list[float]) -> None:
        self._base, self._email, self._cookie = base, email, cookie
        self._heard: asyncio.Queue[tuple[str, Any, float]] = asyncio.Queue()
        self._client: Any = None
        self._first_token_ms = first_token_ms  # shared: the crowd's time to a first word
        self.thread_id = ""

    async def open(self) -> None:
        self._client = socketio.AsyncClient(reconnection=False)
        self._client.on("*", self._hear)
        await self._client.connect(
            self._base,
            headers={"Cookie": self._cookie},
            auth={"clientType": "webapp", "sessionId": str(uuid.uuid4()), "threadId": "",
                  "userEnv": "{}", "chatProfile": ""},
            transports=["websocket"],
            socketio_path=SOCKET_PATH,
            wait_timeout=10,
        )  # fmt: skip
        await self._client.emit("connection_successful")
        await self._until("chat_settings")  # on_chat_start is running
        # Its end (a task_end): heard after the first message was sent, it would end that turn
        # with no reply, as a browser's input stays disabled until it.
        await self._until("task_end")
        await asyncio.sleep(READING_SECONDS)

    async def close(self) -> None:
        if self._client is not None and self._client.connected:
            await self._client.emit("clear_session")  # as the browser's "new chat" does
            await self._client.disconnect()

    async def _hear(self, event: str, data: Any = None) -> None:
        self._heard.put_nowait((event, data, time.perf_counter()))

    async def _until(self, wanted: str) -> None:
        async with asyncio.timeout(TURN_TIMEOUT_SECONDS):
            while (await self._heard.get())[0] != wanted:
                pass

    async def say(self, text: str) -> Reply:
        """Send a message as the browser does and wait for the end of the server's task."""
        while not self._heard.empty():
            self._heard.get_nowait()
        step = {"threadId": "", "id": str(uuid.uuid4()), "name": self._email,
                "type": "user_message", "output": text,
                "createdAt": datetime.now(UTC).isoformat(), "metadata": {}}  # fmt: skip
        sent = time.perf_counter()
        await self._client.emit("client_message", {"message": step, "fileReferences": []})
        reply, is_error, asks, first = "", False, False, None
        async with asyncio.timeout(TURN_TIMEOUT_SECONDS):
            while True:
                event, data, at = await self._heard.get()
                if event in ("stream_start", "stream_token") and first is None:
                    first = (at - sent) * 1000
                elif event == "first_interaction":
                    self.thread_id = str(data.get("thread_id") or self.thread_id)
                elif event == "new_message" and data.get("type") == "assistant_message":
                    reply, is_error = str(data.get("output", "")), bool(data.get("isError"))
                    self.thread_id = str(data.get("threadId") or self.thread_id)
                elif event == "action" and data.get("name") == "answer":
                    asks = True  # Confirm / Decline buttons: the agent awaits a yes or no
                elif event == "task_end":
                    break
        if first is not None:
            self._first_token_ms.append(first)
        return Reply(
            self.thread_id,
            reply,
            asks,
            is_error=is_error or not reply,
            latency_ms=(time.perf_counter() - sent) * 1000,
        )


class SocketTurns:
    """The crowd's turn over socket.io: a new thread is a new socket, as a new browser chat."""

    def __init__(self, base: str, emails: list[str], cookies: list[str]) -> None:
        self._base, self._emails, self._cookies = base, emails, cookies
        self._open: dict[int, ChatSocket] = {}
        self.first_token_ms: list[float] = []

    async def __call__(self, number: int, message: str, thread_id: str | None) -> Reply:
        chat = self._open.get(number)
        if thread_id is None or chat is None:
            if chat is not None:
                await chat.close()
            chat = ChatSocket(
                self._base, self._emails[number], self._cookies[number], self.first_token_ms
            )
            self._open[number] = chat
            await chat.open()
        return await chat.say(message)

    async def close(self) -> None:
        await asyncio.gather(*(chat.close() for chat in self._open.values()))


async def socketio_crowd(
    owner: str, server: ChainlitServer, *, clients: int, seconds: float
) -> tuple[Tally, float]:
    """`clients` travellers chatting through the real server: (their tally, with the server's
    CPU time, and the first-token p50)."""
    emails = create_users(owner, clients)
    server.wait_ready()
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        cookies = [await login(http, email) for email in emails]
    turns = SocketTurns(server.base, emails, cookies)
    before = cpu_seconds(server.process.pid)
    try:
        tally = await crowd(clients, turns, seconds=seconds)
    finally:
        await turns.close()
    tally.cpu_seconds = cpu_seconds(server.process.pid) - before
    return tally, percentile(turns.first_token_ms or [0.0], 0.5)
