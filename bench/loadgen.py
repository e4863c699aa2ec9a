"""Simulated travellers for the load benchmark: the script they follow, what they saw, and the
check of what they saw against chat_messages."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg

from bench.common import percentile
from db.models.enums import MessageRole
from db.urls import libpq_url

# A few routes and cities over three dates: every traveller searches something already
# cached (Redis, else the database tier) but the searches are not all one key either.
ROUTES = [("London", "Lisbon"), ("Paris", "Rome"), ("Berlin", "Madrid"), ("Amsterdam", "Vienna")]
CITIES = ["Paris", "Rome", "Lisbon", "Vienna"]
DATES = 3
BOOK = "book the cheapest"
CONFIRM = "yes"
BOOKED = "Booked!"
# What the traveller reads when a turn failed on our side: the agent's apologies (SORRY and
# its kin for a turn it could not save), a tool that broke, the UI refusing before consent.
FAILURE_PHRASES = (
    "something went wrong",
    "could not save",
    "did not work on my side",
    "accept the data-processing terms",
)


def conversation(number: int, today: date) -> list[str]:
    """What the traveller says in their `number`-th conversation: search, book, confirm."""
    day = today + timedelta(days=30 + (number // 2) % DATES)
    if number % 2 == 0:
        origin, destination = ROUTES[(number // 2) % len(ROUTES)]
        ask = f"Flights from {origin} to {destination} on {day.isoformat()}"
    else:
        city = CITIES[(number // 2) % len(CITIES)]
        ask = f"A hotel in {city} from {day.isoformat()} for 3 nights"
    return [ask, BOOK, CONFIRM]


def every_search(today: date) -> list[str]:
    """The first message of every distinct conversation: warming the cache with these makes
    both measured runs start from the same place."""
    span = 2 * len(ROUTES) * DATES
    return sorted({conversation(number, today)[0] for number in range(span)})


@dataclass(frozen=True)
class Reply:
    thread_id: str
    text: str
    awaiting_confirmation: bool
    is_error: bool = False
    latency_ms: float | None = None
    """The turn's own timing when it knows better (over socket.io: without the connect)."""


QUANTILES = (0.50, 0.95, 0.99)

Turn = Callable[[int, str, str | None], Awaitable[Reply]]
"""One turn for traveller number N: (traveller, message, thread or None for a new one)."""


@dataclass
class Tally:
    """Everything the travellers of one run saw, and how long each turn took."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    off_script: int = 0
    """Turns answered without error but not as the script expects (no confirmation question
    after "book the cheapest", no booking after "yes"): the conversation starts over."""
    seen: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Per thread: (what the traveller said, the reply they got), for successful turns."""
    window_seconds: float = 0.0
    """How long travellers started turns."""
    window_turns: int = 0
    """Turns answered within that window: the throughput. The turns still running at its end
    finish (and count for latency, errors and messages) but not for the rate, else the
    drain of the last slow turns would pass for the system's pace."""
    elapsed_seconds: float = 0.0
    """From the start to the end of the last turn."""
    cpu_seconds: float = 0.0
    """CPU time of the process serving the turns (every thread) during the run."""
    loop_lag_ms: list[float] = field(default_factory=list)
    """How late a timer of the event loop fired: its backlog, sampled during the run."""

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def turns_per_s(self) -> float:
        return self.window_turns / max(self.window_seconds, 1e-9)

    def absorb(self, other: Tally) -> None:
        """Add another run of the same crowd to this one (e.g. the same ceiling, later)."""
        self.latencies_ms += other.latencies_ms
        self.errors += other.errors
        self.off_script += other.off_script
        self.seen.update(other.seen)
        self.window_seconds += other.window_seconds
        self.window_turns += other.window_turns
        self.elapsed_seconds += other.elapsed_seconds
        self.cpu_seconds += other.cpu_seconds
        self.loop_lag_ms += other.loop_lag_ms

    def figures(self, prefix: str) -> dict[str, Any]:
        samples = self.latencies_ms or [0.0]
        return {
            f"{prefix}_turns": self.turns,
            f"{prefix}_turns_in_window": self.window_turns,
            f"{prefix}_turns_per_s": round(self.turns_per_s, 2),
            f"{prefix}_p50_ms": round(percentile(samples, 0.50), 1),
            f"{prefix}_p95_ms": round(percentile(samples, 0.95), 1),
            f"{prefix}_p99_ms": round(percentile(samples, 0.99), 1),
            f"{prefix}_errors": self.error_count,
            f"{prefix}_error_kinds": dict(self.errors),
            f"{prefix}_off_script": self.off_script,
            f"{prefix}_cpu_ms_per_turn": round(self.cpu_ms_per_turn, 2),
            f"{prefix}_loop_lag_p50_ms": round(percentile(self.loop_lag_ms or [0.0], 0.5), 1),
            f"{prefix}_loop_lag_p99_ms": round(percentile(self.loop_lag_ms or [0.0], 0.99), 1),
        }

    @property
    def cpu_ms_per_turn(self) -> float:
        return self.cpu_seconds * 1000 / max(self.turns, 1)

    def line(self, label: str, *, server: str = "process") -> str:
        """One line for people; `server` names whose CPU time `cpu_seconds` is."""
        p50, p95, p99 = (percentile(self.latencies_ms or [0.0], share) for share in QUANTILES)
        lag50, lag99 = (percentile(self.loop_lag_ms or [0.0], share) for share in (0.5, 0.99))
        errors = f" {dict(self.errors)}" if self.errors else ""
        busy = self.cpu_seconds / max(self.elapsed_seconds, 1e-9)
        return (
            f"{label}: {self.window_turns} turns in {self.window_seconds:g} s ="
            f" {self.turns_per_s:.1f} turns/s ({self.turns} with the drain);"
            f" p50 {p50:.0f} ms p95 {p95:.0f} ms p99 {p99:.0f} ms;"
            f" errors {self.error_count}{errors}; off-script {self.off_script};"
            f" {server} CPU {self.cpu_ms_per_turn:.1f} ms/turn ({busy:.0%} of a core);"
            f" our event-loop lag p50 {lag50:.0f} ms p99 {lag99:.0f} ms"
        )


