"""/healthz tells a load balancer the truth: 200 while PostgreSQL and Redis answer, 503 not."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_health_follows_redis(
    e2e_database: str, redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    app = Server(e2e_database, tmp_path_factory.mktemp("health"), redis.url)
    try:
        healthy = httpx.get(f"{app.base}/healthz", timeout=10)
        assert (healthy.status_code, healthy.json()) == (200, {"postgres": "ok", "redis": "ok"})
        redis.stop()
        down = httpx.get(f"{app.base}/healthz", timeout=10)
        assert (down.status_code, down.json()) == (503, {"postgres": "ok", "redis": "down"})
        redis.start()
        assert httpx.get(f"{app.base}/healthz", timeout=10).status_code == 200
    finally:
        app.stop()
