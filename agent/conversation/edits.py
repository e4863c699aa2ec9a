"""An edited message: the turn travels back to the checkpoint its original started from, and
the bookings made in the turns it replaces are named, since they stay booked."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from agent.conversation.store import EditedMessage, OpenSession
from db.models.enums import BookingStatus
from tools.desk import TravelContext
from tools.errors import TravelError

GONE = {BookingStatus.CANCELLED, BookingStatus.FAILED}
"""What a booking left behind may have become that needs no word to the traveller."""


def rewound(chat: OpenSession) -> OpenSession:
    """The session as the edit's run starts it: at the checkpoint the edited message's turn
    started from (None: the thread's very start), awaiting an answer if that message was one."""
    edited = chat.edited
    if edited is None:
        return chat
    return replace(
        chat, checkpoint_id=edited.checkpoint_before, awaiting_answer=edited.answered_question
    )


def run_config(thread_id: str, chat: OpenSession) -> RunnableConfig:
    """The graph's config for the turn: an edit addresses the checkpoint it travels back to,
    so LangGraph forks a new branch there (no checkpoint: the thread starts afresh)."""
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if chat.edited is not None and chat.checkpoint_id is not None:
        configurable["checkpoint_id"] = chat.checkpoint_id
    return {"configurable": configurable}


async def booked_in_replaced_turns(
    graph: CompiledStateGraph[Any, Any, Any, Any], thread_id: str, edited: EditedMessage
) -> list[str]:
    """The references the `book` tool made in the turns the edit replaces: what the thread's
    latest checkpoint holds beyond the one the edited message's turn started from."""
    latest = await graph.aget_state({"configurable": {"thread_id": thread_id}})
    kept: set[str | None] = set()
    if edited.checkpoint_before is not None:
        before = await graph.aget_state(
            {"configurable": {"thread_id": thread_id, "checkpoint_id": edited.checkpoint_before}}
        )
        kept = {message.id for message in (before.values or {}).get("messages", [])}
    replaced = [m for m in (latest.values or {}).get("messages", []) if m.id not in kept]
    return _booked(replaced)


async def still_booked(
    references: list[str], run_messages: list[BaseMessage], context: TravelContext
) -> list[str]:
    """Those of `references` that the new branch did not book again and that still stand."""
    if not references:
        return []
    again = set(_booked(run_messages))
    standing = []
    for reference in dict.fromkeys(references):
        if reference in again:
            continue
        try:
            summary = await context.desk.itineraries.show(reference, context.customer)
        except TravelError:
            continue  # no longer the traveller's to see: nothing to say about it
        if summary.status not in GONE:
            standing.append(reference)
    return standing


def kept_bookings_note(references: list[str]) -> str | None:
    """What the reply to an edit adds when bookings of the replaced turns stay booked."""
    if not references:
        return None
    if len(references) == 1:
        return (
            f"Your booking {references[0]} made earlier in this chat stays booked; cancel it"
            " if you no longer want it."
        )
    named = ", ".join(references[:-1]) + f" and {references[-1]}"
    return (
        f"Your bookings {named} made earlier in this chat stay booked; cancel them if you no"
        " longer want them."
    )


def _booked(messages: list[BaseMessage]) -> list[str]:
    return [
        str(artifact["reference"])
        for message in messages
        if isinstance(message, ToolMessage) and message.name == "book"
        if isinstance(artifact := message.artifact, dict) and artifact.get("kind") == "booking"
    ]