def as_scripted(message: str, reply: Reply) -> bool:
    """Whether the reply is the one the script goes on from."""
    if message == BOOK:
        return reply.awaiting_confirmation
    if message == CONFIRM:
        return reply.text.startswith(BOOKED)
    return True


async def traveller(number: int, turn: Turn, *, deadline: float, tally: Tally) -> None:
    """Hold conversations until the deadline; a turn started before it is finished."""
    today = date.today()
    conversations = number  # travellers start at different points of the script
    while time.monotonic() < deadline:
        thread: str | None = None
        for message in conversation(conversations, today):
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            try:
                reply = await turn(number, message, thread)
            except Exception as error:
                # A crash of one turn is a finding to count, not a reason to stop the others.
                tally.latencies_ms.append((time.perf_counter() - started) * 1000)
                tally.errors[type(error).__name__] += 1
                break
            elapsed = (time.perf_counter() - started) * 1000
            tally.latencies_ms.append(elapsed if reply.latency_ms is None else reply.latency_ms)
            if reply.is_error or any(phrase in reply.text for phrase in FAILURE_PHRASES):
                tally.errors[reply.text[:60] or "no reply"] += 1
                break
            if time.monotonic() <= deadline:  # only answered turns make throughput
                tally.window_turns += 1
            thread = reply.thread_id
            tally.seen.setdefault(thread, []).append((message, reply.text))
            if not as_scripted(message, reply):
                tally.off_script += 1  # e.g. sold out since the search: a fair answer, no booking
                break
        conversations += 1


LAG_PROBE_SECONDS = 0.1


async def probe_loop(tally: Tally) -> None:
    """Sample how late a short sleep wakes up: a busy event loop answers everything late."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(LAG_PROBE_SECONDS)
        tally.loop_lag_ms.append((time.perf_counter() - asked - LAG_PROBE_SECONDS) * 1000)


async def crowd(travellers: int, turn: Turn, *, seconds: float) -> Tally:
    """`travellers` concurrent travellers starting turns for `seconds`."""
    tally = Tally(window_seconds=seconds)
    started = time.monotonic()
    deadline = started + seconds
    cpu = time.process_time()
    probe = asyncio.create_task(probe_loop(tally))
    try:
        async with asyncio.TaskGroup() as group:
            for number in range(travellers):
                group.create_task(traveller(number, turn, deadline=deadline, tally=tally))
    finally:
        probe.cancel()
    tally.elapsed_seconds = time.monotonic() - started
    tally.cpu_seconds = time.process_time() - cpu
    return tally


@dataclass(frozen=True)
class Reconciled:
    expected: int
    lost: int
    """Messages a traveller sent or read that have no chat_messages row."""
    duplicated: int
    """User messages stored more often than they were said."""


def reconcile(owner_url: str, seen: dict[str, list[tuple[str, str]]]) -> Reconciled:
    """Compare what travellers saw with chat_messages (read as the owner: every tenant)."""
    if not seen:
        return Reconciled(0, 0, 0)
    stored: dict[str, Counter[tuple[str, str]]] = {}
    with psycopg.connect(libpq_url(owner_url), prepare_threshold=None) as owner:
        rows = owner.execute(
            "SELECT s.thread_id::text, m.role::text, m.content FROM chat_messages m"
            " JOIN chat_sessions s ON s.id = m.session_id"
            " WHERE s.thread_id = ANY(%s) AND m.role::text IN ('user', 'assistant')",
            ([uuid.UUID(thread) for thread in seen],),
        ).fetchall()
    for thread, role, content in rows:
        stored.setdefault(thread, Counter())[(role, content)] += 1
    expected = lost = duplicated = 0
    for thread, turns in seen.items():
        have = stored.get(thread, Counter())
        said = Counter((MessageRole.USER.value, message) for message, _ in turns)
        wanted = said + Counter((MessageRole.ASSISTANT.value, reply) for _, reply in turns)
        expected += sum(wanted.values())
        lost += sum((wanted - have).values())
        duplicated += sum(max(0, have[key] - count) for key, count in said.items() if key in have)
    return Reconciled(expected, lost, duplicated)
