"""One turn of a conversation: run the graph (or resume it), then record what was said.

The session's lookup (`open_session`) and the run overlap where this process can tell what
the lookup will say (a new thread; a thread whose last turn it answered itself): the run
starts at once, and nothing is done in the traveller's name, heard or stored before the
database has confirmed it; a run begun from a conversation that moved on is void
(`SessionMoved`) and the turn starts again from what the database holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Interrupt, StreamMode
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent.accounts import Traveller
from agent.checkpointer import (
    REMEMBERED_THREADS,
    PooledPostgresSaver,
    TurnCheckpoints,
    checkpoint_turn,
)
from agent.persistence import OpenSession, Said, open_session, record_turn, said_by_graph
from db.chat_log import ChatLog
from db.engine import CONNECTION_LOST
from db.ids import new_id
from db.models.enums import MessageRole
from db.text import storable
from tools.agent_tools import recorded_answers
from tools.desk import ToolRecord, TravelContext, TravelDesk

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 4000
SORRY = "Sorry, something went wrong on my side; please try again in a moment."
UNSAVED = "Sorry, I could not save our conversation just now; please say that again in a moment."
TOO_SLOW = "Sorry, that took me too long to answer, so I stopped; please try again in a moment."
NO_DATABASE = "Sorry, I cannot reach our database just now; please try again in a moment."


class SessionMoved(Exception):
    """The conversation is not where this process left it: a run begun from there is void."""


@dataclass(frozen=True)
class TurnResult:
    thread_id: str
    reply: str
    awaiting_confirmation: bool
    session_id: uuid.UUID | None = None


class TurnListener(Protocol):
    """What a live interface hears while a turn runs (the chat UI streams it)."""

    async def token(self, text: str) -> None: ...

    async def tool_started(self, name: str, arguments: dict[str, Any]) -> None: ...

    async def tool_finished(self, name: str, content: str, artifact: Any) -> None: ...


@dataclass
class Conversations:
    """Runs turns of the travel agent for travellers, keeping our tables in step."""

    graph: CompiledStateGraph[Any, Any, Any, Any]
    sessions: async_sessionmaker[AsyncSession]
    desk: TravelDesk
    model_name: str
    chat_log: ChatLog
    max_message_chars: int = MAX_MESSAGE_CHARS
    currency: str = "EUR"
    deadline_seconds: float | None = None
    """A turn still running after this long is stopped and the traveller told so (None: never)."""
    max_concurrent: int | None = None
    """Turns run at once (None: no limit). The others wait before they start, holding no
    connection: a turn admitted runs at the machine's pace instead of every turn crawling
    while holding pooled connections, until some wait past their pool's timeout."""
    remembered_threads: int = REMEMBERED_THREADS
    """Threads whose conversation this process remembers as its last turn left it."""
    _left: OrderedDict[str, tuple[uuid.UUID, OpenSession]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    """By thread: the traveller and the session as this process's last turn on it left them."""
    _admitted: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    _running: int = field(default=0, init=False, repr=False)
    _idle: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_concurrent is not None:
            self._admitted = asyncio.Semaphore(self.max_concurrent)

    async def drained(self, within: float | None) -> bool:
        """Wait until no turn is running, `within` seconds at most; whether none is."""
        if self._running == 0:
            return True
        try:
            async with asyncio.timeout(within):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def context(
        self,
        traveller: Traveller,
        thread_id: str,
        session_id: uuid.UUID,
        *,
        sandbox: bool = False,
        recorded: dict[str, ToolRecord] | None = None,
    ) -> TravelContext:
        return TravelContext(
            desk=self.desk,
            customer=traveller.customer(session_id),
            contact=traveller.contact(),
            thread_id=thread_id,
            currency=self.currency,
            sandbox=sandbox,
            recorded=recorded or {},
        )

    async def _run(
        self,
        graph_input: Any,
        config: RunnableConfig,
        context: TravelContext,
        listener: TurnListener | None,
    ) -> tuple[list[BaseMessage], Interrupt | None]:
        """Run the graph once: (the messages its nodes produced, the question it now asks).

        What the nodes produced is read off the stream, not off the state read back
        afterwards: that is a round trip less, and exactly this run's messages. The state is
        checkpointed once, when the run ends (`durability="exit"`), not after every step:
        a turn that dies half-way is one the traveller never saw answered.
        """
        modes: list[StreamMode] = ["updates", "messages"] if listener is not None else ["updates"]
        produced: list[BaseMessage] = []
        question: Interrupt | None = None
        # Closed here, whatever happens: the run's exit (its checkpoint and writes) belongs
        # to this turn, not to whoever collects an abandoned generator later.
        run: Any = self.graph.astream(
            graph_input, config, context=context, stream_mode=modes, durability="exit"
        )
        async with contextlib.aclosing(run) as stream:
            unconfirmed = context.confirmed if listener is not None else None
            async for mode, payload in stream:
                if unconfirmed is not None:
                    await unconfirmed()  # the listener hears nothing of a run that may be void
                    unconfirmed = None
                if mode == "messages" and listener is not None:
                    chunk, metadata = payload
                    if metadata.get("langgraph_node") == "model" and isinstance(
                        chunk, AIMessageChunk
                    ):
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
                            if listener is not None and isinstance(message, AIMessage):
                                for call in message.tool_calls:
                                    await listener.tool_started(call["name"], call["args"])
        return produced, question

    async def recorded(self, thread_id: str) -> dict[str, ToolRecord]:
        """What the tools of `thread_id` answered, for a fork of it to replay."""
        state = await self.graph.aget_state({"configurable": {"thread_id": thread_id}})
        return recorded_answers(state.values.get("messages", []) if state.values else [])

    async def turn(
        self,
        traveller: Traveller,
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
    ) -> TurnResult:
        """The agent's answer to `message` (or the confirmation question it now asks).

        `listener` hears tokens and tool calls as they happen; `reply_ui_ids` are the ids the
        interface gave the reply it shows, kept on the stored message for feedback. A turn
        that outlives `deadline_seconds`, or loses the database, ends in one sentence saying so.
        """
        thread = thread_id or str(new_id())
        deadline = asyncio.timeout(self.deadline_seconds)
        self._running += 1
        self._idle.clear()
        admission = self._admitted or contextlib.nullcontext()
        try:
            async with deadline, admission:
                return await self._turn(
                    traveller,
                    message,
                    thread,
                    new_thread=thread_id is None,
                    sandbox=sandbox,
                    recorded=recorded,
                    session_context=session_context,
                    listener=listener,
                    reply_ui_ids=reply_ui_ids,
                    currency=currency,
                    preferences=preferences,
                )
        except TimeoutError:
            if not deadline.expired():
                raise
            log.warning(
                "turn on thread %s stopped at its %g s deadline", thread, self.deadline_seconds
            )
            return TurnResult(thread, TOO_SLOW, False)
        except CONNECTION_LOST:
            log.exception("turn on thread %s lost the database", thread)
            return TurnResult(thread, NO_DATABASE, False)
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def _turn(
        self,
        traveller: Traveller,
        message: str,
        thread: str,
        *,
        new_thread: bool,
        sandbox: bool,
        recorded: dict[str, ToolRecord] | None,
        session_context: dict[str, Any] | None,
        listener: TurnListener | None,
        reply_ui_ids: list[str] | None,
        currency: str | None,
        preferences: dict[str, Any] | None,
    ) -> TurnResult:
        message = storable(message)
        if len(message) > self.max_message_chars:
            return TurnResult(
                thread,
                f"That message is too long for me ({len(message)} characters; the limit is"
                f" {self.max_message_chars}). Could you say it in fewer words?",
                False,
            )
        answer = _Answer(
            message,
            sandbox=sandbox,
            recorded=recorded,
            listener=listener,
            reply_ui_ids=reply_ui_ids,
            currency=currency,
            preferences=preferences,
        )
        # How this process left the thread serves one turn: the next one starts from how
        # this turn leaves it, if it stores anything.
        left = self._left.pop(thread, None)
        session_id = new_id()
        opening = open_session(
            self.chat_log.pool,
            traveller,
            uuid.UUID(thread),
            title=message,
            context=session_context,
            session_id=session_id,
        )
        if new_thread:
            left = (
                traveller.user_id,
                OpenSession(session_id, session_context or {}, True, False, None),
            )
        guess = None if sandbox else self._guess(traveller, thread, left)
        if guess is None:
            return await self._answer(traveller, thread, await opening, answer)
        # The run starts from the conversation as this process left it (or from a new one)
        # while the database confirms that is where it stands: the session's round trip
        # overlaps the run instead of preceding it. Nothing is done in the traveller's name
        # (no tool runs) and nothing is heard or stored before it has confirmed. Where the
        # conversation moved on meanwhile (another process answered on it, it was deleted,
        # it is not this traveller's), the run is void and the turn starts again from what the
        # database holds, or fails as it would have.
        confirming = asyncio.ensure_future(opening)
        confirming.add_done_callback(_retrieved)

        async def confirmed() -> None:
            if await asyncio.shield(confirming) != guess:
                raise SessionMoved(thread)

        try:
            return await self._answer(traveller, thread, guess, answer, confirmed)
        except SessionMoved:
            log.info("thread %s moved on since this process answered on it", thread)
            return await self._answer(traveller, thread, await confirming, answer)

    def _guess(
        self, traveller: Traveller, thread: str, left: tuple[uuid.UUID, OpenSession] | None
    ) -> OpenSession | None:
        """The session the turn should find: a new thread's, or the one this process's last
        turn on the thread `left`, while the saver still holds that turn's checkpoint (else
        the run would read the database anyway). None: ask the database first."""
        saver = self.graph.checkpointer
        if (
            left is None
            or left[0] != traveller.user_id
            or not isinstance(saver, PooledPostgresSaver)
        ):
            return None  # (another saver would store a run before it is confirmed)
        chat = left[1]
        if chat.context.get("sandbox"):
            return None  # a replay fork: its tools answer from the original thread
        if chat.checkpoint_id is None:
            return chat if chat.first_turn else None
        if (
            chat.awaiting_answer  # an answer resumes a tool, with no model call before it
            or not saver.remembers(thread, chat.checkpoint_id)
        ):
            return None
        return chat

    def _leave(
        self,
        traveller: Traveller,
        thread: str,
        chat: OpenSession,
        checkpointed: TurnCheckpoints,
        asked: bool,
    ) -> None:
        """Remember how this turn left the conversation."""
        if not checkpointed.checkpoints:
            return
        self._left[thread] = (
            traveller.user_id,
            replace(
                chat,
                first_turn=False,
                awaiting_answer=asked,
                checkpoint_id=checkpointed.checkpoints[-1].checkpoint_id,
            ),
        )
        while len(self._left) > self.remembered_threads:
            self._left.popitem(last=False)

    async def _answer(
        self,
        traveller: Traveller,
        thread: str,
        chat: OpenSession,
        answer: _Answer,
        confirmed: Callable[[], Awaitable[None]] | None = None,
    ) -> TurnResult:
        """Run the graph on the turn's message from `chat` and record what was said.

        `confirmed`: the run starts before the database confirmed `chat`; awaited before
        anything is heard, done or stored (it raises `SessionMoved` if the run is void).
        """
        message, sandbox, recorded = answer.message, answer.sandbox, answer.recorded
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        if chat.context.get("sandbox"):
            # A replay fork stays a sandbox for every later turn, whoever runs it.
            sandbox = True
            recorded = recorded or await self.recorded(str(chat.context.get("forked_from")))
        context = self.context(traveller, thread, chat.id, sandbox=sandbox, recorded=recorded)
        if answer.currency:
            context = replace(context, currency=answer.currency)
        if answer.preferences:
            preferences = answer.preferences
            context = replace(
                context,
                default_cabin=str(preferences.get("cabin") or context.default_cabin),
                default_travellers=int(preferences.get("travellers") or context.default_travellers),
            )
        started = time.perf_counter()
        said: list[Said] = []
        if chat.awaiting_answer:
            said.append(Said(f"answer:{new_id()}", MessageRole.USER, message))
            graph_input: Any = Command(resume=message)
        else:
            human = HumanMessage(message, id=str(new_id()))
            said.append(Said(f"lc:{human.id}", MessageRole.USER, message))
            graph_input = {"messages": [human]}
        try:
            with checkpoint_turn(
                self.graph.checkpointer,
                thread,
                chat.checkpoint_id,
                awaiting_answer=chat.awaiting_answer,
                confirmed=confirmed is None,
            ) as checkpointed:
                if confirmed is not None:
                    context = replace(context, confirmed=_releasing(confirmed, checkpointed))
                produced, question = await self._run(graph_input, config, context, answer.listener)
        except Exception:
            if confirmed is not None:
                await confirmed()  # a void run is not a failure of the turn's
            log.exception("turn failed on thread %s", thread)
            return TurnResult(thread, SORRY, False, chat.id)
        if confirmed is not None:
            await confirmed()
            checkpointed.confirm()
        latency = (time.perf_counter() - started) * 1000
        said.extend(
            stored
            for message in produced
            if (stored := said_by_graph(message, model_name=self.model_name)) is not None
        )
        if question is not None:
            text = str(question.value.get("question", "Please confirm (yes / no)."))
            said.append(
                Said(
                    f"question:{question.id}",
                    MessageRole.ASSISTANT,
                    text,
                    attributes={"awaiting_confirmation": True, "action": question.value["action"]},
                )
            )
            reply = text
        else:
            reply = _final_reply(produced)
        said[-1] = _with_latency(said[-1], latency, answer.reply_ui_ids)
        try:
            # The run's checkpoint is committed with the turn's messages, in one statement
            # (a question's pending writes, already on their way, beside them); the reply
            # waits for both. Awaited in turn, not gathered: no task of their own to wake.
            await record_turn(
                self.chat_log,
                traveller,
                chat,
                said,
                first_turn=chat.first_turn,
                latency_ms=latency,
                checkpoints=checkpointed.checkpoints,
                blobs=checkpointed.blobs,
            )
            await checkpointed.written()
        except Exception:
            log.exception("could not record the turn on thread %s", thread)
            return TurnResult(thread, UNSAVED, False, chat.id)
        self._leave(traveller, thread, chat, checkpointed, question is not None)
        return TurnResult(thread, reply, question is not None, chat.id)


@dataclass(frozen=True)
class _Answer:
    """What the traveller said and how the turn's caller wants it answered."""

    message: str
    sandbox: bool
    recorded: dict[str, ToolRecord] | None
    listener: TurnListener | None
    reply_ui_ids: list[str] | None
    currency: str | None
    preferences: dict[str, Any] | None


def _releasing(
    confirmed: Callable[[], Awaitable[None]], checkpointed: TurnCheckpoints
) -> Callable[[], Awaitable[None]]:
    """`confirmed`, then what the run's checkpointing held back goes ahead."""

    async def confirm() -> None:
        await confirmed()
        checkpointed.confirm()

    return confirm


def _retrieved(task: asyncio.Future[Any]) -> None:
    """A turn that stopped (its deadline) before its session was confirmed leaves nothing
    unretrieved behind: the turn already ended in one sentence."""
    if not task.cancelled():
        task.exception()


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


def _final_reply(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, AIMessage) and not message.tool_calls:
            return str(message.content)
    return SORRY


def _with_latency(said: Said, latency_ms: float, ui_ids: list[str] | None) -> Said:
    attributes = {**(said.attributes or {}), **({"ui_ids": ui_ids} if ui_ids else {})}
    return replace(said, latency_ms=round(latency_ms), attributes=attributes or None)
