"""Gauges read when Prometheus scrapes: connection pools, provider circuits, and the last
figures the background refresher (db/figures.py) read from the database and Redis.

Nothing here does I/O at scrape time: the pools and circuits are read in memory, the
database figures are the refresher's latest."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from weakref import WeakValueDictionary

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

import ops.metrics  # noqa: F401  (its counters register themselves on import)

CIRCUIT_STATES = ("closed", "half_open", "open")


class Circuit(Protocol):
    """A provider's circuit breaker (tools/providers/http.py), as far as metrics read it."""

    @property
    def state(self) -> str: ...


@dataclass(frozen=True)
class Snapshot:
    """What the refresher last read: gauge name -> {labels -> value}, and when."""

    gauges: Mapping[str, Mapping[tuple[tuple[str, str], ...], float]]
    read_at: float
    """Unix time of the read."""
    ok: bool
    """Whether the database figures could be read (False: `gauges` holds only Redis's)."""


HELP = {
    "travelhub_db_connections": "Server connections (pg_stat_activity).",
    "travelhub_db_buffer_cache_hit_ratio": "Share of table block reads served from memory.",
    "travelhub_db_longest_query_seconds": "The longest active query running over 30 s.",
    "travelhub_db_partitions_ahead": "Consecutive monthly partitions made ahead of this month.",
    "travelhub_db_default_rows": "Rows in a partitioned table's DEFAULT partition.",
    "travelhub_db_replica_lag_seconds": "Seconds the analytics replica is behind the primary.",
    "travelhub_db_dead_tuples": "Dead rows waiting for vacuum, all tables.",
    "travelhub_redis_up": "Whether Redis answered a ping (1) or not (0).",
}


@dataclass(eq=False)  # registered by identity
class Live(Collector):
    """The running process's pools, circuits and latest figures; one per process."""

    engines: dict[str, AsyncEngine] = field(default_factory=dict)
    pools: dict[str, AsyncConnectionPool[Any]] = field(default_factory=dict)
    circuits: WeakValueDictionary[str, Any] = field(default_factory=WeakValueDictionary)
    snapshot: Snapshot | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "travelhub_db_pool_connections_in_use", "Pool connections lent out.", labels=["pool"]
        )
        waiting = GaugeMetricFamily(
            "travelhub_db_pool_waiting",
            "Requests waiting for a pool connection.",
            labels=["pool"],
        )
        for name, engine in self.engines.items():
            in_use.add_metric([name], engine.pool.checkedout())  # type: ignore[attr-defined]
            waiting.add_metric([name], waiters_of(engine))
        for name, pool in self.pools.items():
            stats = pool.get_stats()
            in_use.add_metric([name], stats["pool_size"] - stats["pool_available"])
            waiting.add_metric([name], stats.get("requests_waiting", 0))
        yield in_use
        yield waiting
        circuit = GaugeMetricFamily(
            "travelhub_provider_circuit",
            "A provider's circuit breaker: 1 for its current state.",
            labels=["provider", "state"],
        )
        for provider, breaker in list(self.circuits.items()):
            for state in CIRCUIT_STATES:
                circuit.add_metric([provider, state], float(str(breaker.state) == state))
        yield circuit
        if self.snapshot is not None:
            yield from self._figures(self.snapshot)

    @staticmethod
    def _figures(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "travelhub_db_figures_up",
            "Whether the last refresh read the database figures (1) or failed (0).",
            value=float(snapshot.ok),
        )
        yield GaugeMetricFamily(
            "travelhub_db_figures_refreshed_timestamp_seconds",
            "When the database figures were last read (Unix time).",
            value=snapshot.read_at,
        )
        for name, series in snapshot.gauges.items():
            names = [label for label, _value in next(iter(series), ())]
            family = GaugeMetricFamily(name, HELP.get(name, name), labels=names)
            for labels, value in series.items():
                family.add_metric([label_value for _label, label_value in labels], value)
            yield family


def waiters_of(engine: AsyncEngine) -> int:
    """Checkouts of `engine`'s pool waiting for a connection. SQLAlchemy counts them nowhere
    public: its async queue's waiting getters are read (tests/integration/test_metrics.py
    proves the count on a real pool), 0 if that shape ever changes."""
    queue = getattr(getattr(engine.pool, "_pool", None), "_queue", None)
    getters = getattr(queue, "_getters", ())
    return sum(not getter.done() for getter in getters)


LIVE = Live()
REGISTRY.register(LIVE)


def watch_pools(*, engines: Mapping[str, AsyncEngine], pools: Mapping[str, Any]) -> None:
    """Report these pools (the running services'), replacing any watched before."""
    LIVE.engines, LIVE.pools = dict(engines), dict(pools)


def unwatch() -> None:
    """Forget the pools and figures of services that closed."""
    LIVE.engines, LIVE.pools, LIVE.snapshot = {}, {}, None


def watch_circuit(provider: str, breaker: Circuit) -> None:
    """Report `provider`'s circuit breaker while it lives (the newest one per provider)."""
    LIVE.circuits[provider] = breaker


def keep_snapshot(snapshot: Snapshot) -> None:
    LIVE.snapshot = snapshot


def exposition(accept: str) -> tuple[bytes, str]:
    """Every metric of this process and its content type: Prometheus' text format, or
    OpenMetrics when the scraper's Accept header asks for it."""
    encode, content_type = choose_encoder(accept)
    return encode(REGISTRY), content_type
