"""What a turn said, message by message, as the chat log stores it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from db.models.enums import MessageRole


@dataclass(frozen=True)
class TurnMessage:
    """One message of a turn as stored; `key` ties it to the graph's message (or interrupt)."""

    key: str
    role: MessageRole
    content: str
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    tool_name: str | None = None
    model_name: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    attributes: dict[str, Any] | None = None


def turn_message_of(message: BaseMessage, *, model_name: str) -> TurnMessage | None:
    """How a message of the graph's state is stored (None for what travellers never see)."""
    key = f"lc:{message.id}"
    if isinstance(message, HumanMessage):
        return TurnMessage(key, MessageRole.USER, str(message.content))
    if isinstance(message, ToolMessage):
        return TurnMessage(
            key,
            MessageRole.TOOL,
            str(message.content),
            tool_call_id=message.tool_call_id,
            tool_name=message.name,
            # A tool that refused (a bad date, an expired offer) is an error on replay's pages.
            attributes={"error": True} if _refused(message) else None,
        )
    if isinstance(message, AIMessage):
        usage: dict[str, Any] = dict(message.usage_metadata or {})
        return TurnMessage(
            key,
            MessageRole.ASSISTANT,
            str(message.content),
            tool_calls=[
                {"id": call["id"], "name": call["name"], "args": call["args"]}
                for call in message.tool_calls
            ]
            or None,
            model_name=str(message.response_metadata.get("model_name") or model_name)[:100],
            prompt_tokens=usage.get("input_tokens"),
            completion_tokens=usage.get("output_tokens"),
        )
    return None


def _refused(message: ToolMessage) -> bool:
    artifact = message.artifact
    return message.status == "error" or (
        isinstance(artifact, dict) and artifact.get("kind") == "error"
    )
