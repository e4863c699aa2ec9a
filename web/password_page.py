"""The change-password page of the signed-in traveller: the new password kept, every other
sign-in of theirs ended (open chat sockets of this process closed), and back to the chat."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from accounts.attempt_limits import SignInLimited
from accounts.directory import Account, find_account
from accounts.password_change import (
    WRONG_CURRENT,
    PasswordChange,
    PasswordChangeRefused,
    change_password,
)
from accounts.passwords import MAX_LENGTH, MIN_LENGTH
from web import runtime
from web.client_address import client_address
from web.csrf import FormToken
from web.session_guard import (
    TokenSession,
    decoded,
    disconnect_sockets,
    request_token,
    token_session,
)

PASSWORD_PATH = "/account/password"
CSRF_COOKIE = "travelhub_password_csrf"
FORM = FormToken(CSRF_COOKIE, PASSWORD_PATH)
FORM_EXPIRED = "This form had expired: please send it again."
log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


async def _signed_in(request: Request) -> tuple[Account, TokenSession] | None:
    """The traveller the request's session is for (SessionGuard has checked it is live)."""
    claims = decoded(request_token(request.headers.get("Authorization", ""), request.cookies))
    session = token_session(claims) if claims else None
    if session is None or session.session_id is None:
        return None
    traveller = await find_account(runtime.services().sessions, session.identifier)
    if traveller is None or traveller.user_id != session.user_id:
        return None
    return traveller, session


def password_router(*, chat_path: str) -> APIRouter:
    """GET shows the form, POST changes the password and goes back to the chat."""
    router = APIRouter(include_in_schema=False)

    def sign_in_first() -> Response:
        return RedirectResponse(f"{chat_path}/login", status_code=303)

    def page(
        request: Request, traveller: Account, *, problems: dict[str, str], status: int
    ) -> Response:
        token = FORM.current(request)
        response = templates.TemplateResponse(
            request,
            "password.html",
            {"chat": chat_path, "path": PASSWORD_PATH, "csrf_token": token,
             "email": traveller.email, "problems": problems, "min_length": MIN_LENGTH,
             "max_length": MAX_LENGTH},
            status_code=status,
        )  # fmt: skip
        FORM.keep(request, response, token)
        return response

    @router.get(PASSWORD_PATH)
    async def password_form(request: Request) -> Response:
        signed_in = await _signed_in(request)
        if signed_in is None:
            return sign_in_first()
        return page(request, signed_in[0], problems={}, status=200)

    @router.post(PASSWORD_PATH)
    async def password_change(
        request: Request,
        current: Annotated[str, Form()] = "",
        new: Annotated[str, Form()] = "",
        repeated: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        signed_in = await _signed_in(request)
        if signed_in is None:
            return sign_in_first()
        traveller, session = signed_in
        if not FORM.matches(request, csrf_token):
            return page(request, traveller, problems={"form": FORM_EXPIRED}, status=403)
        assert session.session_id is not None  # _signed_in returns sessions with an id
        form = PasswordChange(current, new, repeated)
        services, keep = runtime.services(), session.session_id
        wrong: list[PasswordChangeRefused] = []

        async def change() -> list[uuid.UUID] | None:
            try:
                return await change_password(services.sessions, traveller, form, keep=keep)
            except PasswordChangeRefused as refused:
                if refused.problems.get("current") != WRONG_CURRENT:
                    raise
                wrong.append(refused)
                return None  # a wrong current password is a failed sign-in: counted

        try:
            ended = await services.sign_in_limits.attempt(traveller.email, client_address(), change)
        except SignInLimited as limited:
            refusal = page(request, traveller, problems={"form": limited.sentence}, status=429)
            refusal.headers["Retry-After"] = str(limited.retry_after)
            return refusal
        except PasswordChangeRefused as refused:
            return page(request, traveller, problems=refused.problems, status=422)
        if ended is None:
            return page(request, traveller, problems=wrong[0].problems, status=422)
        closed = await disconnect_sockets(ended)
        log.info("password page: %d sessions ended, %d sockets closed", len(ended), closed)
        response: Response = RedirectResponse(f"{chat_path}/", status_code=303)
        FORM.forget(response)
        return response

    return router


__all__ = ["PASSWORD_PATH", "password_router"]
