"""The one check of sign-in sessions: a request or socket handshake carrying a session token is
served only while the token's server-side session (accounts/user_sessions.py) is live.

Chainlit's routes and its socket.io connect trust any token its secret signed until it expires;
this middleware stands in front of all of them (and of ours), so a token whose session was
signed out or ended by a password change is refused everywhere at once. It also tells the
chat's data layer who each web request is signed in as (VIEWER)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection, Request

from accounts.user_sessions import ENDED, end_session, is_live
from web import runtime
from web.data_layer import VIEWER

log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
UNCHECKABLE = "We cannot check your session just now; please try again in a minute."
NOT_SIGNED_OUT = "We could not sign you out just now; please try again in a minute."
POLICY_VIOLATION = 1008  # the WebSocket close code for "not allowed"


@dataclass(frozen=True)
class TokenSession:
    """Who a session token was signed for, and the sign-in session it belongs to."""

    identifier: str
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    """None for a token made before sessions were kept: it counts as ended."""


def decoded(token: str | None) -> dict[str, Any] | None:
    """The claims of a Chainlit session token its secret signed and that has not expired
    (the identifier beside the metadata), else None."""
    from chainlit.auth.jwt import decode_jwt

    if not token:
        return None
    try:
        user = decode_jwt(token)
    except Exception:  # a forged, expired or malformed token alike: nobody
        return None
    return {"identifier": user.identifier, **user.metadata}


def token_session(claims: dict[str, Any]) -> TokenSession | None:
    """The session a token's claims name; None when they name no user of ours."""
    try:
        tenant_id, user_id = uuid.UUID(claims["tenant_id"]), uuid.UUID(claims["user_id"])
    except (KeyError, TypeError, ValueError):
        return None
    try:
        session_id: uuid.UUID | None = uuid.UUID(claims["session_id"])
    except (KeyError, TypeError, ValueError):
        session_id = None
    return TokenSession(str(claims["identifier"]), tenant_id, user_id, session_id)


def request_token(authorization: str, cookies: dict[str, str]) -> str | None:
    """The token a request signs in with: its bearer token, else Chainlit's cookie."""
    from chainlit.auth import get_token_from_cookies

    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return get_token_from_cookies(cookies)


async def session_is_live(session: TokenSession | None) -> bool:
    if session is None or session.session_id is None:
        return False
    return await is_live(
        runtime.services().sessions,
        tenant_id=session.tenant_id,
        user_id=session.user_id,
        session_id=session.session_id,
    )


class SessionGuard:
    """Refuses any request or socket handshake whose session token's session has ended (401
    and one sentence; a page a browser opens is sent to the sign-in page instead), bar the
    paths anyone may use: signing in and out, and static files. Signing out (Chainlit's
    /logout) ends the token's session before Chainlit clears the cookie."""

    def __init__(self, app: ASGIApp, *, chat_path: str, open_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.chat_path = chat_path
        self.logout_path = f"{chat_path}/logout"
        self.open_paths = (
            *(f"{chat_path}{path}" for path in CHAINLIT_OPEN_PATHS),
            *open_paths,
        )

    def _open(self, path: str) -> bool:
        return any(path == free or path.startswith(f"{free}/") for free in self.open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        bearer = request_token(connection.headers.get("Authorization", ""), {})
        cookie = request_token("", dict(connection.cookies))
        viewer = decoded(bearer or cookie)
        signing_out = scope["type"] == "http" and scope["method"] == "POST"
        if signing_out and scope["path"] == self.logout_path:
            # Here rather than in Chainlit's on_logout, whose wrapper swallows a failure: a
            # sign-out that could not end the session must not look done.
            try:
                await end_request_session(runtime.services().sessions, Request(scope))
            except (SQLAlchemyError, OSError) as error:
                log.warning("sessions: cannot end a session: %s", error)
                await self._refuse(scope, receive, send, 503, NOT_SIGNED_OUT)
                return
        elif not self._open(scope["path"]):
            # Chainlit reads the cookie first, our routes the bearer token: both must be live.
            for claims in filter(None, (decoded(bearer), decoded(cookie))):
                try:
                    live = await session_is_live(token_session(claims))
                except (SQLAlchemyError, OSError) as error:
                    log.warning("sessions: cannot check a session: %s", error)
                    await self._refuse(scope, receive, send, 503, UNCHECKABLE)
                    return
                if not live:
                    await self._refuse(scope, receive, send, 401, ENDED)
                    return
        else:
            viewer = None  # nothing on these paths is anyone's to read
        if scope["type"] == "websocket":  # its chat handlers know their user themselves
            await self.app(scope, receive, send)
            return
        marker = VIEWER.set(viewer["identifier"] if viewer else "")
        try:
            await self.app(scope, receive, send)
        finally:
            VIEWER.reset(marker)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, sentence: str
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": sentence})
            return
        connection = HTTPConnection(scope)
        navigating = scope["method"] in ("GET", "HEAD") and "text/html" in connection.headers.get(
            "accept", ""
        )
        response: Response
        if navigating and status == 401:
            response = RedirectResponse(f"{self.chat_path}/login", status_code=303)
        else:
            response = JSONResponse({"detail": sentence}, status_code=status)
        if status == 401:
            from chainlit.auth import clear_auth_cookie

            clear_auth_cookie(connection, response)  # type: ignore[arg-type]
        await response(scope, receive, send)


CHAINLIT_OPEN_PATHS = (
    "/login",  # the sign-in page and form: a stale cookie must not lock anyone out
    "/logout",  # ends the token's session itself (SessionGuard.__call__)
    "/auth/config",
    "/auth/oauth",
    "/project/translations",
    "/public",
    "/assets",
    "/copilot",
    "/favicon",
    "/logo",
    "/avatars",
    "/health",
)
"""Chainlit's paths (under its mount) that serve signed-out people."""


async def disconnect_sockets(ended: Iterable[uuid.UUID]) -> int:
    """Close this process's chat sockets opened with a token of an ended session; how many.
    (Sockets of other processes are refused at their next handshake, not closed.)"""
    from chainlit.server import sio
    from chainlit.session import ws_sessions_id

    gone = {str(session_id) for session_id in ended}
    closed = 0
    for chat in list(ws_sessions_id.values()):
        claims = decoded(chat.token)
        if claims and claims.get("session_id") in gone:
            await sio.disconnect(chat.socket_id)
            closed += 1
    return closed


async def end_request_session(sessions: async_sessionmaker[AsyncSession], request: Request) -> None:
    """Sign out: the session of the request's token (cookie or bearer) ends, and this
    process's sockets opened with it close; a request without a live token changes nothing."""
    for token in (request_token(request.headers.get("Authorization", ""), {}),
                  request_token("", request.cookies)):  # fmt: skip
        claims = decoded(token)
        session = token_session(claims) if claims else None
        if session is None or session.session_id is None:
            continue
        await end_session(sessions, tenant_id=session.tenant_id, session_id=session.session_id)
        await disconnect_sockets([session.session_id])
