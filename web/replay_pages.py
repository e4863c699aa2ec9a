"""Replay's pages: the threads a developer may replay, one thread's transcript beside its
checkpoint timeline, the state at a checkpoint, and forks from any checkpoint in a sandbox.

Server-rendered (Jinja2); htmx only swaps the state panel in place, and every htmx link has a
plain `?checkpoint=` fallback, so the pages read without JavaScript. The same authorization
as the replay API: a thread's owner, or an admin of its tenant."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from accounts.directory import Account, find_account
from agent.replay import ReplayError, fork, replay
from agent.replay_index import (
    OUTCOMES,
    ThreadSearch,
    forks_of,
    listed_threads,
    thread_header,
)
from agent.replay_view import CheckpointState, branches, checkpoint_state, timeline
from web import runtime
from web.app import _replayable, signed_in
from web.csrf import FormToken

REPLAY_PATH = "/replay"
PAGE_SIZE = 25
CSRF_COOKIE = "travelhub_replay_csrf"
FORM = FormToken(CSRF_COOKIE, REPLAY_PATH)
NO_THREAD = "There is no such conversation."
STATIC = Path(__file__).resolve().parent / "static"
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


class Refused(Exception):
    """A page refused, with its status and one sentence."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


def _thread_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Refused(404, NO_THREAD) from None


