"""Chainlit's data layer on our own tables: the history sidebar, resuming, renaming, deleting,
feedback, chat settings. The agent's turns already store every message; this layer reads them,
and writes only what the interface alone knows (titles, chat settings, deletions, feedback).

Chainlit checks the author before some calls (reading, renaming, deleting a thread) but not
others (feedback), so this layer checks again: whoever a web request (`VIEWER`) or a chat
socket session is signed in as only ever reaches their own threads."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from chainlit.context import ChainlitContextException, context
from chainlit.data.base import BaseDataLayer
from chainlit.element import ElementDict
from chainlit.session import WebsocketSession
from chainlit.step import StepDict
from chainlit.types import (
    Feedback,
    PageInfo,
    PaginatedResponse,
    Pagination,
    ThreadDict,
    ThreadFilter,
)
from chainlit.user import PersistedUser, User
from sqlalchemy import Row

from accounts.directory import lookup_account
from agent.bootstrap import Services
from agent.conversation.chat_sessions import ChatSessions, session_title
from db.text import storable
from web.chat_rendering import tool_step_name
from web.chat_settings import valid_settings

# Chainlit names a thread after its first interaction, which may be a button press.
ACTION_NAMES = {"consent", "book_option", "answer"}
FEEDBACK_ATTEMPTS = 6
ELEMENT_ATTEMPTS = 4
MAX_ELEMENT_CHARACTERS = 32_000
"""A card's props are a few hundred characters; anything far larger is not one of ours."""
KEPT_ELEMENT_FIELDS = ("id", "threadId", "type", "name", "display", "props", "forId", "mime")
ROLE_TO_STEP = {"user": "user_message", "assistant": "assistant_message", "tool": "tool"}

VIEWER: ContextVar[str | None] = ContextVar("travelhub_viewer", default=None)
"""The identifier the web request being served is signed in as ("" for nobody), set by the web
app; None outside web requests."""


def _viewer() -> str | None:
    """Who is asking: the web request's signed-in person, else the chat (socket) session's;
    None outside both (operator commands, whose caller is trusted)."""
    viewer = VIEWER.get()
    if viewer is not None:
        return viewer
    try:
        session = context.session
    except ChainlitContextException:
        return None
    user = getattr(session, "user", None)
    return None if user is None else str(user.identifier)


def _iso(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).isoformat()


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _known_text(value: str | None) -> str | None:
    """`value` if PostgreSQL can hold it as text, else None: an id with a NUL byte or a lone
    surrogate names nothing we stored, and must not reach the database as a query error."""
    return value if value is not None and storable(value) == value else None


