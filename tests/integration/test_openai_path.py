"""The OpenAI-compatible path end to end: the real langchain-openai client, streamed tool
calls and text from a local server, the real graph, tools and database."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.integration.agent_world import stack, traveller
from tests.support.openai_server import OpenAICompatible

pytestmark = pytest.mark.integration


async def test_tool_call_then_answer_through_a_local_server(
    database: str, runtime_database: str, owner: Any
) -> None:
    day = (date.today() + timedelta(days=30)).isoformat()
    server = OpenAICompatible(
        [
            {"tool_call": {"name": "search_flights", "arguments": {
                "origin": "London", "destination": "Lisbon", "departure_date": day}}},
            {"content": "Here are the flights from London to Lisbon."},
        ]
    )  # fmt: skip
    with server.running():
        async with stack(
            database,
            runtime_database,
            OPENAI_API_KEY="sk-test-local",
            OPENAI_BASE_URL=server.base_url,
            TRAVELHUB_MODEL="test-model",
        ) as services:
            ada = await traveller(services)
            result = await services.conversations.turn(ada, "London to Lisbon next month?")

    assert result.reply.strip() == "Here are the flights from London to Lisbon."
    first, second = server.requests
    assert first["model"] == "test-model"
    assert first["stream"] is True
    assert first["_authorization"] == "Bearer sk-test-local"
    assert {tool["function"]["name"] for tool in first["tools"]} == {
        "search_flights", "search_hotels", "book", "cancel_booking", "list_bookings",
        "show_booking",
    }  # fmt: skip
    assert "runtime" not in first["tools"][0]["function"]["parameters"]["properties"]
    assert first["messages"][0]["role"] == "system"
    assert f"Today is {date.today().isoformat()}" in first["messages"][0]["content"]
    tool_reply = second["messages"][-1]
    assert tool_reply["role"] == "tool"
    assert "flights London (LON) to Lisbon (LIS)" in tool_reply["content"]

    stored = owner.execute(
        "SELECT role, tool_name, tool_calls, model_name, prompt_tokens, completion_tokens"
        " FROM chat_messages ORDER BY id"
    ).fetchall()
    assert [row[0] for row in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[1][2][0]["name"] == "search_flights"
    assert stored[1][2][0]["args"]["destination"] == "Lisbon"
    assert stored[2][1] == "search_flights"
    assert stored[3][3] == "test-model"
    assert (stored[3][4], stored[3][5]) == (120, 7)
