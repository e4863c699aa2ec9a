"""The real app in a real browser: `travelhub serve` processes driven by Debian's Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from accounts.passwords import hash_password
from db.urls import libpq_url
from tests.conftest import create_database, drop_database
from tests.support.redis_server import free_port

CHROMIUM = os.environ.get("TRAVELHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def e2e_database(server_url: str, template_database: str) -> Iterator[str]:
    name = f"th_e2e_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name, template=template_database)
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def accounts(e2e_database: str) -> dict[str, str]:
    """Two travellers of the default tenant who have given consent, by name -> email."""
    people = {"ada": "ada@example.com", "bob": "bob@example.com"}
    with psycopg.connect(libpq_url(e2e_database), autocommit=True) as owner:
        tenant = owner.execute("SELECT id FROM tenants WHERE slug = 'default'").fetchone()[0]
        for name, email in people.items():
            owner.execute(
                "INSERT INTO users (tenant_id, email, full_name, hashed_password,"
                " data_processing_consent, consent_granted_at)"
                " VALUES (%s, %s, %s, %s, true, now())",
                (tenant, email, name.title(), hash_password(PASSWORD)),
            )
    return people


@pytest.fixture(scope="module")
def newcomers(e2e_database: str) -> list[str]:
    """Travellers of the default tenant who have not given consent yet (their e-mails)."""
    people = ["una@example.com", "dan@example.com", "eve@example.com"]
    with psycopg.connect(libpq_url(e2e_database), autocommit=True) as owner:
        tenant = owner.execute("SELECT id FROM tenants WHERE slug = 'default'").fetchone()[0]
        for email in people:
            owner.execute(
                "INSERT INTO users (tenant_id, email, full_name, hashed_password)"
                " VALUES (%s, %s, %s, %s)",
                (tenant, email, email.split("@")[0].title(), hash_password(PASSWORD)),
            )
    return people


class Server:
    def __init__(
        self,
        database: str,
        data_dir: Path,
        redis_url: str | None,
        *,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OAUTH_")}
        env.update(
            DATABASE_URL=database,
            TRAVELHUB_DATA_DIR=str(data_dir),
            CHAINLIT_AUTH_SECRET="e2e-secret-" + "x" * 40,
        )
        env.update(extra_env or {})
        if redis_url:
            env["REDIS_URL"] = redis_url
        else:
            env.pop("REDIS_URL", None)
        self.log = data_dir / f"server-{self.port}.log"
        self._out = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(self.port)],
            env=env, stdout=self._out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"travelhub serve exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        pytest.fail(f"travelhub serve did not become healthy:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._out.close()


@pytest.fixture(scope="module")
def servers(
    e2e_database: str, accounts: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Server]]:
    """Two app processes on two ports sharing one PostgreSQL (and Redis when there is one)."""
    del accounts
    data = tmp_path_factory.mktemp("app")
    redis_url = os.environ.get("REDIS_URL")
    started = [Server(e2e_database, data, redis_url), Server(e2e_database, data, redis_url)]
    yield started
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server(
    e2e_database: str, accounts: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One app process, for a module that needs no second one."""
    del accounts
    started = Server(e2e_database, tmp_path_factory.mktemp("app"), os.environ.get("REDIS_URL"))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}; .ci/run installs it.")
        pytest.skip(f"No Chromium at {CHROMIUM}: apt-get install chromium for the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def owner_db(e2e_database: str) -> Iterator[Any]:
    with psycopg.connect(libpq_url(e2e_database), autocommit=True) as connection:
        yield connection


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
