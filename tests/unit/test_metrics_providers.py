"""A provider that keeps failing shows on /metrics: its errors counted by kind, and its
circuit breaker's state read at each scrape (open after the threshold, half-open after the
cooldown)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from ops.live import LIVE
from tools.errors import ProviderUnavailable
from tools.providers.http import Resilience, ResilientClient


def circuit(provider: str) -> dict[str, float]:
    for family in LIVE.collect():
        if family.name == "travelhub_provider_circuit":
            return {
                sample.labels["state"]: sample.value
                for sample in family.samples
                if sample.labels["provider"] == provider
            }
    return {}


def errors(provider: str, kind: str) -> float:
    labels = {"provider": provider, "kind": kind}
    return REGISTRY.get_sample_value("travelhub_provider_errors_total", labels) or 0.0


async def test_a_failing_provider_counts_errors_and_opens_its_circuit() -> None:
    now = [0.0]

    async def no_wait(_seconds: float) -> None:
        return None

    down = httpx.MockTransport(lambda _request: httpx.Response(503, json={"errors": []}))
    async with httpx.AsyncClient(transport=down) as http:
        vendor = ResilientClient(
            client=http,
            provider="metricsvendor",
            base_url="https://vendor.test",
            resilience=Resilience(max_attempts=1, failure_threshold=2, cooldown=30),
            sleep=no_wait,
            clock=lambda: now[0],
        )
        assert circuit("metricsvendor") == {"closed": 1.0, "half_open": 0.0, "open": 0.0}
        for _ in range(2):
            with pytest.raises(ProviderUnavailable):
                await vendor.request_json("GET", "/offers")
        assert errors("metricsvendor", "unavailable") == 2
        assert circuit("metricsvendor")["open"] == 1.0
        with pytest.raises(ProviderUnavailable):
            await vendor.request_json("GET", "/offers")  # refused without calling
        assert errors("metricsvendor", "circuit_open") == 1
        now[0] = 31.0
        assert circuit("metricsvendor")["half_open"] == 1.0
