"""The client address of each web request, for what Chainlit calls without the request (the
password sign-in callback, whose attempts are limited per address)."""

from __future__ import annotations

from contextvars import ContextVar

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

CLIENT_ADDRESS: ContextVar[str | None] = ContextVar("client_address", default=None)


class ClientAddressMiddleware:
    """Keeps the request's client address in `CLIENT_ADDRESS` while it is served: the socket's
    peer, or, behind a trusted proxy (TRAVELHUB_TRUSTED_PROXIES), what uvicorn's
    ProxyHeadersMiddleware, placed outside this one, read from X-Forwarded-For."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        marker = CLIENT_ADDRESS.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            CLIENT_ADDRESS.reset(marker)


class SocketPeerMiddleware:
    """Keeps the socket's peer in the scope (`SOCKET_PEER`) before a trusted proxy's
    X-Forwarded-For replaces the client: /metrics must know who actually connected."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            scope[SOCKET_PEER] = client[0] if client else None
        await self.app(scope, receive, send)


SOCKET_PEER = "travelhub.socket_peer"


def client_address() -> str | None:
    """The address of the client whose request is being served (None: not known)."""
    return CLIENT_ADDRESS.get()


def keep_client_address(app: FastAPI, *, trusted_proxies: str) -> None:
    """Keep each request's client address for `client_address()`; X-Forwarded-For is believed
    only from `trusted_proxies` (comma-separated addresses or networks; empty: from none)."""
    app.add_middleware(ClientAddressMiddleware)
    if trusted_proxies.strip():
        # Added last, so it runs first: the client kept is the one the proxy names.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)
    app.add_middleware(SocketPeerMiddleware)  # outermost: the peer before any rewriting
