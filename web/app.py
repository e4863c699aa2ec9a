"""The web app: Chainlit mounted on FastAPI, beside a health check, the replay API and pages
(web/replay_pages.py) and the thread file export."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from secrets import token_urlsafe
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy import text

from accounts.directory import Account, find_account
from agent.bootstrap import build_services
from agent.customers import customer_of
from agent.replay import ReplayError, replay
from agent.secret_files import kept_secret
from agent.settings import Settings
from agent.thread_export import ThreadNotFound, export_thread
from tools.errors import BookingNotFound
from tools.references import normalise
from web import runtime
from web.admin_page import admin_router
from web.client_address import keep_client_address
from web.origins import guard_chainlit
from web.password_page import password_router
from web.scrape import METRICS_PATH, metrics_router
from web.session_guard import SessionGuard, decoded, request_token
from web.sign_in_refusal import SignInRefusalMiddleware
from web.signup import SIGNUP_PATH, signup_router
from web.socket_order import order_chainlit_socket

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHAT_PATH = "/chat"


def ensure_auth_secret(settings: Settings) -> None:
    """Chainlit signs sessions with CHAINLIT_AUTH_SECRET; development keeps one on disk."""
    if os.environ.get("CHAINLIT_AUTH_SECRET"):
        return
    secret, _made = kept_secret(Path(settings.data_dir) / "auth_secret", lambda: token_urlsafe(48))
    os.environ["CHAINLIT_AUTH_SECRET"] = secret


# The scheme is what the OpenAPI document shows; `signed_in` reads the token itself, so that
# the session cookie of the chat works too.
bearer = HTTPBearer(auto_error=False, description="Chainlit's session token (or its cookie).")


class Problem(BaseModel):
    """Why a request was refused, in one sentence."""

    detail: str


class Health(BaseModel):
    """Whether each service the app needs answers."""

    postgres: Literal["ok", "down"]
    redis: Literal["ok", "down", "not configured"]


class ReplayDocument(BaseModel):
    """A conversation's transcript beside its checkpoints (the `replay --json` shape)."""

    thread_id: str
    messages: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]


REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not signed in, or the session is invalid or ended."},
    403: {"model": Problem, "description": "The conversation is someone else's."},
    404: {"model": Problem, "description": "No such conversation."},
}


