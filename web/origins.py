"""Which web pages may call the chat: the app's own, and those TRAVELHUB_ALLOWED_ORIGINS lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from agent.settings import web_origin

# A socket's scope says ws/wss; the page that opened it was served over http/https.
PAGE_SCHEME = {"ws": "http", "wss": "https"}


def own_origin(scope: Mapping[str, Any]) -> str | None:
    """The origin of a page this app served, as a request to it shows: its scheme (uvicorn
    takes X-Forwarded-Proto from a trusted proxy) and its Host header."""
    host = next((value for name, value in scope.get("headers", []) if name == b"host"), None)
    if host is None:
        return None
    scheme = scope.get("scheme", "http")
    try:
        return web_origin(f"{PAGE_SCHEME.get(scheme, scheme)}://{host.decode('latin-1')}")
    except ValueError:
        return None


class AllowedOrigins:
    """Engine.IO's origin check for the chat socket: the app's own origin or a listed one.
    (Chainlit builds its server with `cors_allowed_origins=[]`, which checks nothing.)"""

    def __init__(self, listed: Iterable[str]) -> None:
        self.listed = frozenset(listed)

    def __call__(self, origin: str | None, environ: MutableMapping[str, Any]) -> bool:
        if origin is None:
            return False
        return origin.lower() in self.listed or origin.lower() == own_origin(environ["asgi.scope"])


def guard_chainlit(listed: Iterable[str]) -> None:
    """Chainlit's CORS answers and its socket admit the listed origins and the app's own only.

    Its CORS middleware holds `config.project.allow_origins` itself, so the list is changed in
    place and the middleware rebuilt at the next request; `.chainlit/config.toml` keeps none."""
    from chainlit.config import config
    from chainlit.server import app, sio

    origins = list(listed)
    config.project.allow_origins[:] = origins
    sio.eio.cors_allowed_origins = AllowedOrigins(origins)
    app.middleware_stack = None
