"""Load: many travellers holding multi-turn conversations at once against the real stack,
against the same graph and tools on an in-memory checkpointer (the ceiling, same run), and
a smaller crowd over the real Chainlit server's socket.io protocol."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from datetime import date
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from accounts.directory import Account, account_by_email
from agent.bootstrap import DatabaseUrls, Services, build_services
from agent.settings import Settings
from bench.ceiling import BareTurns
from bench.common import scratch_database, write_results
from bench.loadgen import Reply, Tally, Turn, crowd, every_search, reconcile
from bench.socketio_client import chainlit_server, socketio_crowd
from db.tenants import create_tenant

TENANTS = ["default", "bench-second"]
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


async def redis_url() -> str | None:
    """REDIS_URL, else a local Redis when one answers: the real stack has its hot tier."""
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    client = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        await client.ping()
    except (RedisError, OSError):
        return None
    finally:
        await client.aclose()
    return url


class LoggedTrouble(logging.Handler):
    """Counts the product's warnings and errors by message: a Redis breaker tripping or a
    failed turn explains a figure that a count of errors alone does not."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        # The template, with only exceptions filled in: thread ids would make every line new.
        args = record.args if isinstance(record.args, tuple) else ()
        shown = tuple(arg if isinstance(arg, BaseException) else "..." for arg in args)
        try:
            text = str(record.msg) % shown if shown else str(record.msg)
        except (TypeError, ValueError):
            text = str(record.msg)
        self.seen[f"{record.name}: {text[:90]}"] += 1


async def measured(label: str, run: Coroutine[Any, Any, Tally]) -> Tally:
    """Await a crowd's run, then say what the product logged meanwhile."""
    trouble = LoggedTrouble()
    logging.getLogger().addHandler(trouble)
    try:
        tally = await run
    finally:
        logging.getLogger().removeHandler(trouble)
    for what, count in trouble.seen.most_common():
        print(f"load {label}: logged {count}x {what}")
    return tally


def real_turns(services: Services, travellers: list[Account]) -> Turn:
    """The product's own turn: Conversations.turn, with everything it writes."""

    async def turn(number: int, message: str, thread_id: str | None) -> Reply:
        result = await services.conversations.turn(travellers[number], message, thread_id=thread_id)
        return Reply(result.thread_id, result.reply, result.awaiting_confirmation)

    return turn


async def in_process(
    urls: DatabaseUrls,
    redis: str | None,
    *,
    travellers: int,
    seconds: float,
    ceiling_seconds: float,
    before_measuring: Callable[[], None],
) -> tuple[Tally, Tally]:
    """(the real stack, the in-memory ceiling), both driven by the same crowd and script;
    the product's warnings of each run are printed after it."""
    services = await build_services(Settings(TRAVELHUB_ENV="test", REDIS_URL=redis), urls)
    try:
        people = [
            await account_by_email(
                services.sessions, TENANTS[number % 2], f"load-{number}@example.com", create=True
            )
            for number in range(travellers)
        ]
        for search in every_search(date.today()):  # both runs start with a warm search cache
            await services.conversations.turn(people[0], search)
        before_measuring()
        bare = BareTurns(services, people)
        # Half the ceiling before the real run and half after: whatever else the machine does
        # meanwhile weighs on both sides alike.
        ceiling = await measured(
            "in-memory ceiling", crowd(travellers, bare, seconds=ceiling_seconds / 2)
        )
        real = await measured(
            "real stack", crowd(travellers, real_turns(services, people), seconds=seconds)
        )
        ceiling.absorb(
            await measured(
                "in-memory ceiling", crowd(travellers, bare, seconds=ceiling_seconds / 2)
            )
        )
    finally:
        await services.aclose()
    return real, ceiling