def _day(raw: str, label: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Refused(422, f"The {label} date must look like 2025-06-30.") from None


async def _account(request: Request) -> Account:
    """The signed-in person, from the database (a role or tenant is never taken from the
    token alone); Refused(401) for nobody."""
    try:
        user = await signed_in(request)
    except HTTPException as refused:
        raise Refused(refused.status_code, str(refused.detail)) from None
    account = await find_account(runtime.services().sessions, user["identifier"])
    if account is None:
        raise Refused(401, "Your session is invalid; sign in again.")
    return account


async def _owner(request: Request, thread: uuid.UUID) -> tuple[Account, Account]:
    """(the viewer, the thread's owner) when the viewer may replay the thread."""
    viewer = await _account(request)
    claims = {
        "identifier": viewer.email,
        "role": "admin" if viewer.is_admin else "user",
        "tenant_id": str(viewer.tenant_id),
    }
    try:
        return viewer, await _replayable(thread, claims)
    except HTTPException as refused:
        raise Refused(refused.status_code, str(refused.detail)) from None


def replay_router(*, chat_path: str) -> APIRouter:
    """GET /replay/ (the list), GET /replay/{id} (a thread), its checkpoint fragment, and
    POST /replay/{id}/fork."""
    router = APIRouter(include_in_schema=False)

    def refused(request: Request, problem: Refused) -> Response:
        if problem.status == 401 and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(f"{chat_path}/login", status_code=303)
        return templates.TemplateResponse(
            request,
            "replay_problem.html",
            {"chat": chat_path, "root": REPLAY_PATH, "problem": problem.sentence},
            status_code=problem.status,
        )

    @router.get(f"{REPLAY_PATH}/static/htmx.min.js")
    async def htmx() -> FileResponse:
        return FileResponse(STATIC / "htmx.min.js", media_type="text/javascript")

    @router.get(REPLAY_PATH)
    async def bare() -> RedirectResponse:
        return RedirectResponse(f"{REPLAY_PATH}/", status_code=307)

    @router.get(f"{REPLAY_PATH}/")
    async def threads(
        request: Request,
        email: str = "",
        since: str = "",
        until: str = "",
        outcome: str = "",
        model: str = "",
        after: str = "",
    ) -> Response:
        try:
            viewer = await _account(request)
            if outcome and outcome not in OUTCOMES:
                raise Refused(422, f"The outcome must be one of: {', '.join(OUTCOMES)}.")
            search = ThreadSearch(
                email=email.strip()[:255] or None,
                since=_day(since, "from"),
                until=_day(until, "to"),
                outcome=outcome or None,
                model=model.strip()[:100] or None,
            )
            page = await listed_threads(
                runtime.services().sessions,
                viewer.tenant_id,
                user_id=None if viewer.is_admin else viewer.user_id,
                search=search,
                limit=PAGE_SIZE,
                after=_thread_id(after) if after else None,
            )
        except Refused as problem:
            return refused(request, problem)
        asked = {"email": email, "since": since, "until": until, "outcome": outcome,
                 "model": model}  # fmt: skip
        return templates.TemplateResponse(
            request,
            "replay_list.html",
            {"chat": chat_path, "root": REPLAY_PATH, "viewer": viewer, "page": page,
             "asked": asked, "outcomes": OUTCOMES,
             "next_query": {**{k: v for k, v in asked.items() if v},
                            "after": str(page.next_cursor)} if page.next_cursor else None},
        )  # fmt: skip

    async def shown_state(thread: uuid.UUID, checkpoint: str) -> CheckpointState | str | None:
        if not checkpoint:
            return None
        try:
            return await checkpoint_state(runtime.services().conversations, str(thread), checkpoint)
        except ReplayError as error:
            return str(error)

    async def thread_page(
        request: Request, raw_id: str, *, checkpoint: str, problem: str | None, status: int
    ) -> Response:
        try:
            thread = _thread_id(raw_id)
            _viewer, owner = await _owner(request, thread)
        except Refused as refusal:
            return refused(request, refusal)
        services = runtime.services()
        try:
            replayed = await replay(services.conversations, owner, str(thread))
        except ReplayError:
            return refused(request, Refused(404, NO_THREAD))
        header = await thread_header(services.sessions, owner.tenant_id, thread)
        token = FORM.current(request)
        response = templates.TemplateResponse(
            request,
            "replay_thread.html",
            {"chat": chat_path, "root": REPLAY_PATH, "thread_id": str(thread), "header": header,
             "owner": owner, "branches": branches(replayed.messages),
             "timeline": timeline(replayed.checkpoints), "chosen": checkpoint,
             "state": await shown_state(thread, checkpoint),
             "forks": await forks_of(services.sessions, owner.tenant_id, thread),
             "csrf_token": token, "problem": problem},
            status_code=status,
        )  # fmt: skip
        FORM.keep(request, response, token)
        return response

    @router.get(REPLAY_PATH + "/{thread_id}")
    async def thread_view(request: Request, thread_id: str, checkpoint: str = "") -> Response:
        return await thread_page(
            request, thread_id, checkpoint=checkpoint, problem=None, status=200
        )

    @router.get(REPLAY_PATH + "/{thread_id}/checkpoints/{checkpoint_id}")
    async def checkpoint_fragment(request: Request, thread_id: str, checkpoint_id: str) -> Response:
        """The state panel alone, for htmx to swap in."""
        try:
            thread = _thread_id(thread_id)
            await _owner(request, thread)
        except Refused as refusal:
            return refused(request, refusal)
        state = await shown_state(thread, checkpoint_id)
        return templates.TemplateResponse(
            request,
            "replay_checkpoint.html",
            {"root": REPLAY_PATH, "thread_id": str(thread), "state": state,
             "chosen": checkpoint_id, "csrf_token": request.cookies.get(CSRF_COOKIE, "")},
            status_code=404 if isinstance(state, str) else 200,
        )  # fmt: skip

    @router.post(REPLAY_PATH + "/{thread_id}/fork")
    async def fork_thread(
        request: Request,
        thread_id: str,
        checkpoint_id: Annotated[str, Form()] = "",
        message: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        """Say `message` from `checkpoint_id` in a new sandbox thread, then open it."""
        try:
            thread = _thread_id(thread_id)
            _viewer, owner = await _owner(request, thread)
        except Refused as refusal:
            return refused(request, refusal)
        if not FORM.matches(request, csrf_token):
            problem, status = "This form had expired: please send it again.", 403
        elif not message.strip():
            problem, status = "Type the message the fork should start with.", 422
        else:
            try:
                forked = await fork(
                    runtime.services().conversations, owner, str(thread), checkpoint_id, message
                )
            except ReplayError as error:
                problem, status = str(error), 422
            else:
                return RedirectResponse(f"{REPLAY_PATH}/{forked.thread_id}", status_code=303)
        return await thread_page(
            request, thread_id, checkpoint=checkpoint_id, problem=problem, status=status
        )

    return router
