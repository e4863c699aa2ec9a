"""The database figures of the design's section 7 (those `travelhub stats` prints) and whether
Redis answers, read on a timer in the background for /metrics (ops/live.py), so a scrape never
waits on the database."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from db.models import PARTITIONED_TABLES
from db.stats import Figure, collect
from ops.live import Snapshot, keep_snapshot

log = logging.getLogger(__name__)
Labels = tuple[tuple[str, str], ...]
NO_LABELS: Labels = ()

# `travelhub stats` figure name -> (gauge, labels)
GAUGES: dict[str, tuple[str, Labels]] = {
    "connections": ("travelhub_db_connections", NO_LABELS),
    "buffer_cache_hit_ratio": ("travelhub_db_buffer_cache_hit_ratio", NO_LABELS),
    "longest_query_seconds": ("travelhub_db_longest_query_seconds", NO_LABELS),
    "replication_lag_seconds": ("travelhub_db_replica_lag_seconds", NO_LABELS),
    "dead_tuples": ("travelhub_db_dead_tuples", NO_LABELS),
    **{
        f"{table}_months_ahead": ("travelhub_db_partitions_ahead", (("table", table),))
        for table in PARTITIONED_TABLES
    },
    **{
        f"{table}_default_rows": ("travelhub_db_default_rows", (("table", table),))
        for table in PARTITIONED_TABLES
    },
}


def gauges_of(figures: list[Figure]) -> dict[str, dict[Labels, float]]:
    """The figures that are numbers, as gauges (a figure without a value, e.g. no replica
    configured, is left out rather than reported as 0)."""
    gauges: dict[str, dict[Labels, float]] = {}
    for figure in figures:
        if figure.name in GAUGES and isinstance(figure.value, int | float):
            name, labels = GAUGES[figure.name]
            gauges.setdefault(name, {})[labels] = float(figure.value)
    return gauges


async def read_figures(
    owner_url: str,
    *,
    analytics_url: str | None,
    redis: Redis | None,
    reader: Callable[..., list[Figure]] = collect,
) -> Snapshot:
    """One reading: the database's figures (in a thread: they are synchronous) and a ping of
    Redis. A database that cannot be read gives `ok=False`, logged, not raised."""
    gauges: dict[str, Mapping[Labels, float]] = {}
    ok = True
    try:
        figures = await asyncio.to_thread(reader, owner_url, analytics_url=analytics_url)
        gauges.update(gauges_of(figures))
    except Exception as error:
        log.warning("metrics: cannot read the database figures: %s", error)
        ok = False
    if redis is not None:
        try:
            up = float(bool(await redis.ping()))
        except (RedisError, OSError):
            up = 0.0
        gauges["travelhub_redis_up"] = {NO_LABELS: up}
    return Snapshot(gauges, time.time(), ok)


async def refresh_forever(interval_seconds: float, **reading: Any) -> None:
    """Read the figures every `interval_seconds` for /metrics, until cancelled."""
    while True:
        keep_snapshot(await read_figures(**reading))
        await asyncio.sleep(interval_seconds)
