"""The agent's state: the conversation, as LangGraph keeps it in the checkpoints."""

from __future__ import annotations

from typing import Annotated, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph import add_messages


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    """Everything said: the traveller, the agent, tool calls and their results (whose
    artifacts hold the offers shown, so "option 2" can be booked later)."""
