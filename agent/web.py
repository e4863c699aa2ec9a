"""The web app: Chainlit mounted on FastAPI, beside a health check and the replay API."""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from redis.exceptions import RedisError
from sqlalchemy import text

from agent import runtime
from agent.accounts import find_traveller
from agent.bootstrap import build_services
from agent.replay import ReplayError, replay
from agent.settings import Settings

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHAT_PATH = "/chat"


def ensure_auth_secret(settings: Settings) -> None:
    """Chainlit signs sessions with CHAINLIT_AUTH_SECRET; development keeps one on disk."""
    if os.environ.get("CHAINLIT_AUTH_SECRET"):
        return
    path = Path(settings.data_dir) / "auth_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    os.environ["CHAINLIT_AUTH_SECRET"] = path.read_text().strip()


async def signed_in(request: Request) -> dict[str, Any]:
    """The signed-in user of a request (Chainlit's session token), else 401."""
    from chainlit.auth import get_token_from_cookies
    from chainlit.auth.jwt import decode_jwt

    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() or get_token_from_cookies(dict(request.cookies))
    if not token:
        raise HTTPException(status_code=401, detail="Sign in first.")
    try:
        user = decode_jwt(token)
    except Exception:
        raise HTTPException(
            status_code=401, detail="Your session is invalid; sign in again."
        ) from None
    return {"identifier": user.identifier, **user.metadata}


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

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(CHAT_PATH)

    @app.get("/healthz")
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

    @app.get("/api/threads/{thread_id}/replay")
    async def replay_thread(
        thread_id: uuid.UUID, user: Annotated[dict[str, Any], Depends(signed_in)]
    ) -> dict[str, Any]:
        """The thread's transcript and checkpoints: for its owner, or an admin of its tenant."""
        services = runtime.services()
        async with services.sessions() as session:
            connection = await session.connection()
            author = (
                await connection.execute(text("SELECT thread_author(:t)"), {"t": thread_id})
            ).scalar()
        if author is None:
            raise HTTPException(status_code=404, detail="There is no such conversation.")
        owner = await find_traveller(services.sessions, author)
        if owner is None:
            raise HTTPException(status_code=404, detail="There is no such conversation.")
        is_owner = author == user["identifier"]
        is_admin = user.get("role") == "admin" and user.get("tenant_id") == str(owner.tenant_id)
        if not (is_owner or is_admin):
            raise HTTPException(status_code=403, detail="That conversation is not yours.")
        try:
            return (await replay(services.conversations, owner, str(thread_id))).document()
        except ReplayError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None

    os.chdir(PROJECT_ROOT)  # Chainlit reads .chainlit/ and chainlit.md from here
    from chainlit.utils import mount_chainlit

    mount_chainlit(app=app, target=str(PROJECT_ROOT / "app.py"), path=CHAT_PATH)
    return app
