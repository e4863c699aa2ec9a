"""Replay by thread id: the transcript matches what was said; a fork never orders."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.integration.agent_world import stack, traveller
from tests.integration.test_cli import environment, run

pytestmark = pytest.mark.integration


@pytest.fixture
async def conversation(database: str, runtime_database: str) -> dict[str, Any]:
    """A search, a booking question and a booking, on one thread."""
    async with stack(database, runtime_database) as services:
        ada = await traveller(services)
        said = ["Flights from Madrid to Lisbon in 3 weeks", "book the cheapest", "yes"]
        thread = None
        replies = []
        for text in said:
            result = await services.conversations.turn(ada, text, thread_id=thread)
            thread = result.thread_id
            replies.append(result.reply)
    return {"thread": thread, "said": said, "replies": replies, "database": database}


def test_replay_json_is_the_transcript_beside_the_checkpoints(conversation: dict[str, Any]) -> None:
    env = environment(DATABASE_URL=conversation["database"], REDIS_URL=None)
    result = run("replay", conversation["thread"], "--json", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["thread_id"] == conversation["thread"]
    users = [m["content"] for m in document["messages"] if m["role"] == "user"]
    assert users == conversation["said"]
    assistant = [
        m["content"] for m in document["messages"] if m["role"] == "assistant" and m["content"]
    ]
    assert assistant == conversation["replies"]  # search table, question, confirmation
    tools = [m["tool_name"] for m in document["messages"] if m["role"] == "tool"]
    assert tools == ["search_flights", "book"]
    checkpoints = document["checkpoints"]
    # One checkpoint per turn: the graph checkpoints when a run ends, where forks start.
    assert len(checkpoints) == len(conversation["said"])
    assert all(c["checkpoint_id"] for c in checkpoints)
    assert any(c["awaiting_confirmation"] for c in checkpoints)
    assert checkpoints[-1]["next"] == []


def test_a_fork_answers_from_the_recording_and_never_orders(
    conversation: dict[str, Any], owner: Any
) -> None:
    env = environment(DATABASE_URL=conversation["database"], REDIS_URL=None)
    original = json.loads(run("replay", conversation["thread"], "--json", env=env).stdout)
    # The checkpoint right after the search was answered.
    after_search = next(
        c for c in original["checkpoints"] if c["next"] == [] and c["messages"] == 4
    )
    searches_before = owner.execute(
        "SELECT count(*) FROM analytics_events WHERE event_type = 'search_performed'"
    ).fetchone()[0]
    forked = run(
        "replay", conversation["thread"], "--fork", after_search["checkpoint_id"],
        "--message", "book option 1", "--json", env=env,
    )  # fmt: skip
    assert forked.returncode == 0, forked.stderr
    document = json.loads(forked.stdout)
    assert document["thread_id"] != conversation["thread"]
    assert document["awaiting_confirmation"] is True
    assert document["reply"].startswith("Please confirm this booking")

    confirmed = run(
        "chat",
        "--user",
        "ada@example.com",
        "--thread",
        document["thread_id"],
        "--json",
        "yes",
        env=env,
    )
    assert json.loads(confirmed.stdout)["reply"] == (
        "Sandbox replay: the booking was simulated; no order was placed."
    )
    assert owner.execute("SELECT count(*) FROM bookings").fetchone() == (1,)  # the original only
    sandbox = owner.execute(
        "SELECT context FROM chat_sessions WHERE thread_id = %s", (document["thread_id"],)
    ).fetchone()[0]
    assert sandbox["sandbox"] is True
    assert sandbox["forked_from"] == conversation["thread"]
    # A search repeated in the fork is answered from the original thread's recording.
    again = run(
        "replay", conversation["thread"], "--fork", after_search["checkpoint_id"],
        "--message", "Flights from Madrid to Lisbon in 3 weeks", "--json", env=env,
    )  # fmt: skip
    assert "flights Madrid (MAD) to Lisbon (LIS)" in json.loads(again.stdout)["reply"]
    searches_after = owner.execute(
        "SELECT count(*) FROM analytics_events WHERE event_type = 'search_performed'"
    ).fetchone()[0]
    assert searches_after == searches_before


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["not-a-uuid"], "'not-a-uuid' is not a conversation id (a UUID)."),
        (
            ["00000000-0000-7000-8000-000000000000"],
            "There is no conversation 00000000-0000-7000-8000-000000000000.",
        ),
        (
            ["00000000-0000-7000-8000-000000000000", "--fork", "x"],
            "--fork and --message go together",
        ),
    ],
)
def test_bad_replay_requests_are_one_sentence(
    conversation: dict[str, Any], args: list[str], sentence: str
) -> None:
    result = run(
        "replay", *args, env=environment(DATABASE_URL=conversation["database"], REDIS_URL=None)
    )
    assert result.returncode == 1
    assert sentence in result.stderr
    assert "Traceback" not in result.stderr


def test_a_terminal_lists_the_offers_the_chat_shows_as_cards(
    conversation: dict[str, Any],
) -> None:
    env = environment(DATABASE_URL=conversation["database"])
    searched = run(
        "chat", "--user", "ada@example.com", "Flights from London to Lisbon in 3 weeks", env=env
    )
    assert searched.returncode == 0, searched.stderr
    lines = searched.stdout.splitlines()
    assert "flights London (LON) to Lisbon (LIS)" in lines[0]
    listed = [line for line in lines if line[:3] in {"1. ", "2. ", "3. ", "4. ", "5. "}]
    assert [line[:2] for line in listed] == ["1.", "2.", "3.", "4.", "5."]
    assert all(
        re.match(r"\d\. €\d{1,3}(,\d{3})*\.\d\d: ", line) and "-> LIS" in line for line in listed
    )
