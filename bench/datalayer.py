"""Data layer: what persisting a chat message costs on our path against Chainlit's own
SQLAlchemyDataLayer (its documented schema) on the same PostgreSQL, same messages, same run."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from chainlit.context import ChainlitContext, context_var
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.message import Message
from chainlit.session import HTTPSession
from chainlit.step import Step, StepDict
from chainlit.user import PersistedUser, User
from psycopg import sql
from sqlalchemy import event

from agent.bootstrap import DatabaseUrls, build_services
from agent.settings import Settings
from bench.chat_workload import (
    Conversation,
    Turn,
    app_write,
    build_turns,
    open_conversations,
    rounds,
)
from bench.common import scratch_database, write_results
from db.urls import libpq_url, sqlalchemy_url

SCHEMA = Path(__file__).resolve().parent / "chainlit_schema.sql"
CHAINLIT_SCHEMA = "chainlit"
CONVERSATIONS = 20
"""Conversations in flight at once, on both sides."""
TARGET = 0.05
ROUNDS = 3
"""Our writes and Chainlit's alternate, round by round: machine noise weighs on both alike."""
ASSISTANT = "Global Travel Hub"

Call = Callable[[StepDict], Awaitable[Any]]


@dataclass
class Statements:
    """What an engine sent: SQL statements, and the BEGIN / COMMIT / ROLLBACK around them."""

    sql: int = 0
    transactions: int = 0
    ends: int = 0
    counting: bool = False

    @property
    def total(self) -> int:
        return self.sql + self.transactions + self.ends


def create_chainlit_schema(owner: str) -> None:
    """Chainlit's tables in a schema of their own: its `users` would collide with ours."""
    with psycopg.connect(libpq_url(owner), autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(CHAINLIT_SCHEMA)))
        db.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(CHAINLIT_SCHEMA)))
        db.execute(SCHEMA.read_text())


def _now() -> str:
    # chainlit.utils.utc_now's format (naive UTC and a "Z"); that one is not annotated.
    return datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z"


def _enter(thread_id: str, user: PersistedUser) -> None:
    # What Chainlit sets up per connected browser. An HTTP session rather than a websocket
    # one: a websocket session after its first message behaves the same here (create_step
    # writes at once), and needs a socket.io server to exist.
    context_var.set(ChainlitContext(HTTPSession(str(uuid.uuid4()), "webapp", thread_id, user)))


def _steps(layer: SQLAlchemyDataLayer, turn: Turn) -> list[tuple[Call, StepDict]]:
    """The data-layer calls the interface makes for one turn, in order (web/chat_rendering.py):
    the traveller's message, a tool step sent with its input then updated with its output,
    the reply. Made with Chainlit's own classes, so the dicts are exactly what it persists."""
    asked, call, answer, reply = turn.said
    user_message = Message(
        content=asked.content, author=turn.traveller.email, type="user_message",
        created_at=_now(),
    )  # fmt: skip
    (tool_call,) = call.tool_calls or [{}]
    tool = Step(name=str(tool_call["name"]).replace("_", " "), type="tool", show_input="json")
    tool.input = json.dumps(tool_call["args"], indent=1)
    tool.start = _now()
    started = tool.to_dict()
    tool.output = answer.content
    tool.end = _now()
    finished = tool.to_dict()
    answered = Message(content=reply.content, author=ASSISTANT, created_at=_now())
    return [
        (layer.create_step, user_message.to_dict()),
        (layer.create_step, started),
        (layer.update_step, finished),
        (layer.create_step, answered.to_dict()),
    ]


