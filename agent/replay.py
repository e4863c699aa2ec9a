"""Replaying a conversation by its thread id: the transcript beside the checkpoint timeline,
and forks that try another message from any checkpoint in a sandbox."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

import ormsgpack
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres.base import BasePostgresSaver

from accounts.directory import Account
from agent.conversation.chat_sessions import NotYourConversation
from agent.conversation.turns import Conversations, TurnResult
from db.ids import new_id


class ReplayError(LookupError):
    """The thread or checkpoint cannot be replayed; the message says why."""


@dataclass(frozen=True)
class Replay:
    thread_id: str
    messages: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    reply: str | None = None
    awaiting_confirmation: bool = False

    def document(self) -> dict[str, Any]:
        """The `replay --json` shape other tools read."""
        shape: dict[str, Any] = {
            "thread_id": self.thread_id,
            "messages": self.messages,
            "checkpoints": self.checkpoints,
        }
        if self.reply is not None:
            shape["reply"] = self.reply
            shape["awaiting_confirmation"] = self.awaiting_confirmation
        return shape


def checkpoint_config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """The graph config reading `thread_id` (at `checkpoint_id`: that checkpoint)."""
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _count_only(blob_type: str, blob: bytes) -> list[None] | None:
    """The messages of a msgpack blob as that many Nones: counted without building one
    message (building them all is what made a long thread's timeline cost seconds)."""
    if blob_type != "msgpack":
        return None
    unpacked = ormsgpack.unpackb(blob, ext_hook=lambda _code, _data: None)
    return [None] * len(unpacked) if isinstance(unpacked, list) else None


def _counting(saver: BasePostgresSaver) -> BasePostgresSaver:
    """`saver`, reading the messages channel as a count: the timeline needs no more, and
    each checkpoint holds every message so far."""
    light = copy.copy(saver)
    load = saver._load_blobs

    def load_counting(blob_values: list[tuple[bytes, bytes, bytes]]) -> dict[str, Any]:
        counted = {
            k.decode(): found
            for k, t, v in blob_values
            if k == b"messages" and (found := _count_only(t.decode(), v)) is not None
        }
        rest = [value for value in blob_values if value[0].decode() not in counted]
        return {**load(rest), **counted}

    light._load_blobs = load_counting  # type: ignore[method-assign]
    return light


async def replay(conversations: Conversations, owner: Account, thread_id: str) -> Replay:
    """The thread's stored transcript and its checkpoints, oldest first: every branch, the
    messages an edit replaced marked with `superseded_at`, each checkpoint with its parent.

    Only a thread of `owner`'s own: checkpoints carry no tenant, so they are read only once
    the thread's session shows it is theirs.
    """
    try:
        rows = await conversations.store.chat_sessions.transcript(
            owner.tenant_id, owner.user_id, uuid.UUID(thread_id)
        )
    except NotYourConversation:
        raise ReplayError(f"There is no conversation {thread_id}.") from None
    # Every branch: what an edit replaced carries the moment it was superseded.
    messages = [
        {
            **row._asdict(),
            "created_at": row.created_at.isoformat(),
            "superseded_at": row.superseded_at.isoformat() if row.superseded_at else None,
        }
        for row in rows
    ]
    checkpoints = []
    graph = conversations.graph
    if isinstance(graph.checkpointer, BasePostgresSaver):
        graph = graph.copy({"checkpointer": _counting(graph.checkpointer)})
    async for snapshot in graph.aget_state_history(checkpoint_config(thread_id)):
        values = snapshot.values or {}
        checkpoints.append(
            {
                "checkpoint_id": snapshot.config["configurable"]["checkpoint_id"],
                # An edit's branch starts from an earlier checkpoint than the latest.
                "parent_checkpoint_id": (
                    snapshot.parent_config["configurable"].get("checkpoint_id")
                    if snapshot.parent_config
                    else None
                ),
                "created_at": snapshot.created_at,
                "step": (snapshot.metadata or {}).get("step"),
                "source": (snapshot.metadata or {}).get("source"),
                "next": list(snapshot.next),
                "messages": len(values.get("messages", [])),
                "awaiting_confirmation": any(task.interrupts for task in snapshot.tasks),
            }
        )
    if not messages and not checkpoints:
        raise ReplayError(f"There is no conversation {thread_id}.")
    return Replay(thread_id, messages, list(reversed(checkpoints)))


async def fork(
    conversations: Conversations,
    owner: Account,
    thread_id: str,
    checkpoint_id: str,
    message: str,
) -> Replay:
    """Say `message` from `checkpoint_id` in a new sandbox thread: searches are answered from
    what the original thread got, and nothing is ever ordered or cancelled."""
    snapshot = await conversations.graph.aget_state(checkpoint_config(thread_id, checkpoint_id))
    if not snapshot.values or snapshot.config["configurable"].get("checkpoint_id") != checkpoint_id:
        raise ReplayError(f"Thread {thread_id} has no checkpoint {checkpoint_id}.")
    history = list(snapshot.values.get("messages", []))
    if history and isinstance(history[-1], AIMessage) and history[-1].tool_calls:
        raise ReplayError(
            "That checkpoint is in the middle of a tool call; fork from one where the agent had"
            " answered (its `next` is empty)."
        )
    sandbox = str(new_id())
    if history:
        await conversations.graph.aupdate_state(
            checkpoint_config(sandbox), {"messages": history}, as_node="model"
        )
    result: TurnResult = await conversations.turn(
        owner,
        message,
        thread_id=sandbox,
        sandbox=True,
        recorded=await conversations.tool_answers(thread_id),
        session_context={"sandbox": True, "forked_from": thread_id, "checkpoint_id": checkpoint_id},
    )
    if result.session_id is None:  # refused before anything was said (a message too long)
        raise ReplayError(result.reply)
    replayed = await replay(conversations, owner, sandbox)
    return Replay(
        replayed.thread_id,
        replayed.messages,
        replayed.checkpoints,
        result.reply,
        result.awaiting_confirmation,
    )
