"""A turn of a conversation: admitted, then open the session, run the graph, record the turn."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Interrupt

from accounts.directory import Account
from agent.conversation.admission import Admission, DeadlinePassed
from agent.conversation.edits import (
    booked_in_replaced_turns,
    kept_bookings_note,
    rewound,
    run_config,
    still_booked,
)
from agent.conversation.run import GraphRun, TurnListener, run_graph
from agent.conversation.store import OpenSession, TurnStore
from agent.conversation.transcript import TurnMessage, turn_message_of
from agent.customers import contact_of, customer_of
from db.engine import CONNECTION_LOST
from db.ids import new_id
from db.models.enums import MessageRole
from db.text import storable
from ops import metrics
from ops.tracing import span
from tools.agent_tools import recorded_answers
from tools.desk import ToolRecord, TravelContext, TravelDesk

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 4000
SORRY = "Sorry, something went wrong on my side; please try again in a moment."
UNSAVED = "Sorry, I could not save our conversation just now; please say that again in a moment."
TOO_SLOW = "Sorry, that took me too long to answer, so I stopped; please try again in a moment."
NO_DATABASE = "Sorry, I cannot reach our database just now; please try again in a moment."


@dataclass(frozen=True)
class TurnResult:
    """What the traveller is told at the end of a turn."""

    thread_id: str
    reply: str
    awaiting_confirmation: bool
    session_id: uuid.UUID | None = None
    outcome: str = "answered"
    """How the turn ended, for metrics (ops/metrics.py TURN_OUTCOMES)."""


@dataclass(frozen=True)
class TurnRequest:
    """What the traveller said and how the interface wants it answered."""

    message: str
    sandbox: bool = False
    """A replay fork: tools answer from `recorded`, nothing is ordered for real."""
    recorded: dict[str, ToolRecord] | None = None
    session_context: dict[str, Any] | None = None
    """Stored on a new chat session (a fork says where it came from)."""
    listener: TurnListener | None = None
    reply_ui_ids: list[str] | None = None
    """The ids the interface gave the reply it shows, kept on the stored reply for feedback."""
    currency: str | None = None
    preferences: dict[str, Any] | None = None
    """The chat's settings: default cabin and travellers."""
    ui_id: str | None = None
    """The id the interface gave the traveller's message: an edit of it comes with the same."""