async def run(
    travellers: int, seconds: float, ceiling_seconds: float, clients: int, socket_seconds: float
) -> None:
    with scratch_database() as (owner, runtime), ExitStack() as stack:
        create_tenant(owner, TENANTS[1], "Bench second tenant")
        redis = await redis_url()
        print(f"load: Redis {'at ' + redis if redis else 'not reachable: database tier only'}")
        # The server starts while the in-process crowd is set up; it idles while measured.
        server = stack.enter_context(chainlit_server(owner, runtime, redis)) if clients else None
        real, ceiling = await in_process(
            DatabaseUrls(owner, runtime),
            redis,
            travellers=travellers,
            seconds=seconds,
            ceiling_seconds=ceiling_seconds,
            before_measuring=server.wait_ready if server else lambda: None,
        )
        checked = reconcile(owner, real.seen)
        fraction = real.turns_per_s / max(ceiling.turns_per_s, 1e-9)
        print(real.line(f"load real stack ({travellers} travellers, {seconds:g} s)"))
        label = f"load in-memory ceiling ({travellers} travellers, 2 x {ceiling_seconds / 2:g} s)"
        print(ceiling.line(label))
        print(
            f"load messages lost: {checked.lost} of {checked.expected} (target 0);"
            f" user messages stored twice: {checked.duplicated}"
        )
        print(f"load throughput fraction of the in-memory ceiling: {fraction:.2f} (target >= 0.7)")
        # Other processes on the machine move turns/s from run to run; CPU per turn moves
        # less: this is the fraction a CPU-bound process would reach.
        cpu_fraction = ceiling.cpu_ms_per_turn / max(real.cpu_ms_per_turn, 1e-9)
        print(f"load CPU-per-turn fraction (ceiling / real stack): {cpu_fraction:.2f}")
        figures: dict[str, Any] = {
            **real.figures("load"),
            "load_lost_messages": checked.lost,
            "load_checked_messages": checked.expected,
            "load_duplicated_messages": checked.duplicated,
            **ceiling.figures("load_in_memory"),
            "load_throughput_fraction": round(fraction, 3),
            "load_cpu_fraction": round(cpu_fraction, 3),
        }
        sizes = {
            "load_travellers": travellers,
            "load_seconds": seconds,
            "load_ceiling_seconds": ceiling_seconds,
        }
        # The in-process figures are kept even if the server part cannot run.
        write_results(figures, sizes)
        if server is not None:
            over_socket, first_token_ms = await socketio_crowd(
                owner, server, clients=clients, seconds=socket_seconds
            )
            socket_checked = reconcile(owner, over_socket.seen)
            label = f"socket.io ({clients} clients, {socket_seconds:g} s)"
            print(over_socket.line(label, server="server process"))
            # The server's CPU per turn against the same turn in-process: what the UI costs.
            ui_ratio = over_socket.cpu_ms_per_turn / max(real.cpu_ms_per_turn, 1e-9)
            print(
                f"socket.io first token p50 {first_token_ms:.0f} ms; messages lost:"
                f" {socket_checked.lost} of {socket_checked.expected} (target 0); server CPU"
                f" per turn {ui_ratio:.2f}x the in-process turn's"
            )
            write_results(
                {
                    **over_socket.figures("socketio"),
                    "socketio_server_cpu_ratio": round(ui_ratio, 3),
                    "socketio_first_token_p50_ms": round(first_token_ms, 1),
                    "socketio_lost_messages": socket_checked.lost,
                    "socketio_checked_messages": socket_checked.expected,
                },
                {"socketio_clients": clients, "socketio_seconds": socket_seconds},
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    parser.add_argument("--travellers", type=int, help="concurrent travellers (200; quick 40)")
    parser.add_argument("--seconds", type=float, help="real-stack duration (60; quick 10)")
    parser.add_argument(
        "--ceiling-seconds", type=float, help="in-memory ceiling duration (20; quick 5)"
    )
    parser.add_argument(
        "--socketio-clients", type=int, help="socket.io clients (20; quick 5; 0 skips)"
    )
    parser.add_argument("--socketio-seconds", type=float, help="socket.io duration (30; quick 10)")
    args = parser.parse_args()
    full = {"travellers": 200, "seconds": 60.0, "ceiling_seconds": 20.0,
            "socketio_clients": 20, "socketio_seconds": 30.0}  # fmt: skip
    quick = {"travellers": 40, "seconds": 10.0, "ceiling_seconds": 5.0,
             "socketio_clients": 5, "socketio_seconds": 10.0}  # fmt: skip
    sizes = {
        name: given if (given := getattr(args, name)) is not None else default
        for name, default in (quick if args.quick else full).items()
    }
    asyncio.run(
        run(
            travellers=int(sizes["travellers"]),
            seconds=float(sizes["seconds"]),
            ceiling_seconds=float(sizes["ceiling_seconds"]),
            clients=int(sizes["socketio_clients"]),
            socket_seconds=float(sizes["socketio_seconds"]),
        )
    )


if __name__ == "__main__":
    main()