def _kept_settings(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """The chat settings Chainlit hands over to keep with a thread, made valid; None when it
    hands none."""
    if not isinstance(metadata, dict) or "chat_settings" not in metadata:
        return None
    return valid_settings(metadata["chat_settings"])


def _session_settings() -> dict[str, Any] | None:
    """The chat settings of the chat (socket) session being served, None outside one: Chainlit
    opens a thread at its first interaction without them, and keeps them only on disconnect."""
    try:
        session = context.session
    except ChainlitContextException:
        return None
    return valid_settings(session.chat_settings) if isinstance(session, WebsocketSession) else None


def _kept(element: Any) -> dict[str, Any] | None:
    """What is kept of a custom element (a card) to show it again: its name, props and the
    message it belongs to; None for other elements (their files live with the session) and
    for what PostgreSQL cannot hold or no card needs (NUL bytes, oversized props)."""
    if getattr(element, "type", None) != "custom" or not getattr(element, "for_id", None):
        return None
    shown = {key: value for key, value in element.to_dict().items() if key in KEPT_ELEMENT_FIELDS}
    written = json.dumps(shown, ensure_ascii=False)
    unstorable = storable(written) != written or "\\u0000" in written  # jsonb refuses a NUL
    if len(written) > MAX_ELEMENT_CHARACTERS or unstorable:
        return None
    return shown


def _like(search: str) -> str:
    """A search term matched as typed: LIKE's wildcards and escape character taken literally."""
    escaped = storable(search).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class TravelDataLayer(BaseDataLayer):
    def __init__(self, services: Callable[[], Services]) -> None:
        self._services = services

    @property
    def _chats(self) -> ChatSessions:
        return self._services().chat_sessions

    async def _owner_tenant(
        self, thread_id: str, *, for_viewer: bool = True
    ) -> tuple[uuid.UUID, str] | None:
        """The thread's (tenant, author), or None when it does not exist or (`for_viewer`,
        in a web request) belongs to someone other than the signed-in person."""
        thread = _uuid(thread_id)
        if thread is None:
            return None
        email = await self._chats.author_of(thread)
        if email is None:
            return None
        viewer = _viewer()
        if for_viewer and viewer is not None and viewer != email:
            return None
        user = await self.get_user(email)
        return (uuid.UUID(user.metadata["tenant_id"]), email) if user else None

    # Users --------------------------------------------------------------------------------

    async def get_user(self, identifier: str) -> PersistedUser | None:
        if _known_text(identifier) is None:
            return None
        row = await lookup_account(self._services().sessions, identifier)
        if row is None:
            return None
        return PersistedUser(
            id=str(row["id"]),
            identifier=row["email"],
            display_name=row["full_name"] or row["email"],
            createdAt=_iso(None),
            metadata={
                "tenant_id": str(row["tenant_id"]),
                "user_id": str(row["id"]),
                "role": row["role"],
            },
        )

    async def create_user(self, user: User) -> PersistedUser | None:
        # Accounts are made by the login callbacks (password accounts by `travelhub users
        # create`, OAuth ones on first sign-in); here they are only looked up.
        return await self.get_user(user.identifier)

    # Threads ------------------------------------------------------------------------------

    async def get_thread_author(self, thread_id: str) -> str:
        # Chainlit compares this with the signed-in person itself (and answers 401).
        owner = await self._owner_tenant(thread_id, for_viewer=False)
        return owner[1] if owner else ""

    async def list_threads(
        self, pagination: Pagination, filters: ThreadFilter
    ) -> PaginatedResponse[ThreadDict]:
        user_id = _uuid(filters.userId)
        tenant = await self._chats.tenant_of_user(user_id) if user_id else None
        empty: PaginatedResponse[ThreadDict] = PaginatedResponse(PageInfo(False, None, None), [])
        if tenant is None:
            return empty
        assert user_id is not None
        rows = await self._chats.listed(
            tenant,
            user_id,
            limit=pagination.first + 1,
            title_like=_like(filters.search) if filters.search else None,
            rated=filters.feedback,
            after_thread=_uuid(pagination.cursor),
        )
        viewer = _viewer()
        if viewer is not None and rows and rows[0].email != viewer:
            return empty  # Chainlit asks for the signed-in person's threads; anyone else's: none
        page = rows[: pagination.first]
        threads: list[ThreadDict] = [
            {
                "id": str(row.thread_id),
                "createdAt": _iso(row.created_at),
                "name": row.title,
                "userId": str(user_id),
                "userIdentifier": row.email,
                "tags": None,
                "metadata": row.context,
                "steps": [],
                "elements": [],
            }
            for row in page
        ]
        return PaginatedResponse(
            PageInfo(
                hasNextPage=len(rows) > pagination.first,
                startCursor=threads[0]["id"] if threads else None,
                endCursor=threads[-1]["id"] if threads else None,
            ),
            threads,
        )

    async def get_thread(self, thread_id: str) -> ThreadDict | None:
        owner = await self._owner_tenant(thread_id)
        if owner is None:
            return None
        tenant, email = owner
        found = await self._chats.read(tenant, uuid.UUID(thread_id))
        if found is None:
            return None
        session, messages = found.session, found.messages
        # A tool's step shows what it was asked, as it did live: its call's arguments.
        arguments = {
            call["id"]: call.get("args", {})
            for row in messages
            for call in (row.tool_calls or [])
            if isinstance(call, dict) and "id" in call
        }
        steps = [self._step(thread_id, email, row, arguments) for row in messages if row.content]
        return {
            "id": thread_id,
            "createdAt": _iso(session.created_at),
            "name": session.title,
            "userId": str(session.user_id),
            "userIdentifier": email,
            "tags": None,
            "metadata": session.context,
            "steps": steps,
            # A message's cards in the order they were made: their ids are time-ordered.
            "elements": [
                element
                for row in messages
                for element in sorted(
                    (row.attributes.get("elements") or {}).values(), key=lambda e: str(e["id"])
                )
            ],
        }

    @staticmethod
    def _step(thread_id: str, email: str, row: Row[Any], arguments: dict[str, Any]) -> StepDict:
        """A stored message as the step the chat showed for it."""
        attributes: dict[str, Any] = row.attributes or {}
        created = _iso(row.created_at)
        step: StepDict = {
            "id": (attributes.get("ui_ids") or [str(row.id)])[0],
            "threadId": thread_id,
            "type": ROLE_TO_STEP[row.role],  # type: ignore[typeddict-item]
            "name": email if row.role == "user" else "Global Travel Hub",
            "output": row.content,
            "createdAt": created,
            "start": created,
            "end": created,
            "metadata": {},
        }
        if row.role == "tool":
            step["name"] = tool_step_name(row.tool_name or "tool")
            if row.tool_call_id in arguments:
                step["input"] = json.dumps(arguments[row.tool_call_id], indent=1, default=str)
                step["showInput"] = "json"
        feedback = attributes.get("feedback")
        if feedback:
            step["feedback"] = {
                "forId": step["id"],
                "id": step["id"],
                "value": feedback["value"],
                "comment": feedback.get("comment"),
            }
        return step

    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Rename a thread and keep its chat settings (Chainlit's `metadata["chat_settings"]`);
        on its first interaction, create the session, titled and with the settings chosen so
        far, so that the sidebar lists it at once and a resume finds them."""
        del tags
        thread = _uuid(thread_id)
        # A first interaction is named (and may find the session made by the turn already).
        settings = _kept_settings(metadata) or (_session_settings() if name else None)
        owner = await self._owner_tenant(thread_id)
        if owner is None:
            user = _uuid(user_id)
            tenant = await self._chats.tenant_of_user(user) if user else None
            if thread is None or tenant is None or user is None:
                return
            title = None if name in ACTION_NAMES else session_title(name)
            kept = {"chat_settings": settings} if settings is not None else {}
            await self._chats.create(tenant, user, thread, title, kept)
            return
        if thread is None:
            return
        if settings is not None:
            await self._chats.keep_settings(owner[0], thread, settings)
        if name is not None and name not in ACTION_NAMES:
            await self._chats.rename(owner[0], thread, session_title(name))

    async def delete_thread(self, thread_id: str) -> None:
        """Soft delete the session; its LangGraph checkpoints go for good."""
        owner = await self._owner_tenant(thread_id)
        if owner is None:
            return
        services = self._services()
        deleted = await services.chat_sessions.delete(owner[0], uuid.UUID(thread_id), owner[1])
        # Checkpoints carry no tenant: they go only with a session this author really had.
        if deleted:
            await services.checkpointer.adelete_thread(thread_id)

    # Feedback -----------------------------------------------------------------------------

    async def upsert_feedback(self, feedback: Feedback) -> str:
        if _known_text(feedback.forId) is None:
            return ""
        if not feedback.threadId:
            found = await self._chats.thread_of_ui_message(feedback.forId)
            feedback.threadId = str(found) if found else None
        owner = await self._owner_tenant(feedback.threadId or "")
        if owner is None:
            return ""
        tenant = owner[0]
        comment = storable(feedback.comment) if feedback.comment is not None else None
        value = {"value": feedback.value, "comment": comment}
        # A streamed reply can be rated before its turn is stored (a second or so later):
        # wait for it rather than lose the rating.
        thread = uuid.UUID(feedback.threadId or "")
        for attempt in range(FEEDBACK_ATTEMPTS):
            if await self._chats.rate(tenant, thread, feedback.forId, value):
                return feedback.forId
            await asyncio.sleep(0.25 * (attempt + 1))
        return ""

    async def delete_feedback(self, feedback_id: str) -> bool:
        """Take a rating back (its id is the rated message's interface id)."""
        if _known_text(feedback_id) is None:
            return False
        thread = await self._chats.thread_of_ui_message(feedback_id)
        owner = await self._owner_tenant(str(thread)) if thread else None
        if owner is None:
            return False
        assert thread is not None
        return await self._chats.unrate(owner[0], thread, feedback_id)

    # What the agent's own persistence already records -------------------------------------

    async def create_step(self, step_dict: StepDict) -> None:
        del step_dict

    async def update_step(self, step_dict: StepDict) -> None:
        del step_dict

    async def delete_step(self, step_id: str) -> None:
        del step_id

    # Cards (custom elements) are the interface's own: kept beside the message they belong to.

    async def create_element(self, element: Any) -> None:
        """Keep a card, or its new props (a card's state changes when an offer is chosen)."""
        shown = _kept(element)
        owner = await self._owner_tenant(str(getattr(element, "thread_id", "")))
        if shown is None or owner is None:
            return
        thread = uuid.UUID(element.thread_id)
        # The reply a card belongs to is stored when its turn ends: a card sent at that very
        # moment waits for it.
        for attempt in range(ELEMENT_ATTEMPTS):
            if await self._chats.keep_element(owner[0], thread, element.for_id, shown):
                return
            await asyncio.sleep(0.25 * (attempt + 1))

    async def get_element(self, thread_id: str, element_id: str) -> ElementDict | None:
        thread = await self.get_thread(thread_id)
        elements: list[ElementDict] = thread["elements"] or [] if thread else []
        return next((e for e in elements if e.get("id") == element_id), None)

    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        owner = await self._owner_tenant(thread_id or "")
        if owner is None or thread_id is None or _known_text(element_id) is None:
            return
        await self._chats.drop_element(owner[0], uuid.UUID(thread_id), element_id)

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        return None

    async def get_favorite_steps(self, user_id: str) -> list[StepDict]:
        del user_id
        return []
