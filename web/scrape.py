"""The /metrics scrape endpoint, and who may read it: a scraper on this machine, or one that
presents TRAVELHUB_METRICS_TOKEN as a bearer token; anyone else is refused in one sentence."""

from __future__ import annotations

import hmac
from ipaddress import ip_address, ip_network

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import SecretStr

from ops.live import exposition
from web.client_address import SOCKET_PEER

METRICS_PATH = "/metrics"
WRONG_TOKEN = "That metrics token is not the one this server was given."
NEEDS_TOKEN = "Metrics are served to this machine, or with the metrics token as a bearer token."
LOCAL_ONLY = "Metrics are served to this machine only (set TRAVELHUB_METRICS_TOKEN to share)."
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ip_address(address).is_loopback
    except ValueError:
        return False


def _trusted(address: str | None, trusted_proxies: str) -> bool:
    if address is None:
        return False
    try:
        peer = ip_address(address)
    except ValueError:
        return False
    parts = filter(None, (part.strip() for part in trusted_proxies.split(",")))
    return any(peer in ip_network(part, strict=False) for part in parts)


def from_this_machine(request: Request, *, trusted_proxies: str) -> bool:
    """Whether the request comes from loopback. A forwarded request counts only if a trusted
    proxy sent it and its X-Forwarded-For names a loopback client: a proxy on this machine
    forwards the whole internet from 127.0.0.1."""
    peer = request.scope.get(SOCKET_PEER)
    if not any(name in request.headers for name in FORWARDING_HEADERS):
        return _loopback(peer)
    if "x-forwarded-for" not in request.headers or not _trusted(peer, trusted_proxies):
        return False
    # uvicorn's ProxyHeadersMiddleware has put the forwarded client in its place.
    return _loopback(request.client.host if request.client else None)


def refusal(request: Request, *, token: SecretStr | None, trusted_proxies: str) -> Response | None:
    """Why `request` may not read the metrics (401/403 and one sentence), or None: it may."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and presented.strip():
        expected = token.get_secret_value() if token is not None else ""
        if expected and hmac.compare_digest(presented.strip().encode(), expected.encode()):
            return None
        return JSONResponse({"detail": WRONG_TOKEN}, status_code=401, headers=_challenge())
    if from_this_machine(request, trusted_proxies=trusted_proxies):
        return None
    if token is None:
        return JSONResponse({"detail": LOCAL_ONLY}, status_code=403)
    return JSONResponse({"detail": NEEDS_TOKEN}, status_code=401, headers=_challenge())


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="metrics"'}


def metrics_router(*, token: SecretStr | None, trusted_proxies: str) -> APIRouter:
    """The scrape endpoint (outside the OpenAPI document: it is for Prometheus, not people)."""
    router = APIRouter()

    @router.get(METRICS_PATH, include_in_schema=False)
    async def metrics(request: Request) -> Response:
        refused = refusal(request, token=token, trusted_proxies=trusted_proxies)
        if refused is not None:
            return refused
        body, content_type = exposition(request.headers.get("accept", ""))
        return Response(body, media_type=content_type)

    return router
