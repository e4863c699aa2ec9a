"""The metrics a running process records: a booking conversation moves the turn, model, tool,
search, booking and chat log figures; pools, Redis and the design's database figures are
read as they are (issue 22)."""

from __future__ import annotations

import asyncio
import os

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import text

from agent.bootstrap import Services
from db.engine import create_app_engine
from db.figures import read_figures
from db.models import PARTITIONED_TABLES
from ops import metrics
from ops.live import LIVE, waiters_of
from tests.integration.agent_world import stack, traveller

pytestmark = pytest.mark.integration


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped() -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The live gauges as a scrape reads them: name -> {labels -> value}."""
    seen: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in LIVE.collect():
        for sample in family.samples:
            seen.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return seen


async def test_a_booking_conversation_moves_the_counters(services: Services) -> None:
    ada = await traveller(services)
    before = {
        "answered": value("travelhub_turns_total", outcome="answered"),
        "question": value("travelhub_turns_total", outcome="question"),
        "turns": value("travelhub_turn_seconds_count"),
        "confirmed": value("travelhub_bookings_total", status="confirmed"),
        "model": value("travelhub_model_calls_total", outcome="ok"),
        "search": value("travelhub_search_total", kind="flight", tier="provider"),
        "search_seconds": value("travelhub_search_seconds_count", tier="provider"),
        "tool": value("travelhub_tool_calls_total", tool="search_flights", outcome="success"),
        "batches": value("travelhub_chat_log_batch_size_count"),
        "commits": value("travelhub_chat_log_commit_seconds_count"),
    }
    first = await services.conversations.turn(ada, "Flights from London to Lisbon in three weeks")
    thread = first.thread_id
    asked = await services.conversations.turn(ada, "book the cheapest", thread_id=thread)
    assert asked.awaiting_confirmation
    booked = await services.conversations.turn(ada, "yes", thread_id=thread)
    assert "Booked!" in booked.reply
    await services.chat_log.flushed()

    assert value("travelhub_turns_total", outcome="answered") == before["answered"] + 2
    assert value("travelhub_turns_total", outcome="question") == before["question"] + 1
    assert value("travelhub_turn_seconds_count") == before["turns"] + 3
    assert value("travelhub_bookings_total", status="confirmed") == before["confirmed"] + 1
    assert value("travelhub_model_calls_total", outcome="ok") > before["model"]
    assert value("travelhub_search_total", kind="flight", tier="provider") > before["search"]
    assert value("travelhub_search_seconds_count", tier="provider") > before["search_seconds"]
    tool = value("travelhub_tool_calls_total", tool="search_flights", outcome="success")
    assert tool == before["tool"] + 1
    assert value("travelhub_chat_log_batch_size_count") > before["batches"]
    assert value("travelhub_chat_log_commit_seconds_count") > before["commits"]


async def test_a_message_too_long_counts_as_refused(services: Services) -> None:
    ada = await traveller(services)
    before = value("travelhub_turns_total", outcome="refused")
    await services.conversations.turn(ada, "x" * (services.conversations.max_message_chars + 1))
    assert value("travelhub_turns_total", outcome="refused") == before + 1


async def test_metrics_off_records_nothing(database: str, runtime_database: str) -> None:
    try:
        async with stack(database, runtime_database, TRAVELHUB_METRICS=False) as quiet:
            assert not metrics.enabled()
            before = value("travelhub_turns_total", outcome="answered")
            await quiet.conversations.turn(await traveller(quiet), "hello")
            assert value("travelhub_turns_total", outcome="answered") == before
    finally:
        metrics.enable(True)


async def test_the_design_figures_are_read_from_the_database(database: str) -> None:
    redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        snapshot = await read_figures(database, analytics_url=None, redis=redis)
    finally:
        await redis.aclose()
    assert snapshot.ok
    gauges = snapshot.gauges
    assert gauges["travelhub_redis_up"] == {(): 1.0}
    assert gauges["travelhub_db_connections"][()] >= 1
    assert 0 <= gauges["travelhub_db_dead_tuples"][()]
    for table in PARTITIONED_TABLES:
        assert gauges["travelhub_db_partitions_ahead"][(("table", table),)] >= 2
        assert gauges["travelhub_db_default_rows"][(("table", table),)] == 0
    assert "travelhub_db_replica_lag_seconds" not in gauges  # no replica configured: no figure


async def test_an_unreachable_database_and_redis_read_as_down() -> None:
    nowhere = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        snapshot = await read_figures(
            "postgresql://nobody@127.0.0.1:1/none", analytics_url=None, redis=nowhere
        )
    finally:
        await nowhere.aclose()
    assert not snapshot.ok
    assert snapshot.gauges == {"travelhub_redis_up": {(): 0.0}}


async def test_the_pool_gauges_count_connections_lent_and_checkouts_waiting(
    runtime_database: str,
) -> None:
    engine = create_app_engine(runtime_database, pool_size=1, pool_timeout=5)
    try:
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]

            async def second() -> None:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))

            waiting = asyncio.create_task(second())
            for _ in range(100):
                if waiters_of(engine):
                    break
                await asyncio.sleep(0.01)
            assert waiters_of(engine) == 1
        await waiting
        assert waiters_of(engine) == 0
    finally:
        await engine.dispose()


async def test_a_serving_process_reports_its_pools_and_refreshes_its_figures(
    database: str, runtime_database: str
) -> None:
    async with stack(database, runtime_database, TRAVELHUB_METRICS_INTERVAL=0.2) as serving:
        serving.start_background()
        for _ in range(100):
            if LIVE.snapshot is not None:
                break
            await asyncio.sleep(0.05)
        gauges = scraped()
        assert gauges["travelhub_db_figures_up"] == {(): 1.0}
        in_use = gauges["travelhub_db_pool_connections_in_use"]
        assert set(in_use) == {(("pool", name),) for name in ("app", "search_locks", "checkpoint")}
        assert gauges["travelhub_db_pool_waiting"][(("pool", "app"),)] == 0
        assert gauges["travelhub_db_partitions_ahead"]
    assert LIVE.snapshot is None  # closed services are forgotten
    assert not LIVE.engines
