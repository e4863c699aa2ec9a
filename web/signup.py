"""The sign-up page: a newcomer makes their own account and lands in the chat, signed in."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from accounts.passwords import MAX_LENGTH, MIN_LENGTH
from accounts.sign_up import EMAIL_TAKEN, SignUp, SignUpRefused, sign_up
from web import runtime
from web.chat_user import sign_in
from web.csrf import FormToken

SIGNUP_PATH = "/signup"
CSRF_COOKIE = "travelhub_signup_csrf"
FORM = FormToken(CSRF_COOKIE, SIGNUP_PATH)
FORM_EXPIRED = "This form had expired: please send it again."
NO_TENANT = "Sign-up is not open just now: please ask us for an account."
log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def signup_router(*, chat_path: str, tenant_slug: str) -> APIRouter:
    """GET shows the form, POST creates the account in `tenant_slug` and opens the chat."""
    router = APIRouter(include_in_schema=False)

    def page(
        request: Request, *, values: dict[str, Any], problems: dict[str, str], status: int
    ) -> Response:
        token = FORM.current(request)
        response = templates.TemplateResponse(
            request,
            "signup.html",
            {"chat": chat_path, "path": SIGNUP_PATH, "csrf_token": token, "values": values,
             "problems": problems, "min_length": MIN_LENGTH, "max_length": MAX_LENGTH},
            status_code=status,
        )  # fmt: skip
        FORM.keep(request, response, token)
        return response

    # HEAD too: the sign-in page asks it whether to show its "Create an account" link.
    @router.api_route(SIGNUP_PATH, methods=["GET", "HEAD"])
    async def signup_form(request: Request) -> Response:
        return page(request, values={}, problems={}, status=200)

    @router.post(SIGNUP_PATH)
    async def signup(
        request: Request,
        email: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        repeated: Annotated[str, Form()] = "",
        consent: Annotated[bool, Form()] = False,
        marketing: Annotated[bool, Form()] = False,
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        values = {"email": email, "name": name, "consent": consent, "marketing": marketing}
        if not FORM.matches(request, csrf_token):
            return page(request, values=values, problems={"form": FORM_EXPIRED}, status=403)
        form = SignUp(email, name, password, repeated, consent=consent, marketing=marketing)
        try:
            traveller = await sign_up(runtime.services().sessions, form, tenant_slug=tenant_slug)
        except SignUpRefused as refused:
            taken = refused.problems.get("email") == EMAIL_TAKEN
            return page(
                request, values=values, problems=refused.problems, status=409 if taken else 422
            )
        except LookupError as error:  # TRAVELHUB_DEFAULT_TENANT names no tenant
            log.error("sign-up: %s", error)
            return page(request, values=values, problems={"form": NO_TENANT}, status=503)
        response = RedirectResponse(f"{chat_path}/", status_code=303)
        await sign_in(runtime.services().sessions, request, response, traveller)
        FORM.forget(response)
        return response

    return router
