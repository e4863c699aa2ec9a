"""The travel agent graph: a model node and a tools node, looping until the model answers."""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage
from langgraph.graph import START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime

from agent.models import model_name
from agent.prompts import SYSTEM_PROMPT
from agent.state import State
from ops import metrics
from ops.tracing import traced_model_call, traced_tool_call
from tools.agent_tools import TOOLS
from tools.desk import TravelContext

log = logging.getLogger(__name__)


def tool_failed(error: Exception) -> str:
    """What the model (and so the traveller) hears when a tool breaks: one sentence."""
    log.error("tool failed: %r", error)
    return "That did not work on my side; please try again in a moment."


def build_graph(model: BaseChatModel) -> StateGraph[State, TravelContext, Any, Any]:
    """The graph's builder, uncompiled: callers compile it with their own checkpointer."""
    bound = model.bind_tools(TOOLS)
    name = model_name(model)

    async def call_model(state: State, runtime: Runtime[TravelContext]) -> dict[str, Any]:
        context = runtime.context
        system = SystemMessage(
            SYSTEM_PROMPT.format(
                today=context.desk.today().isoformat(),
                currency=context.currency,
                cabin=context.default_cabin,
                travellers=context.default_travellers,
            )
        )
        started = time.perf_counter()
        try:
            reply = await traced_model_call(name, bound.ainvoke([system, *state["messages"]]))
        except Exception:
            metrics.model_called("error", time.perf_counter() - started)
            raise
        metrics.model_called(
            "ok", time.perf_counter() - started, getattr(reply, "usage_metadata", None)
        )
        return {"messages": [reply]}

    def route(state: State) -> Literal["tools", "__end__"]:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else "__end__"

    builder = StateGraph(State, context_schema=TravelContext)
    builder.add_node("model", call_model)
    builder.add_node(
        "tools",
        ToolNode(TOOLS, handle_tool_errors=tool_failed, awrap_tool_call=traced_tool_call),
    )
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route)
    builder.add_edge("tools", "model")
    return builder
