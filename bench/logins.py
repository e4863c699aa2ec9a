"""Sign-ins under chat: a crowd of people signing in at once while conversations go on over
socket.io, against the same conversations before and after the burst (same run, same server)."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.common import percentile, scratch_database, write_results
from bench.load import redis_url
from bench.loadgen import Reply, Turn, crowd
from bench.socketio_client import SocketTurns, chainlit_server, create_users, login

READING_SECONDS = 3.0
"""How long a person takes to read a reply and write the next message: 50 conversations
without it would saturate the server, whose queue, not the sign-ins, would set the p99."""
GRACE_SECONDS = 2.0
"""Turns starting this soon after the burst may still queue behind its last sign-ins: they
count for neither side."""


@dataclass
class Spans:
    """A crowd's turn, after the person's reading pause, that notes when each turn ran:
    (started, ended, latency ms)."""

    turn: Turn
    ran: list[tuple[float, float, float]] = field(default_factory=list)

    async def __call__(self, number: int, message: str, thread_id: str | None) -> Reply:
        await asyncio.sleep(READING_SECONDS)
        started = time.perf_counter()
        reply = await self.turn(number, message, thread_id)
        ended = time.perf_counter()
        latency = (ended - started) * 1000 if reply.latency_ms is None else reply.latency_ms
        self.ran.append((ended - latency / 1000, ended, latency))
        return reply


@dataclass(frozen=True)
class Burst:
    started: float
    ended: float
    succeeded: int
    latencies_ms: list[float]

    @property
    def seconds(self) -> float:
        return self.ended - self.started


async def burst(base: str, emails: list[str], *, after: float) -> Burst:
    """Every one of `emails` signs in at the same moment, `after` seconds from now, as many
    browsers posting Chainlit's login form would."""
    await asyncio.sleep(after)
    limits = httpx.Limits(max_connections=len(emails), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:

        async def one(email: str) -> tuple[bool, float]:
            asked = time.perf_counter()
            try:
                await login(http, email)
            except httpx.HTTPError:
                return False, (time.perf_counter() - asked) * 1000
            return True, (time.perf_counter() - asked) * 1000

        started = time.perf_counter()
        outcomes = await asyncio.gather(*(one(email) for email in emails))
        ended = time.perf_counter()
    return Burst(started, ended, sum(ok for ok, _ in outcomes), [ms for _, ms in outcomes])


def p(samples: list[float], share: float) -> float:
    return percentile(samples or [0.0], share)


async def run(signins: int, clients: int, quiet_seconds: float, warm_seconds: float) -> None:
    with scratch_database() as (owner, runtime):
        redis = await redis_url()
        with chainlit_server(owner, runtime, redis) as server:
            emails = create_users(owner, clients + signins)
            chatters, newcomers = emails[:clients], emails[clients:]
            server.wait_ready()
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
                asked = time.perf_counter()
                cookies = [await login(http, email) for email in chatters]
                one_signin = (time.perf_counter() - asked) / clients
            # The burst's length if the sign-ins had every core to themselves, thrice: the
            # crowd keeps chatting through it and for `quiet_seconds` on either side.
            expected = signins * one_signin / (os.cpu_count() or 1)
            chatting = quiet_seconds + 3 * expected + quiet_seconds
            turns = SocketTurns(server.base, chatters, cookies)
            timed = Spans(turns)
            try:
                await crowd(clients, timed, seconds=warm_seconds)  # sockets open, cache warm
                timed.ran.clear()
                tally, signed_in = await asyncio.gather(
                    crowd(clients, timed, seconds=chatting),
                    burst(server.base, newcomers, after=quiet_seconds),
                )
            finally:
                await turns.close()
    during = [
        ms for start, end, ms in timed.ran if start < signed_in.ended and end > signed_in.started
    ]
    quiet = [
        ms
        for start, end, ms in timed.ran
        if end <= signed_in.started or start >= signed_in.ended + GRACE_SECONDS
    ]
    ratio = p(during, 0.99) / max(p(quiet, 0.99), 1e-9)
    per_second = signed_in.succeeded / max(signed_in.seconds, 1e-9)
    print(
        f"logins: {signed_in.succeeded} of {signins} sign-ins succeeded in"
        f" {signed_in.seconds:.1f} s = {per_second:.1f}/s (each p50"
        f" {p(signed_in.latencies_ms, 0.5):.0f} ms p99 {p(signed_in.latencies_ms, 0.99):.0f} ms)"
        f" while {clients} conversations chatted"
    )
    print(
        f"logins: chat turn p99 during the burst {p(during, 0.99):.0f} ms (p50"
        f" {p(during, 0.5):.0f}, n={len(during)}); without it {p(quiet, 0.99):.0f} ms (p50"
        f" {p(quiet, 0.5):.0f}, n={len(quiet)}); ratio {ratio:.2f} (target <= 1.5);"
        f" chat errors {tally.error_count}{f' {dict(tally.errors)}' if tally.errors else ''}"
    )
    if signed_in.ended > signed_in.started + quiet_seconds + 3 * expected:
        print("logins: the burst outlasted the chat: its last sign-ins ran with no chat beside")
    figures: dict[str, Any] = {
        "login_burst_turn_p99_ratio": round(ratio, 3),
        "login_burst_signins_per_s": round(per_second, 2),
        "login_burst_signins_ok": signed_in.succeeded,
        "login_burst_seconds": round(signed_in.seconds, 2),
        "login_burst_signin_p50_ms": round(p(signed_in.latencies_ms, 0.5), 1),
        "login_burst_signin_p99_ms": round(p(signed_in.latencies_ms, 0.99), 1),
        "login_burst_turn_p50_ms": round(p(during, 0.5), 1),
        "login_burst_turn_p99_ms": round(p(during, 0.99), 1),
        "login_burst_turns": len(during),
        "login_quiet_turn_p50_ms": round(p(quiet, 0.5), 1),
        "login_quiet_turn_p99_ms": round(p(quiet, 0.99), 1),
        "login_quiet_turns": len(quiet),
        "login_chat_errors": tally.error_count,
    }
    sizes = {
        "login_signins": signins,
        "login_clients": clients,
        "login_quiet_seconds": quiet_seconds,
    }
    write_results(figures, sizes)
    if signed_in.succeeded < signins:
        raise SystemExit(f"logins: only {signed_in.succeeded} of {signins} sign-ins succeeded.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    parser.add_argument("--signins", type=int, help="sign-ins at once (100; quick 20)")
    parser.add_argument("--clients", type=int, help="conversations chatting (50; quick 10)")
    parser.add_argument(
        "--quiet-seconds", type=float, help="chat before and after the burst, each (15; quick 5)"
    )
    args = parser.parse_args()
    full = {"signins": 100, "clients": 50, "quiet_seconds": 15.0, "warm_seconds": 5.0}
    quick = {"signins": 20, "clients": 10, "quiet_seconds": 5.0, "warm_seconds": 3.0}
    sizes = {
        name: given if (given := getattr(args, name, None)) is not None else default
        for name, default in (quick if args.quick else full).items()
    }
    asyncio.run(
        run(
            signins=int(sizes["signins"]),
            clients=int(sizes["clients"]),
            quiet_seconds=float(sizes["quiet_seconds"]),
            warm_seconds=float(sizes["warm_seconds"]),
        )
    )


if __name__ == "__main__":
    main()
