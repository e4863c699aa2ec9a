"""Turn overhead: a full agent turn with every write (checkpoints in PostgreSQL, chat_messages,
analytics) against the same graph on an in-memory checkpointer writing nothing, same run; and
the cost of metrics: the full turn with them on against off (TRAVELHUB_METRICS), same run."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import time
from datetime import date, timedelta
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from accounts.directory import account_by_email
from agent.bootstrap import DatabaseUrls, build_services
from agent.graph import build_graph
from agent.offline.model import OfflineTravelModel
from agent.settings import Settings
from bench.common import scratch_database, summary, write_results
from db.ids import new_id
from ops import metrics

SAID = "Flights from London to Lisbon on {day}"
TURNS_PER_CONVERSATION = 3


async def run(turns: int) -> dict[str, Any]:
    with scratch_database() as (owner, runtime):
        services = await build_services(
            Settings(TRAVELHUB_ENV="test", REDIS_URL=os.environ.get("REDIS_URL")),
            DatabaseUrls(owner, runtime),
        )
        try:
            traveller = await account_by_email(
                services.sessions, "default", "bench@example.com", create=True
            )
            day = (date.today() + timedelta(days=40)).isoformat()
            message = SAID.format(day=day)
            await services.conversations.turn(traveller, message)  # warm the search cache
            # The same graph and tools, on an in-memory checkpointer, writing nothing at all.
            bare_graph = build_graph(OfflineTravelModel()).compile(checkpointer=InMemorySaver())
            quiet_search = services.search.without_analytics()
            context = dataclasses.replace(
                services.conversations.context(traveller, str(new_id()), new_id()),
                desk=dataclasses.replace(services.desk, search=quiet_search),
            )
            # Both sides hold the same conversations, a few turns on a new thread each, and
            # take turns conversation by conversation: a machine slowing down or speeding up
            # mid-run weighs on both alike.
            full: list[float] = []
            unmetered: list[float] = []
            bare: list[float] = []
            paired: list[float] = []
            sides = [(True, full), (False, unmetered)]
            while len(full) < turns:
                sides.reverse()  # each side goes first every other round
                for recording, samples in sides:
                    metrics.enable(recording)
                    thread: str | None = None
                    for _ in range(TURNS_PER_CONVERSATION):
                        started = time.perf_counter()
                        result = await services.conversations.turn(
                            traveller, message, thread_id=thread
                        )
                        samples.append((time.perf_counter() - started) * 1000)
                        thread = result.thread_id
                metrics.enable(True)
                last = slice(-TURNS_PER_CONVERSATION, None)  # this round's, side by side in time
                paired.append(sum(full[last]) / sum(unmetered[last]))
                config: Any = {"configurable": {"thread_id": str(new_id())}}
                for _ in range(TURNS_PER_CONVERSATION):
                    started = time.perf_counter()
                    await bare_graph.ainvoke(
                        {"messages": [HumanMessage(message)]}, config, context=context
                    )
                    bare.append((time.perf_counter() - started) * 1000)
        finally:
            await services.aclose()
    cost_us = recording_cost_us()
    persisted, baseline, quiet = summary(full), summary(bare), summary(unmetered)
    ratio = persisted["p50_ms"] / baseline["p50_ms"]
    # The median of each round's on/off ratio: the two conversations of a round ran next to
    # each other, so a machine busy with other work weighs on both (p50 / p50 is printed too).
    metered = statistics.median(paired)
    print(
        f"turn full persistence: p50 {persisted['p50_ms']:.2f} ms p99 {persisted['p99_ms']:.2f} ms;"
        f" in-memory, no writes: p50 {baseline['p50_ms']:.2f} ms p99 {baseline['p99_ms']:.2f} ms;"
        f" ratio {ratio:.2f} (n={turns})"
    )
    print(
        f"turn with metrics: p50 {persisted['p50_ms']:.2f} ms; without: p50"
        f" {quiet['p50_ms']:.2f} ms p99 {quiet['p99_ms']:.2f} ms (p50 ratio"
        f" {persisted['p50_ms'] / quiet['p50_ms']:.3f}); median paired ratio {metered:.3f};"
        f" the metric calls of a turn alone: {cost_us:.1f} us"
    )
    return {
        "turn_overhead_ratio": round(ratio, 3),
        "turn_full": persisted,
        "turn_in_memory": baseline,
        "metrics_turn_ratio": round(metered, 3),
        "turn_without_metrics": quiet,
        "metrics_recording_us_per_turn": round(cost_us, 2),
    }


def recording_cost_us(rounds: int = 20_000) -> float:
    """Microseconds the metric calls of one search turn take (a turn, two model calls, a tool
    call, a search, a chat log commit): the cost the turn ratio above hides in its noise."""
    metrics.enable(True)
    started = time.perf_counter()
    for _ in range(rounds):
        metrics.turn_finished("answered", 0.01)
        metrics.model_called("ok", 0.001, {"input_tokens": 10, "output_tokens": 5})
        metrics.model_called("ok", 0.001, {"input_tokens": 10, "output_tokens": 5})
        metrics.tool_answered("search_flights", "success")
        metrics.searched("flight", "redis", 0.001)
        metrics.chat_log_committed(1, 0.002)
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    turns = 30 if parser.parse_args().quick else 150
    write_results(asyncio.run(run(turns)), {"turns": turns})


if __name__ == "__main__":
    main()