class ChainlitSide:
    """Chainlit's SQLAlchemyDataLayer, driven per conversation as its interface drives it."""

    def __init__(self, owner: str) -> None:
        # As the owner, as a Chainlit app connects; its engine is otherwise Chainlit's own
        # (default pool, prepared statements after five runs).
        self.layer = SQLAlchemyDataLayer(
            conninfo=sqlalchemy_url(owner),
            connect_args={"options": f"-c search_path={CHAINLIT_SCHEMA}"},
        )
        self.owner = owner
        self.statements = Statements()
        self.people: dict[str, PersistedUser] = {}
        engine = self.layer.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._on_sql)
        event.listen(engine, "begin", self._on_begin)
        event.listen(engine, "commit", self._on_end)
        event.listen(engine, "rollback", self._on_end)

    def _on_sql(self, *_: Any) -> None:
        if self.statements.counting:
            self.statements.sql += 1

    def _on_begin(self, *_: Any) -> None:
        if self.statements.counting:
            self.statements.transactions += 1

    def _on_end(self, *_: Any) -> None:
        if self.statements.counting:
            self.statements.ends += 1

    async def persist(
        self, conversations: Sequence[Conversation], turns: list[Turn], *, first: bool
    ) -> float:
        """Seconds for every conversation's `turns`, conversations in parallel. The first
        time, each conversation's first interaction also makes its user and thread, untimed
        as our side's sessions are."""
        if first:
            for conversation in conversations:
                email = conversation.traveller.email
                if email not in self.people:
                    made = await self.layer.create_user(User(identifier=email, metadata={}))
                    if made is None:
                        raise RuntimeError(f"Chainlit's data layer did not create {email}.")
                    self.people[email] = made
        ready, go = asyncio.Barrier(len(conversations) + 1), asyncio.Event()

        async def thread(conversation: Conversation) -> None:
            thread_id = str(conversation.thread_id)
            person = self.people[conversation.traveller.email]
            _enter(thread_id, person)
            mine = [turn for turn in turns if turn.chat.id == conversation.chat.id]
            if first:  # the first interaction names the thread and gives it its user
                await self.layer.update_thread(
                    thread_id, name=mine[0].said[0].content, user_id=person.id
                )
            # Built before the clock starts: Chainlit's constructors sleep 1 ms each.
            calls = [step for turn in mine for step in _steps(self.layer, turn)]
            await ready.wait()
            await go.wait()
            for persist, step in calls:
                await persist(step)

        tasks = [asyncio.create_task(thread(conversation)) for conversation in conversations]
        await ready.wait()
        self.statements.counting = not first
        started = time.perf_counter()
        go.set()
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - started
        self.statements.counting = False
        return seconds

    def missing(self, turns: int) -> int:
        """Step writes that did not land: the layer logs a failed INSERT and carries on.
        Three steps a turn, the tool step's update with its output."""
        with psycopg.connect(libpq_url(self.owner), autocommit=True) as db:
            stored, outputs = db.execute(
                sql.SQL(
                    "SELECT count(*), count(*) FILTER (WHERE type = 'tool' AND output <> '')"
                    " FROM {}.steps"
                ).format(sql.Identifier(CHAINLIT_SCHEMA))
            ).fetchone() or (0, 0)
        return 3 * turns - int(stored) + turns - int(outputs)

    async def aclose(self) -> None:
        await self.layer.engine.dispose()


async def run(turns_each: int) -> tuple[dict[str, Any], int]:
    with scratch_database() as (owner, runtime):
        create_chainlit_schema(owner)
        services = await build_services(
            Settings(TRAVELHUB_ENV="test", REDIS_URL=None), DatabaseUrls(owner, runtime)
        )
        theirs = ChainlitSide(owner)
        try:
            conversations = await open_conversations(services, owner, CONVERSATIONS)
            turns = build_turns(conversations, turns_each + 1)
            # Each conversation's first turn warms connections and caches, untimed.
            warm = [turn for turn in turns if turn.first_turn]
            await app_write(services, warm, writers=CONVERSATIONS)
            await theirs.persist(conversations, warm, first=True)
            ours_seconds = theirs_seconds = 0.0
            timed = [turn for turn in turns if not turn.first_turn]
            for batch in rounds(timed, ROUNDS):
                started = time.perf_counter()
                await app_write(services, batch, writers=CONVERSATIONS)
                ours_seconds += time.perf_counter() - started
                theirs_seconds += await theirs.persist(conversations, batch, first=False)
            missing = theirs.missing(len(turns))
        finally:
            await theirs.aclose()
            await services.aclose()
    statements = theirs.statements
    messages = sum(len(turn.said) for turn in timed)
    ours_ms, theirs_ms = ours_seconds * 1000 / messages, theirs_seconds * 1000 / messages
    ratio = ours_ms / theirs_ms
    per_message = statements.total / messages
    print(
        f"data layer: ours {ours_ms:.3f} ms per message; Chainlit's SQLAlchemyDataLayer"
        f" {theirs_ms:.3f} ms and {per_message:.1f} statements ({statements.sql / messages:.1f}"
        f" SQL + {(statements.transactions + statements.ends) / messages:.1f} BEGIN/COMMIT)"
        f" per message; ratio {ratio:.3f} (target <= {TARGET}; {messages:,} messages,"
        f" {CONVERSATIONS} conversations at once)"
    )
    if missing:
        print(f"data layer: Chainlit's layer failed to store {missing} step writes (see its log)")
    figures = {
        "datalayer_ratio": round(ratio, 4),
        "datalayer_ours_ms_per_message": round(ours_ms, 4),
        "datalayer_chainlit_ms_per_message": round(theirs_ms, 4),
        "datalayer_chainlit_statements_per_message": round(per_message, 2),
        "datalayer_chainlit_sql_per_message": round(statements.sql / messages, 2),
        "datalayer_chainlit_transactions_per_message": round(statements.transactions / messages, 2),
        "datalayer_chainlit_steps_missing": missing,
    }
    return figures, messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    turns_each = 3 if parser.parse_args().quick else 25
    figures, messages = asyncio.run(run(turns_each))
    write_results(
        figures,
        {"datalayer_conversations": CONVERSATIONS, "datalayer_turns_per_conversation": turns_each,
         "datalayer_messages": messages, "datalayer_rounds": ROUNDS},
    )  # fmt: skip


if __name__ == "__main__":
    main()
