"""The `travelhub` command as operators run it: a real process, real output, real exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from db import migrate
from tests.conftest import PGBOUNCER, app_url
from tests.support.redis_server import free_port

pytestmark = pytest.mark.integration

TRAVELHUB = [sys.executable, "-m", "cli"]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRAVELHUB, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def environment(**overrides: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    database = overrides.get("DATABASE_URL")
    if PGBOUNCER and database and database.startswith("postgresql"):
        env["APP_DATABASE_URL"] = app_url(database)  # the app's own traffic, through PgBouncer
    return env


def test_db_upgrade_current_downgrade(empty_database: str) -> None:
    env = environment(DATABASE_URL=empty_database)
    assert run("db", "current", env=env).stdout.startswith("base (behind ")

    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    head = migrate.head_revision()
    assert f"is at {head}." in upgraded.stdout
    assert run("db", "current", env=env).stdout.strip() == f"{head} (up to date)"

    downgraded = run("db", "downgrade", "base", env=env)
    assert downgraded.returncode == 0, downgraded.stderr
    assert "is at base" in downgraded.stdout


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("mysql://localhost/travel", "DATABASE_URL must point at PostgreSQL, not 'mysql'."),
        ("not a url at all", "DATABASE_URL is not a valid URL"),
        ("postgresql://nobody@127.0.0.1:1/none", "cannot reach the database"),
    ],
)
def test_bad_database_url_is_one_sentence_and_a_failure(url: str, sentence: str) -> None:
    result = run("db", "current", env=environment(DATABASE_URL=url))
    assert result.returncode == 1
    assert sentence in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_production_without_secrets_refuses_to_start(empty_database: str) -> None:
    env = environment(DATABASE_URL=empty_database, TRAVELHUB_ENV="production")
    for key in ("CHAINLIT_AUTH_SECRET", "TRAVELHUB_TOKEN_KEYS"):
        env.pop(key, None)
    result = run("db", "current", env=env)
    assert result.returncode == 1
    assert result.stderr == (
        "travelhub: Production needs these settings, which are unset:"
        " CHAINLIT_AUTH_SECRET, TRAVELHUB_TOKEN_KEYS.\n"
    )
    assert "Traceback" not in result.stderr


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """`travelhub serve` in its own process; yields its base URL."""
    env: dict[str, str] = request.param(tmp_path, request)
    port = free_port()
    process = subprocess.Popen(
        [*TRAVELHUB, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"travelhub serve exited early:\n{output}")
            try:
                httpx.get(base, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _configured(_tmp: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return environment(DATABASE_URL=request.getfixturevalue("empty_database"))


def _embedded(tmp: Path, _request: pytest.FixtureRequest) -> dict[str, str]:
    return environment(DATABASE_URL=None, TRAVELHUB_DATA_DIR=str(tmp / "data"))


@pytest.mark.parametrize("served", [_configured, _embedded], indirect=True, ids=["url", "embedded"])
def test_serve_migrates_then_answers_http_200(served: str) -> None:
    response = httpx.get(served, timeout=10, follow_redirects=True)
    assert response.status_code == 200
    assert response.url.path.rstrip("/") == "/chat"
    assert "<title>Global Travel Hub</title>" in response.text
