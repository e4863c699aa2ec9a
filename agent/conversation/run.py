"""One run of the agent's graph for a turn: what its nodes said, and the question it asks."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Interrupt, StreamMode

from ops import metrics
from tools.desk import TravelContext


class TurnListener(Protocol):
    """What a live interface hears while a turn runs (the chat UI streams it)."""

    async def token(self, text: str) -> None: ...

    async def tool_started(self, name: str, arguments: dict[str, Any]) -> None: ...

    async def tool_finished(self, name: str, content: str, artifact: Any) -> None: ...


@dataclass(frozen=True)
class GraphRun:
    """What one run of the graph produced."""

    messages: list[BaseMessage]
    """The messages its nodes added, in order."""
    question: Interrupt | None
    """The question (a confirmation) it now waits on, if any."""

    def reply(self, fallback: str) -> str:
        """The model's last answer (`fallback` if it gave none)."""
        for message in reversed(self.messages):
            if isinstance(message, AIMessage) and not message.tool_calls:
                return str(message.content)
        return fallback


async def run_graph(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    graph_input: Any,
    config: RunnableConfig,
    context: TravelContext,
    listener: TurnListener | None,
) -> GraphRun:
    """Run the graph once, `listener` hearing tokens and tool calls as they happen.

    What the nodes produced is read off the stream (a round trip less than reading the state
    back). The state is checkpointed once, when the run ends (`durability="exit"`): a turn
    that dies half-way is one the traveller never saw answered.
    """
    modes: list[StreamMode] = ["updates", "messages"] if listener is not None else ["updates"]
    produced: list[BaseMessage] = []
    question: Interrupt | None = None
    run: Any = graph.astream(
        graph_input, config, context=context, stream_mode=modes, durability="exit"
    )
    # Closed here, whatever happens: the run's exit (its checkpoint) belongs to this turn.
    async with contextlib.aclosing(run) as stream:
        async for mode, payload in stream:
            if mode == "messages" and listener is not None:
                chunk, metadata = payload
                if metadata.get("langgraph_node") == "model" and isinstance(chunk, AIMessageChunk):
                    if chunk.content:
                        await listener.token(str(chunk.content))
                elif isinstance(chunk, ToolMessage):
                    await listener.tool_finished(
                        chunk.name or "", str(chunk.content), chunk.artifact
                    )
            elif mode == "updates" and isinstance(payload, dict):
                for node, update in payload.items():
                    if node == "__interrupt__":
                        question = next(iter(update), None) or question
                        continue
                    for message in _messages_of(update):
                        produced.append(message)
                        if isinstance(message, ToolMessage):
                            metrics.tool_answered(message.name or "", message.status)
                        if listener is not None and isinstance(message, AIMessage):
                            for call in message.tool_calls:
                                await listener.tool_started(call["name"], call["args"])
    return GraphRun(produced, question)


def _messages_of(update: Any) -> list[BaseMessage]:
    """The messages a node's update adds to the state (a dict, or a list of them)."""
    updates = update if isinstance(update, list | tuple) else [update]
    found: list[BaseMessage] = []
    for one in updates:
        if isinstance(one, Command):
            one = one.update
        if isinstance(one, dict):
            found.extend(m for m in one.get("messages", []) if isinstance(m, BaseMessage))
    return found