@dataclass
class Conversations:
    """Runs turns of the travel agent for travellers, keeping our tables in step."""

    graph: CompiledStateGraph[Any, Any, Any, Any]
    store: TurnStore
    desk: TravelDesk
    model_name: str
    admission: Admission
    max_message_chars: int = MAX_MESSAGE_CHARS
    currency: str = "EUR"

    def context(
        self,
        account: Account,
        thread_id: str,
        session_id: uuid.UUID,
        *,
        sandbox: bool = False,
        recorded: dict[str, ToolRecord] | None = None,
    ) -> TravelContext:
        """What the graph's tools get for one run on `thread_id`."""
        return TravelContext(
            desk=self.desk,
            customer=customer_of(account, session_id),
            contact=contact_of(account),
            thread_id=thread_id,
            currency=self.currency,
            sandbox=sandbox,
            recorded=recorded or {},
        )

    async def tool_answers(self, thread_id: str) -> dict[str, ToolRecord]:
        """What the tools of `thread_id` answered, for a fork of it to replay."""
        state = await self.graph.aget_state({"configurable": {"thread_id": thread_id}})
        return recorded_answers(state.values.get("messages", []) if state.values else [])

    async def turn(
        self,
        account: Account,
        message: str,
        *,
        thread_id: str | None = None,
        sandbox: bool = False,
        recorded: dict[str, ToolRecord] | None = None,
        session_context: dict[str, Any] | None = None,
        listener: TurnListener | None = None,
        reply_ui_ids: list[str] | None = None,
        currency: str | None = None,
        preferences: dict[str, Any] | None = None,
        ui_id: str | None = None,
    ) -> TurnResult:
        """The agent's answer to `message` (or the confirmation question it now asks), on
        `thread_id` (None: a new conversation); the other arguments are `TurnRequest`'s.

        A message whose `ui_id` an earlier message of the thread was shown with is an edit of
        it: the conversation goes on from before that message, the turns from it on replaced.
        A turn that outlives its deadline, or loses the database, ends in one sentence saying so.
        """
        thread = thread_id or str(new_id())
        request = TurnRequest(
            message, sandbox, recorded, session_context, listener, reply_ui_ids, currency,
            preferences, ui_id,
        )  # fmt: skip
        started = time.perf_counter()
        with span("turn", {"travelhub.thread_id": thread, "travelhub.sandbox": sandbox}) as current:
            result = await self._admitted_turn(account, thread, request)
            current.set_attribute("travelhub.turn.outcome", turn_outcome(result))
        metrics.turn_finished(result.outcome, time.perf_counter() - started)
        return result

    async def _admitted_turn(
        self, account: Account, thread: str, request: TurnRequest
    ) -> TurnResult:
        try:
            async with self.admission.admitted():
                return await self._turn(account, thread, request)
        except DeadlinePassed:
            log.warning(
                "turn on thread %s stopped at its %g s deadline",
                thread,
                self.admission.deadline_seconds,
            )
            return TurnResult(thread, TOO_SLOW, False, outcome="deadline")
        except CONNECTION_LOST:
            log.exception("turn on thread %s lost the database", thread)
            return TurnResult(thread, NO_DATABASE, False, outcome="no_database")

    async def _turn(self, account: Account, thread: str, request: TurnRequest) -> TurnResult:
        message = storable(request.message)
        if len(message) > self.max_message_chars:
            return TurnResult(
                thread,
                f"That message is too long for me ({len(message)} characters; the limit is"
                f" {self.max_message_chars}). Could you say it in fewer words?",
                False,
                outcome="refused",
            )
        opened = await self.store.open(
            account,
            uuid.UUID(thread),
            title=message,
            context=request.session_context,
            ui_id=request.ui_id,
        )
        chat = rewound(opened)  # an edit starts where the edited message's turn started
        left_behind = await self._booked_in_replaced_turns(thread, chat)
        context = await self._context_for(account, thread, chat, request)
        transcript, graph_input = _first_message(message, chat, request.ui_id)
        started = time.perf_counter()
        config: RunnableConfig = run_config(thread, chat)
        try:
            with self.store.checkpointing(thread, chat) as checkpointed:
                run = await run_graph(self.graph, graph_input, config, context, request.listener)
        except Exception as error:
            log.exception("turn failed on thread %s", thread)
            await self._note_failure(account, thread, error)
            return TurnResult(thread, SORRY, False, chat.id, outcome="failed")
        latency = (time.perf_counter() - started) * 1000
        transcript.extend(self._messages_of(run))
        note = await self._kept_bookings_note(thread, left_behind, run, context)
        if note is not None:
            transcript[-1] = replace(transcript[-1], content=_noted(transcript[-1].content, note))
        transcript[-1] = _with_latency(transcript[-1], latency, request.reply_ui_ids)
        try:
            await self.store.record(
                account, chat, transcript, latency_ms=latency, checkpointed=checkpointed
            )
        except Exception:
            log.exception("could not record the turn on thread %s", thread)
            return TurnResult(thread, UNSAVED, False, chat.id, outcome="unsaved")
        if run.question is not None:
            question = _noted(_question_text(run.question), note)
            return TurnResult(thread, question, True, chat.id, outcome="question")
        return TurnResult(thread, _noted(run.reply(SORRY), note), False, chat.id)

    async def _note_failure(self, account: Account, thread: str, error: Exception) -> None:
        """Mark the thread failed for replay; a failure to do so is only logged (the
        traveller's answer does not depend on it)."""
        try:
            await self.store.chat_sessions.note_failure(
                account.tenant_id, uuid.UUID(thread), type(error).__name__
            )
        except Exception:
            log.exception("could not mark thread %s failed", thread)

    async def _booked_in_replaced_turns(self, thread: str, chat: OpenSession) -> list[str]:
        """What an edit leaves booked behind it; nothing (logged) if that cannot be read:
        the edit itself still goes ahead."""
        if not chat.edited:
            return []
        try:
            return await booked_in_replaced_turns(self.graph, thread, chat.edited)
        except Exception:
            log.exception("could not read the bookings an edit replaced on thread %s", thread)
            return []

    @staticmethod
    async def _kept_bookings_note(
        thread: str, left_behind: list[str], run: GraphRun, context: TravelContext
    ) -> str | None:
        """The sentence naming bookings an edit left standing; None (logged) if they cannot
        be looked up: the turn's answer stands without it."""
        if not left_behind:
            return None
        try:
            return kept_bookings_note(await still_booked(left_behind, run.messages, context))
        except Exception:
            log.exception("could not look up the bookings an edit left on thread %s", thread)
            return None

    async def _context_for(
        self, account: Account, thread: str, chat: OpenSession, request: TurnRequest
    ) -> TravelContext:
        sandbox, recorded = request.sandbox, request.recorded
        if chat.context.get("sandbox"):
            # A replay fork stays a sandbox for every later turn, whoever runs it.
            sandbox = True
            recorded = recorded or await self.tool_answers(str(chat.context.get("forked_from")))
        context = self.context(account, thread, chat.id, sandbox=sandbox, recorded=recorded)
        if request.currency:
            context = replace(context, currency=request.currency)
        if preferences := request.preferences:
            context = replace(
                context,
                default_cabin=str(preferences.get("cabin") or context.default_cabin),
                default_travellers=int(preferences.get("travellers") or context.default_travellers),
            )
        return context

    def _messages_of(self, run: GraphRun) -> list[TurnMessage]:
        """What the run said, as stored: its messages, then its question if it asks one."""
        messages = [
            stored
            for message in run.messages
            if (stored := turn_message_of(message, model_name=self.model_name)) is not None
        ]
        if run.question is not None:
            messages.append(
                TurnMessage(
                    f"question:{run.question.id}",
                    MessageRole.ASSISTANT,
                    _question_text(run.question),
                    attributes={
                        "awaiting_confirmation": True,
                        "action": run.question.value["action"],
                    },
                )
            )
        return messages


