"""What replay's pages show of a thread: its transcript as entries (grouped into the current
branch and the branches edits replaced), its checkpoint timeline, and the state at one
checkpoint with what changed in each channel since its parent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.conversation.turns import Conversations
from agent.replay import ReplayError, checkpoint_config

EntryKind = Literal["traveller", "answer", "agent", "question", "tool", "error"]


@dataclass(frozen=True)
class Entry:
    """One line of the transcript."""

    kind: EntryKind
    text: str
    at: str
    tool_name: str | None = None
    calls: list[dict[str, str]] = field(default_factory=list)
    """Each tool call the agent made here: name and arguments (JSON)."""
    model: str | None = None
    action: str | None = None
    """What an agent's question asks to confirm (book, cancel)."""


@dataclass(frozen=True)
class Branch:
    """Consecutive entries of one branch: the current one (`superseded_at` None), or one an
    edit replaced at `superseded_at`."""

    superseded_at: str | None
    entries: list[Entry]


@dataclass(frozen=True)
class TimelineStep:
    checkpoint_id: str
    parent_id: str | None
    step: int | None
    node: str
    at: str
    messages: int
    awaiting_confirmation: bool
    forkable: bool
    """The agent had answered there (no tool call pending): a fork can start from it."""
    superseded: bool
    """Not on the way to the thread's latest checkpoint: an edit went another way."""


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, default=str, sort_keys=True)


def _entry(message: dict[str, Any]) -> Entry:
    marks: dict[str, Any] = message.get("marks") or {}
    at = str(message["created_at"])[:19].replace("T", " ")
    role, content = message["role"], message["content"] or ""
    if role == "user":
        return Entry("answer" if marks.get("answer") else "traveller", content, at)
    if role == "tool":
        kind: EntryKind = "error" if marks.get("error") else "tool"
        return Entry(kind, content, at, tool_name=message["tool_name"])
    if marks.get("awaiting_confirmation"):
        return Entry("question", content, at, action=marks.get("action"))
    calls = [
        {"name": str(call.get("name")), "arguments": _pretty(call.get("args", {}))}
        for call in message.get("tool_calls") or []
    ]
    return Entry("agent", content, at, calls=calls, model=message.get("model_name"))


def branches(messages: list[dict[str, Any]]) -> list[Branch]:
    """The transcript's messages as entries, in the order they were said, each run of one
    branch together."""
    grouped: list[Branch] = []
    for message in messages:
        superseded = message.get("superseded_at")
        if not grouped or grouped[-1].superseded_at != superseded:
            grouped.append(Branch(superseded, []))
        grouped[-1].entries.append(_entry(message))
    return grouped


def timeline(checkpoints: list[dict[str, Any]]) -> list[TimelineStep]:
    """The checkpoints, oldest first, each with whether an edit left it behind."""
    parents = {c["checkpoint_id"]: c["parent_checkpoint_id"] for c in checkpoints}
    current: set[str] = set()
    cursor = checkpoints[-1]["checkpoint_id"] if checkpoints else None
    while cursor is not None and cursor not in current:
        current.add(cursor)
        cursor = parents.get(cursor)
    return [
        TimelineStep(
            checkpoint_id=c["checkpoint_id"],
            parent_id=c["parent_checkpoint_id"],
            step=c["step"],
            node=", ".join(c["next"]) or c.get("node") or "end of turn",
            at=str(c["created_at"])[:19].replace("T", " "),
            messages=c["messages"],
            awaiting_confirmation=c["awaiting_confirmation"],
            forkable=not c["next"],
            superseded=c["checkpoint_id"] not in current,
        )
        for c in checkpoints
    ]


def _shown(message: BaseMessage) -> dict[str, Any]:
    kind = {HumanMessage: "traveller", AIMessage: "agent", ToolMessage: "tool"}.get(
        type(message), message.type
    )
    shown: dict[str, Any] = {"id": message.id, "kind": kind, "text": str(message.content)}
    if isinstance(message, AIMessage) and message.tool_calls:
        shown["calls"] = [f"{c['name']}({_pretty(c['args'])})" for c in message.tool_calls]
    if isinstance(message, ToolMessage):
        shown["tool_name"] = message.name
    return shown


@dataclass(frozen=True)
class ChannelChange:
    channel: str
    added: list[dict[str, Any]]
    """Messages (or, for another channel, its new value) this checkpoint has and its parent
    had not."""
    removed: list[dict[str, Any]]


@dataclass(frozen=True)
class CheckpointState:
    """A checkpoint's state: every channel, what is pending, and the diff from its parent."""

    checkpoint_id: str
    parent_id: str | None
    next: list[str]
    interrupts: list[str]
    messages: list[dict[str, Any]]
    other_channels: dict[str, str]
    changes: list[ChannelChange]


def _channels(values: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    messages = [_shown(m) for m in values.get("messages", [])]
    others = {k: _pretty(v) for k, v in values.items() if k != "messages"}
    return messages, others


def _changes(
    before: tuple[list[dict[str, Any]], dict[str, str]],
    after: tuple[list[dict[str, Any]], dict[str, str]],
) -> list[ChannelChange]:
    (old_messages, old_others), (new_messages, new_others) = before, after
    old_ids = {m["id"] for m in old_messages}
    new_ids = {m["id"] for m in new_messages}
    changes = [
        ChannelChange(
            "messages",
            [m for m in new_messages if m["id"] not in old_ids],
            [m for m in old_messages if m["id"] not in new_ids],
        )
    ]
    for channel in sorted(set(old_others) | set(new_others)):
        if old_others.get(channel) != new_others.get(channel):
            changes.append(
                ChannelChange(
                    channel,
                    [{"text": new_others[channel]}] if channel in new_others else [],
                    [{"text": old_others[channel]}] if channel in old_others else [],
                )
            )
    return [c for c in changes if c.added or c.removed]


async def checkpoint_state(
    conversations: Conversations, thread_id: str, checkpoint_id: str
) -> CheckpointState:
    """The state at one of the thread's checkpoints and its diff from the parent checkpoint
    (ReplayError if the thread has no such checkpoint)."""
    graph = conversations.graph
    snapshot = await graph.aget_state(checkpoint_config(thread_id, checkpoint_id))
    found = snapshot.config["configurable"].get("checkpoint_id") == checkpoint_id
    if not found or snapshot.created_at is None:  # an unknown id reads as an empty state
        raise ReplayError(f"Thread {thread_id} has no checkpoint {checkpoint_id}.")
    now = _channels(dict(snapshot.values or {}))
    parent_id = (
        snapshot.parent_config["configurable"].get("checkpoint_id")
        if snapshot.parent_config
        else None
    )
    before: tuple[list[dict[str, Any]], dict[str, str]] = ([], {})
    if parent_id:
        parent = await graph.aget_state(checkpoint_config(thread_id, parent_id))
        before = _channels(dict(parent.values or {}))
    return CheckpointState(
        checkpoint_id=checkpoint_id,
        parent_id=parent_id,
        next=list(snapshot.next),
        interrupts=[
            str(i.value.get("question", i.value) if isinstance(i.value, dict) else i.value)
            for task in snapshot.tasks
            for i in task.interrupts
        ],
        messages=now[0],
        other_channels=now[1],
        changes=_changes(before, now),
    )
