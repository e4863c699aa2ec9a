"""A real Prometheus (Debian's package) scrapes a real `travelhub serve`: a traveller books a
flight over the chat's socket, and the turn and booking counters come back through
Prometheus' own query API."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.socketio_client import ChatSocket, chainlit_server, create_users, free_port, login
from tests.conftest import app_url

pytestmark = pytest.mark.integration

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def prometheus_binary() -> str:
    if Path(PROMETHEUS).exists():
        return PROMETHEUS
    if os.environ.get("CI"):
        pytest.fail(f"Prometheus is missing at {PROMETHEUS}; .ci/run installs it.")
    pytest.skip(f"No Prometheus at {PROMETHEUS}: apt-get install prometheus for this test")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Prometheus on a free port whose scrape config the test writes (its URL, the config
    file); reloaded through its HTTP API once the target is known."""
    binary = prometheus_binary()
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\n")
    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Prometheus did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base, config
    finally:
        process.terminate()
        process.wait(timeout=20)


def scrape_config(target: str) -> str:
    return (
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        "  - job_name: travelhub\n"
        "    metrics_path: /metrics\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )


def query(base: str, promql: str) -> float | None:
    """The single value `promql` has now in Prometheus, or None while it has none."""
    answer = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    results = answer["data"]["result"]
    return float(results[0]["value"][1]) if results else None


def until(base: str, promql: str, wanted: float, seconds: float = 30) -> float | None:
    deadline = time.monotonic() + seconds
    seen = query(base, promql)
    while seen != wanted and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = query(base, promql)
    return seen


async def book_a_flight(base: str, email: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        cookie = await login(http, email)
    chat = ChatSocket(base, email, cookie, [])
    await chat.open()
    try:
        await chat.say("Flights from London to Lisbon in three weeks")
        asked = await chat.say("book the cheapest")
        assert asked.awaiting_confirmation, asked.text
        booked = await chat.say("yes")
        assert "Booked!" in booked.text, booked.text
    finally:
        await chat.close()


def test_prometheus_reads_the_turn_and_booking_counters_of_a_real_server(
    database: str, prometheus: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    prometheus_url, config = prometheus
    monkeypatch.setenv("TRAVELHUB_METRICS_INTERVAL", "1")
    (email,) = create_users(database, 1)
    with chainlit_server(database, app_url(database), os.environ.get("REDIS_URL")) as server:
        server.wait_ready()
        target = server.base.removeprefix("http://")
        config.write_text(scrape_config(target))
        assert httpx.post(f"{prometheus_url}/-/reload", timeout=10).status_code == 200
        asyncio.run(book_a_flight(server.base, email))

        booked = 'travelhub_bookings_total{job="travelhub",status="confirmed"}'
        assert until(prometheus_url, booked, 1.0) == 1.0
        assert until(prometheus_url, 'sum(travelhub_turns_total{job="travelhub"})', 3.0) == 3.0
        answered = 'travelhub_turns_total{job="travelhub",outcome="answered"}'
        assert query(prometheus_url, answered) == 2.0
        assert query(prometheus_url, 'travelhub_turn_seconds_count{job="travelhub"}') == 3.0
        # The figures refreshed in the background reach it too.
        assert until(prometheus_url, 'travelhub_db_figures_up{job="travelhub"}', 1.0) == 1.0
        assert query(prometheus_url, 'up{job="travelhub"}') == 1.0
