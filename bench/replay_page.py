"""Replay page: GET /replay/{id} (the whole server-rendered page: transcript, timeline, the
thread's forks) for a thread of 200 turns, against the replay API's JSON for the same thread
(the same reads, no rendering), same run, requests alternating."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import date, timedelta
from typing import Any

import httpx

from accounts.directory import account_by_email
from agent.bootstrap import DatabaseUrls, build_services
from agent.settings import Settings
from bench.common import scratch_database, summary, write_results
from web import runtime

TARGET_MS = 1000.0
SAMPLES = 20


def _said(turn: int) -> str:
    """Every other turn a search (a tool call and its result), else a plain word."""
    day = (date.today() + timedelta(days=30 + turn % 40)).isoformat()
    return f"Flights from London to Lisbon on {day}" if turn % 2 == 0 else "thanks"


async def run(turns: int) -> dict[str, Any]:
    with scratch_database() as (owner, runtime_db):
        os.environ.setdefault("CHAINLIT_AUTH_SECRET", "bench-only-" + "x" * 40)
        os.environ["DATABASE_URL"] = owner  # create_app reads its settings from the environment
        from chainlit.auth.jwt import create_jwt

        from web.app import create_app
        from web.chat_user import new_session_user

        services = await build_services(
            Settings(TRAVELHUB_ENV="test", REDIS_URL=os.environ.get("REDIS_URL")),
            DatabaseUrls(owner, runtime_db),
        )
        runtime.install(services)
        try:
            ada = await account_by_email(
                services.sessions, "default", "ada@example.com", create=True
            )
            thread: str | None = None
            for turn in range(turns):
                said = await services.conversations.turn(ada, _said(turn), thread_id=thread)
                thread = said.thread_id
            token = create_jwt(await new_session_user(services.sessions, ada))
            headers = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=create_app())
            page_ms: list[float] = []
            api_ms: list[float] = []
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for _ in range(2):  # warm both paths (templates compiled, plans cached)
                    await client.get(f"/replay/{thread}", headers=headers)
                    await client.get(f"/api/threads/{thread}/replay", headers=headers)
                for _ in range(SAMPLES):
                    for path, samples in (
                        (f"/replay/{thread}", page_ms),
                        (f"/api/threads/{thread}/replay", api_ms),
                    ):
                        started = time.perf_counter()
                        answer = await client.get(path, headers=headers)
                        samples.append((time.perf_counter() - started) * 1000)
                        if answer.status_code != 200:
                            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
                size = len((await client.get(f"/replay/{thread}", headers=headers)).content)
        finally:
            runtime.install(None)
            await services.aclose()
    page, api = summary(page_ms), summary(api_ms)
    ratio = page["p50_ms"] / api["p50_ms"]
    under = page["p50_ms"] < TARGET_MS
    print(
        f"replay page, {turns} turns: p50 {page['p50_ms']:.1f} ms p99 {page['p99_ms']:.1f} ms"
        f" ({size // 1024} KiB); replay API JSON: p50 {api['p50_ms']:.1f} ms; ratio {ratio:.2f};"
        f" under a second: {'yes' if under else 'NO'}"
    )
    return {
        f"replay_page_{turns}_turns_ms": page["p50_ms"],
        "replay_page": page,
        "replay_api_json": api,
        "replay_page_vs_api": round(ratio, 3),
        "replay_page_under_a_second": under,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    turns = 50 if parser.parse_args().quick else 200
    write_results(asyncio.run(run(turns)), {"replay_page_turns": turns})


if __name__ == "__main__":
    main()