def _first_message(
    message: str, chat: OpenSession, ui_id: str | None
) -> tuple[list[TurnMessage], Any]:
    """The traveller's message as stored, and the graph's input: an answer to the agent's
    question resumes it; anything else is a new message.

    Shown with an id, it keeps that id and the checkpoint its turn starts from, for an edit
    of it to travel back to; an edit names the message it supersedes (migration 0020)."""
    attributes: dict[str, Any] | None = None
    if ui_id:
        attributes = {"ui_ids": [ui_id], "checkpoint_before": chat.checkpoint_id}
        if chat.edited is not None:
            attributes["supersedes"] = str(chat.edited.id)
    if chat.awaiting_answer:
        answer = TurnMessage(f"answer:{new_id()}", MessageRole.USER, message, attributes=attributes)
        return [answer], Command(resume=message)
    human = HumanMessage(message, id=str(new_id()))
    said = TurnMessage(f"lc:{human.id}", MessageRole.USER, message, attributes=attributes)
    return [said], {"messages": [human]}


_FAILURES = {TOO_SLOW: "too_slow", NO_DATABASE: "no_database", UNSAVED: "unsaved", SORRY: "failed"}


def turn_outcome(result: TurnResult) -> str:
    """How a turn ended, in one word (traces): answered, asked to confirm, or what failed."""
    if result.awaiting_confirmation:
        return "awaiting_confirmation"
    return _FAILURES.get(result.reply, "answered")


def _noted(reply: str, note: str | None) -> str:
    return f"{reply}\n\n{note}" if note else reply


def _question_text(question: Interrupt) -> str:
    return str(question.value.get("question", "Please confirm (yes / no)."))


def _with_latency(message: TurnMessage, latency_ms: float, ui_ids: list[str] | None) -> TurnMessage:
    attributes = {**(message.attributes or {}), **({"ui_ids": ui_ids} if ui_ids else {})}
    return replace(message, latency_ms=round(latency_ms), attributes=attributes or None)
