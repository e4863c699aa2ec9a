"""The offline travel model as a LangChain chat model: real tool calls, natural replies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

from agent.offline.decide import Call, Say, decide, with_answer
from agent.offline.memory import recall
from tools.places import gazetteer

MODEL_NAME = "offline-travel-model"
FOLLOW_UPS = {
    "search_flights": "Say “book option 1” (or “the cheapest”), or ask me to change the date or"
    " the cabin, or to find a hotel there.",
    "search_hotels": "Say “book option 1” (or “the cheapest”), or change the dates, stars or"
    " board.",
}


class OfflineTravelModel(BaseChatModel):
    """Deterministic: the same conversation always gets the same answer."""

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": MODEL_NAME}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # It knows the travel tools by name already; binding changes nothing.
        del tools, tool_choice, kwargs
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        del stop, run_manager, kwargs  # deterministic: nothing to stop, nothing to report
        return ChatResult(generations=[ChatGeneration(message=self.answer(messages))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Native async (no hop to a worker thread): the answer is a few microseconds of work.
        del stop, run_manager, kwargs
        return ChatResult(generations=[ChatGeneration(message=self.answer(messages))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        del stop, kwargs
        for chunk in self._chunks(messages):
            if run_manager is not None and chunk.message.content:
                run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # Native async: the default runs `_stream` on a worker thread, one hop per word.
        del stop, kwargs
        for chunk in self._chunks(messages):
            if run_manager is not None and chunk.message.content:
                await run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
            yield chunk

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[ChatGenerationChunk]:
        """The answer as a model streams it: tool calls at once, words one by one."""
        reply = self.answer(messages)
        if reply.tool_calls:
            chunk = AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                    for i, c in enumerate(reply.tool_calls)
                ],
                response_metadata={"model_name": MODEL_NAME},
            )
            yield ChatGenerationChunk(message=chunk)
            return
        words = str(reply.content).split(" ")
        for index, word in enumerate(words):
            piece = word if index == len(words) - 1 else f"{word} "
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", response_metadata={"model_name": MODEL_NAME})
        )

    def answer(self, messages: list[BaseMessage]) -> AIMessage:
        memory = recall(messages)
        last = messages[-1] if messages else HumanMessage("")
        if isinstance(last, ToolMessage):
            return _reply(_after_tool(messages, last))
        text = str(last.content)
        humans = [m for m in messages if isinstance(m, HumanMessage)]
        if memory.pending_question and not memory.repriced and len(humans) >= 2:
            text = with_answer(str(humans[-2].content), memory.pending_question, text)
        decision = decide(text, memory, gazetteer())
        if isinstance(decision, Say):
            return _reply(decision.text)
        return _call(decision, len(messages))


def _reply(text: str) -> AIMessage:
    return AIMessage(content=text, response_metadata={"model_name": MODEL_NAME})


def _call(decision: Call, position: int) -> AIMessage:
    # A stable id: the same turn retried asks for the same call (and books at most once).
    digest = hashlib.sha256(
        f"{position}:{decision.tool}:{json.dumps(decision.args, sort_keys=True)}".encode()
    ).hexdigest()[:24]
    return AIMessage(
        content="",
        tool_calls=[{"name": decision.tool, "args": decision.args, "id": f"call_{digest}"}],
        response_metadata={"model_name": MODEL_NAME},
    )


def _after_tool(messages: list[BaseMessage], result: ToolMessage) -> str:
    content = str(result.content)
    artifact = result.artifact if isinstance(result.artifact, dict) else {}
    if artifact.get("kind") == "error":
        return content
    name = result.name or ""
    if artifact.get("offers") and artifact.get("kind") in ("flights", "hotels"):
        # The offers themselves are shown as cards: the reply says what was found.
        title = content.split("\n\n", 1)[0]
        return f"{title}\n\n{FOLLOW_UPS.get(name, '')}".strip()
    if artifact.get("offers"):
        return f"{content}\n\n{FOLLOW_UPS.get(name, '')}".strip()
    del messages
    return content
