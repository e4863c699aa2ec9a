"""Every Prometheus metric the product records, and the one-line calls that record them.

`travelhub serve` runs one process per instance (one uvicorn worker: Chainlit keeps its chat
sockets in that process's memory), so each instance counts in its own memory and Prometheus
adds instances up; no multiprocess mode is needed. TRAVELHUB_METRICS=off turns every call
here into a no-op (bench/turns.py measures the difference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter, Histogram, disable_created_metrics

# The `_created` twin of every counter doubles the scrape and no rule of ours reads it.
disable_created_metrics()  # type: ignore[no-untyped-call]

TURN_OUTCOMES = ("answered", "question", "refused", "failed", "unsaved", "deadline", "no_database")
"""How a turn ends: an answer, a confirmation question, a message refused (too long), or one
of the errors the traveller is told about in one sentence."""
FAILED_OUTCOMES = ("failed", "unsaved", "deadline", "no_database")
BOOKING_STATUSES = ("confirmed", "failed", "needs_review", "cancelled")
SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

TURNS = Counter("travelhub_turns", "Turns run, by how they ended.", ["outcome"])
TURN_SECONDS = Histogram(
    "travelhub_turn_seconds", "Seconds from a message to its answer.", buckets=SECONDS
)
MODEL_CALLS = Counter("travelhub_model_calls", "Calls to the language model.", ["outcome"])
MODEL_SECONDS = Histogram(
    "travelhub_model_call_seconds", "Seconds one model call took.", buckets=SECONDS
)
MODEL_TOKENS = Counter(
    "travelhub_model_tokens", "Tokens the model read (input) and wrote (output).", ["kind"]
)
TOOL_CALLS = Counter(
    "travelhub_tool_calls", "Tool calls of the agent, by tool and outcome.", ["tool", "outcome"]
)
SEARCHES = Counter(
    "travelhub_search", "Searches, by the cache tier that answered.", ["kind", "tier"]
)
SEARCH_SECONDS = Histogram(
    "travelhub_search_seconds", "Seconds one search took, by tier.", ["tier"], buckets=SECONDS
)
PROVIDER_ERRORS = Counter(
    "travelhub_provider_errors",
    "Provider requests that failed (after retries), by provider and kind.",
    ["provider", "kind"],
)
BOOKINGS = Counter("travelhub_bookings", "Bookings settled, by status.", ["status"])
CHAT_LOG_BATCH = Histogram(
    "travelhub_chat_log_batch_size",
    "Turns' writes group-committed in one chat log transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
CHAT_LOG_COMMIT_SECONDS = Histogram(
    "travelhub_chat_log_commit_seconds", "Seconds one chat log transaction took.", buckets=SECONDS
)

for _outcome in TURN_OUTCOMES:  # every series exists from the start, so rate() sees its 0
    TURNS.labels(_outcome)
for _status in BOOKING_STATUSES:
    BOOKINGS.labels(_status)

_enabled = True


def enable(on: bool) -> None:
    """Record metrics (True, the default) or make every call here a no-op."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


def turn_finished(outcome: str, seconds: float) -> None:
    if _enabled:
        TURNS.labels(outcome).inc()
        TURN_SECONDS.observe(seconds)


def model_called(outcome: str, seconds: float, usage: Mapping[str, Any] | None = None) -> None:
    if _enabled:
        MODEL_CALLS.labels(outcome).inc()
        MODEL_SECONDS.observe(seconds)
        for kind in ("input", "output"):
            if count := (usage or {}).get(f"{kind}_tokens"):
                MODEL_TOKENS.labels(kind).inc(count)


def tool_answered(tool: str, outcome: str) -> None:
    if _enabled:
        TOOL_CALLS.labels(tool, outcome).inc()


def searched(kind: str, tier: str, seconds: float) -> None:
    if _enabled:
        SEARCHES.labels(kind, tier).inc()
        SEARCH_SECONDS.labels(tier).observe(seconds)


def provider_failed(provider: str, kind: str) -> None:
    if _enabled:
        PROVIDER_ERRORS.labels(provider, kind).inc()


def booking_settled(status: str) -> None:
    if _enabled:
        BOOKINGS.labels(status).inc()


def chat_log_committed(batch_size: int, seconds: float) -> None:
    if _enabled:
        CHAT_LOG_BATCH.observe(batch_size)
        CHAT_LOG_COMMIT_SECONDS.observe(seconds)
