"""SIGTERM in the middle of a turn, to a real `travelhub chat` and a real `travelhub serve`:
every turn whose reply the traveller saw is in chat_messages and analytics_events. The turn in
flight is finished (its reply printed, or streamed and then recorded) rather than cut between
a booking made, or a reply shown, and the rows that remember it."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from db.urls import RUNTIME_ROLE, libpq_url
from tests.faults.browser import ChatTab, Served, traveller_with_password, until
from tests.faults.world import app_waits_on_a_lock, rows, running, table_locked, traveller
from tests.integration.test_cli import TRAVELHUB, environment

pytestmark = [pytest.mark.integration, pytest.mark.faults]

EMAIL = "sigterm@example.com"


@contextmanager
def locked(owner: str, table: str) -> Iterator[None]:
    """`table` locked by the schema owner until the block ends (a turn touching it waits)."""
    with psycopg.connect(libpq_url(owner)) as connection:
        connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield
        connection.rollback()


def wait_for_a_blocked_turn(owner: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    with psycopg.connect(libpq_url(owner), autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND usename = %s AND wait_event_type = 'Lock'",
                (RUNTIME_ROLE,),
            ).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.05)
    raise AssertionError("the turn never reached the locked table")


def confirm_and_terminate(database: str, thread: str) -> tuple[int, str, str, str]:
    """`travelhub chat ... yes`, sent SIGTERM once the booking is made and the turn is writing
    its messages: (exit code, the line it said on SIGTERM, stdout, stderr)."""
    env = environment(DATABASE_URL=database, REDIS_URL=None)
    with locked(database, "chat_messages"):
        process = subprocess.Popen(
            [*TRAVELHUB, "chat", "--user", EMAIL, "--json", "--thread", thread, "yes"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_a_blocked_turn(database)
            process.send_signal(signal.SIGTERM)
            assert process.stderr is not None
            # The process's own word that it heard (or, if it died, the end of its output).
            heard = process.stderr.readline()
        except BaseException:
            process.kill()
            raise
    out, err = process.communicate(timeout=60)
    return process.returncode, heard, out, err


async def test_sigterm_to_chat_mid_turn_loses_nothing_the_traveller_saw(
    database: str, runtime_database: str
) -> None:
    # The first turns run here, the code `chat` runs: a process per turn would cost seconds
    # of start-up each and prove nothing more.
    seen: list[dict[str, Any]] = []
    async with running(database, runtime_database) as services:
        ada = await traveller(services, EMAIL)
        for message in ("Flights from Paris to Rome in 3 weeks", "book the cheapest"):
            thread = seen[-1]["thread_id"] if seen else None
            result = await services.conversations.turn(ada, message, thread_id=thread)
            seen.append({"message": message, "thread_id": result.thread_id, "reply": result.reply})
    assert result.awaiting_confirmation
    thread = result.thread_id

    code, heard, out, err = await asyncio.to_thread(confirm_and_terminate, database, thread)
    print(f"SIGTERM during the booking turn: exit {code}; {heard.strip()!r}")
    assert heard == "travelhub: stopping once this turn is finished.\n", heard + err
    assert code == 0, err
    seen.append({"message": "yes", **json.loads(out)})
    assert seen[-1]["reply"].startswith("Booked! Your reference is **")

    with psycopg.connect(libpq_url(database), autocommit=True) as owner:
        stored = [
            (role, content)
            for role, content in owner.execute(
                "SELECT m.role, m.content FROM chat_messages m"
                " JOIN chat_sessions s ON s.id = m.session_id WHERE s.thread_id = %s ORDER BY m.id",
                (thread,),
            )
        ]
        events: dict[str, int] = dict(
            owner.execute(
                "SELECT event_type, count(*) FROM analytics_events e"
                " JOIN chat_sessions s ON s.id = e.session_id WHERE s.thread_id = %s"
                " GROUP BY event_type",
                (thread,),
            ).fetchall()
        )
    for turn in seen:
        assert ("user", turn["message"]) in stored
        assert ("assistant", turn["reply"]) in stored
    assert events["turn_completed"] == events["message_sent"] == len(seen)
    assert events["booking_confirmed"] == 1
    assert events["search_performed"] == 1


async def test_sigterm_to_the_web_app_mid_turn_keeps_the_reply_it_streamed(
    database: str, tmp_path: Path
) -> None:
    email = "sigterm-web@example.com"
    traveller_with_password(database, email)
    served = Served(database, tmp_path)
    tab = ChatTab(served.base, email)
    try:
        await asyncio.to_thread(served.wait_healthy)
        await tab.open()
        first = await tab.say("Flights from London to Lisbon in 3 weeks")
        await until(lambda: first.ended)

        # The reply is streamed to the tab; the turn is saving its state when SIGTERM comes.
        async with table_locked(database, "checkpoints", mode="SHARE"):
            second = await tab.say("Flights from London to Rome in 3 weeks")
            await app_waits_on_a_lock(database)
            await until(lambda: "find a hotel there." in second.text)
            served.process.send_signal(signal.SIGTERM)
            await until(lambda: not tab.connected)  # uvicorn closes the sockets first...
            await asyncio.sleep(0.5)  # ...then shuts the app down: the turn is still waiting
        code = await asyncio.to_thread(served.process.wait, 60)
    finally:
        await tab.close()
        served.stop()
    print(f"SIGTERM to serve mid-turn: exit {code}; the tab saw {len(tab.turns)} replies")

    stored = await rows(database, "SELECT role, content FROM chat_messages ORDER BY id")
    for said, heard in zip(("Lisbon", "Rome"), tab.turns, strict=True):
        assert ("assistant", heard.text) in stored, f"the {said} reply the traveller saw is lost"
        assert ("user", f"Flights from London to {said} in 3 weeks") in stored
    counted = await rows(database, "SELECT event_type, count(*) FROM analytics_events GROUP BY 1")
    events: dict[str, int] = dict(counted)
    assert events["turn_completed"] == events["message_sent"] == 2