async def signed_in(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> dict[str, Any]:
    """The signed-in user of a request (Chainlit's session token), else 401."""
    del credentials  # documented for OpenAPI; read below with the cookie fallback
    token = request_token(request.headers.get("Authorization", ""), dict(request.cookies))
    if not token:
        raise HTTPException(status_code=401, detail="Sign in first.")
    # SessionGuard has refused an ended session already: a token that decodes is live.
    user = decoded(token)
    if user is None:
        raise HTTPException(status_code=401, detail="Your session is invalid; sign in again.")
    return user


async def _replayable(thread_id: uuid.UUID, user: dict[str, Any]) -> Account:
    """The author of a thread `user` may replay (its author, or an admin of its tenant);
    404 for no such thread, 403 for another's."""
    services = runtime.services()
    author = await services.chat_sessions.author_of(thread_id)
    if author is None:
        raise HTTPException(status_code=404, detail="There is no such conversation.")
    owner = await find_account(services.sessions, author)
    if owner is None:
        raise HTTPException(status_code=404, detail="There is no such conversation.")
    is_owner = author == user["identifier"]
    is_admin = user.get("role") == "admin" and user.get("tenant_id") == str(owner.tenant_id)
    if not (is_owner or is_admin):
        raise HTTPException(status_code=403, detail="That conversation is not yours.")
    return owner


def create_app() -> FastAPI:
    settings = Settings()
    ensure_auth_secret(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(Settings())
        services.start_background()
        runtime.install(services)
        try:
            yield
        finally:
            runtime.install(None)
            await services.aclose()

    app = FastAPI(title="Global Travel Hub", lifespan=lifespan)
    app.add_middleware(
        SessionGuard, chat_path=CHAT_PATH,
        open_paths=("/healthz", SIGNUP_PATH, "/docs", "/openapi.json", METRICS_PATH),
    )  # fmt: skip
    app.add_middleware(SignInRefusalMiddleware, path=f"{CHAT_PATH}/login")
    keep_client_address(app, trusted_proxies=settings.trusted_proxies)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(CHAT_PATH)

    @app.get(
        "/healthz",
        response_model=Health,
        responses={503: {"model": Health, "description": "A service is down."}},
    )
    async def healthz() -> JSONResponse:
        """PostgreSQL and (when configured) Redis answer: 200, else 503."""
        services = runtime.services()
        checks: dict[str, str] = {}
        try:
            async with services.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["postgres"] = "ok"
        except Exception as error:
            log.warning("health: PostgreSQL is down: %s", error)
            checks["postgres"] = "down"
        if services.redis is None:
            checks["redis"] = "not configured"
        else:
            try:
                await services.redis.ping()
                checks["redis"] = "ok"
            except RedisError:
                checks["redis"] = "down"
        healthy = "down" not in checks.values()
        return JSONResponse(checks, status_code=200 if healthy else 503)

    @app.get("/api/threads/{thread_id}/replay", response_model=ReplayDocument, responses=REFUSALS)
    async def replay_thread(
        thread_id: uuid.UUID, user: Annotated[dict[str, Any], Depends(signed_in)]
    ) -> dict[str, Any]:
        """The thread's transcript and checkpoints: for its owner, or an admin of its tenant."""
        services = runtime.services()
        owner = await _replayable(thread_id, user)
        try:
            return (await replay(services.conversations, owner, str(thread_id))).document()
        except ReplayError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None

    @app.get(
        "/api/threads/{thread_id}/export",
        response_class=Response,
        responses={
            200: {
                "content": {"application/json": {}},
                "description": "The thread file (`travelhub replay import FILE` loads it).",
            },
            **REFUSALS,
        },
    )
    async def export_thread_file(
        thread_id: uuid.UUID, user: Annotated[dict[str, Any], Depends(signed_in)]
    ) -> Response:
        """The thread as one JSON file (transcript, checkpoints, tool records), to download:
        for its owner, or an admin of its tenant."""
        owner = await _replayable(thread_id, user)
        try:
            exported = await export_thread(
                runtime.services().conversations, owner.tenant_id, thread_id
            )
        except ThreadNotFound as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        return Response(
            exported.dumps(),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="thread-{thread_id}.json"'},
        )

    @app.get(
        "/api/bookings/{reference}/calendar.ics",
        response_class=Response,
        responses={
            200: {"content": {"text/calendar": {}}, "description": "The booking's events."},
            401: REFUSALS[401],
            404: {"model": Problem, "description": "No such booking of yours."},
        },
    )
    async def booking_calendar(
        reference: str, user: Annotated[dict[str, Any], Depends(signed_in)]
    ) -> Response:
        """The booking as an iCalendar file: a flight segment or a hotel stay per event."""
        services = runtime.services()
        account = await find_account(services.sessions, user["identifier"])
        if account is None:
            raise HTTPException(status_code=401, detail="Your session is invalid; sign in again.")
        try:
            body = await services.itineraries.calendar(reference, customer_of(account))
        except BookingNotFound as error:
            raise HTTPException(status_code=404, detail=error.message) from None
        name = "".join(char for char in normalise(reference) if char.isalnum())
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="trip-{name}.ics"'},
        )

    from web.replay_pages import replay_router  # it reads this module's authorization

    app.include_router(replay_router(chat_path=CHAT_PATH))
    if settings.signup:
        app.include_router(
            signup_router(chat_path=CHAT_PATH, tenant_slug=settings.default_tenant_slug)
        )

    app.include_router(password_router(chat_path=CHAT_PATH))
    if settings.metrics:  # its own access rule (web/scrape.py): SessionGuard leaves it open
        app.include_router(
            metrics_router(token=settings.metrics_token, trusted_proxies=settings.trusted_proxies)
        )
    app.include_router(admin_router(chat_path=CHAT_PATH))

    os.chdir(PROJECT_ROOT)  # Chainlit reads .chainlit/ and chainlit.md from here
    from chainlit.utils import mount_chainlit

    mount_chainlit(app=app, target=str(PROJECT_ROOT / "app.py"), path=CHAT_PATH)
    guard_chainlit(settings.allowed_origins)
    order_chainlit_socket()
    return app
