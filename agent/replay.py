"""Replaying a conversation by its thread id: the transcript beside the checkpoint timeline,
and forks that try another message from any checkpoint in a sandbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig

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
    async for snapshot in conversations.graph.aget_state_history(checkpoint_config(thread_id)):
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
