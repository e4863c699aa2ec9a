"""A password sign-in refused by the attempt limits is answered 429, with a `Retry-After` and
one sentence: Chainlit turns whatever its login callback raises into a 401, so the callback
leaves the refusal here and this middleware answers the login request with it instead."""

from __future__ import annotations

from contextvars import ContextVar

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accounts.attempt_limits import SignInLimited

_REFUSALS: ContextVar[list[SignInLimited] | None] = ContextVar("sign_in_refusals", default=None)


def refuse(limited: SignInLimited) -> None:
    """Answer the login request being served with `limited` (outside one: nothing to do,
    and the callback's None refuses the attempt anyway)."""
    refusals = _REFUSALS.get()
    if refusals is not None:
        refusals.append(limited)


def refusal_response(limited: SignInLimited) -> JSONResponse:
    """429 with the sentence as `detail` (the sign-in page shows it) and when to come back."""
    return JSONResponse(
        {"detail": limited.sentence},
        status_code=429,
        headers={"Retry-After": str(limited.retry_after)},
    )


class SignInRefusalMiddleware:
    """Serves `path` (Chainlit's login route) and, when its callback refused the attempt for
    the limits, sends the refusal in place of Chainlit's 401."""

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        refusals: list[SignInLimited] = []
        marker = _REFUSALS.set(refusals)
        replaced = False

        async def answer(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and refusals:
                replaced = True
                await refusal_response(refusals[-1])(scope, receive, send)
            elif not replaced:  # Chainlit's own answer; or, once replaced, its body is dropped
                await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            _REFUSALS.reset(marker)
