"""The in-memory ceiling of the load benchmark: the agent's graph and tools with none of our
persistence, driven like the real turn."""

from __future__ import annotations

import dataclasses
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from accounts.directory import Account
from agent.bootstrap import Services
from agent.conversation.turns import SORRY
from agent.customers import customer_of
from agent.graph import build_graph
from agent.offline.model import OfflineTravelModel
from bench.loadgen import Reply
from db.ids import new_id
from tools.desk import TravelContext


class BareTurns:
    """The graph part of Conversations.turn (read the state, resume a pending confirmation or
    add the message, run the graph checkpointing once at the end, read the reply off the
    stream), minus every write of ours: no chat_sessions, no chat_messages, no analytics,
    checkpoints in memory. The same tools and services, so bookings are made for real."""

    def __init__(self, services: Services, travellers: list[Account]) -> None:
        self._graph: CompiledStateGraph[Any, Any, Any, Any] = build_graph(
            OfflineTravelModel()
        ).compile(checkpointer=InMemorySaver())
        self._desk = dataclasses.replace(services.desk, search=services.search.without_analytics())
        self._conversations = services.conversations
        self._travellers = travellers

    def _context(self, traveller: Account, thread: str) -> TravelContext:
        context = self._conversations.context(traveller, thread, new_id())
        # No chat_sessions row exists for a bare thread: bookings must not point at one.
        return dataclasses.replace(context, desk=self._desk, customer=customer_of(traveller, None))

    async def __call__(self, number: int, message: str, thread_id: str | None) -> Reply:
        thread = thread_id or str(new_id())
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        before = await self._graph.aget_state(config)
        graph_input: Any = (
            Command(resume=message)
            if any(task.interrupts for task in before.tasks)
            else {"messages": [HumanMessage(message, id=str(new_id()))]}
        )
        context = self._context(self._travellers[number], thread)
        reply, question = SORRY, None
        stream: Any = self._graph.astream(
            graph_input, config, context=context, stream_mode="updates", durability="exit"
        )
        async for update in stream:
            for node, change in update.items():
                if node == "__interrupt__":
                    question = next(iter(change), None) or question
                    continue
                for one in change if isinstance(change, list | tuple) else [change]:
                    for said in (one or {}).get("messages", []) if isinstance(one, dict) else []:
                        if isinstance(said, AIMessage) and not said.tool_calls:
                            reply = str(said.content)
        if question is not None:
            return Reply(thread, str(question.value.get("question", "")), True)
        return Reply(thread, reply, False)
