"""A local stand-in for api.duffel.com that answers flight searches as badly as the test asks."""

from __future__ import annotations

import threading
from enum import StrEnum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Duffel's own published example (MIT, licence beside it), as the unit tests use it.
OFFER_REQUEST = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "providers"
    / "duffel"
    / "python"
    / "create-offer-request.json"
).read_bytes()


class Mode(StrEnum):
    OK = "ok"
    DOWN = "down"
    """HTTP 503 with Duffel's error body."""
    BUSY = "busy"
    """HTTP 429, Retry-After: 0."""
    BUSY_FOR_LONG = "busy-for-long"
    """HTTP 429, Retry-After: 120 (longer than anyone should wait in a chat)."""
    GARBAGE = "garbage"
    """HTTP 200 whose body is not JSON."""
    SILENT = "silent"
    """No answer until the test ends (the client's timeout has to act)."""


class DuffelStub:
    """`POST /air/offer_requests` answered according to `mode`; every request is counted."""

    def __init__(self) -> None:
        self.mode = Mode.OK
        self.searches = 0
        self._ending = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.searches += 1
                stub.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                del format, args  # quiet: the test reports what matters

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._ending.set()  # frees the handlers kept silent
        self._server.shutdown()
        self._server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        mode = self.mode
        if mode is Mode.SILENT:
            self._ending.wait(60)
            return
        status, body, headers = {
            Mode.OK: (HTTPStatus.CREATED, OFFER_REQUEST, {}),
            Mode.DOWN: (HTTPStatus.SERVICE_UNAVAILABLE, _error("service_unavailable"), {}),
            Mode.BUSY: (HTTPStatus.TOO_MANY_REQUESTS, _error("rate_limit_exceeded"),
                        {"Retry-After": "0"}),
            Mode.BUSY_FOR_LONG: (HTTPStatus.TOO_MANY_REQUESTS, _error("rate_limit_exceeded"),
                                 {"Retry-After": "120"}),
            Mode.GARBAGE: (HTTPStatus.OK, b"<html>Bad gateway</html>", {}),
        }[mode]  # fmt: skip
        handler.send_response(status)
        content_type = "text/html" if mode is Mode.GARBAGE else "application/json"
        for name, value in {"Content-Type": content_type, **headers}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def _error(code: str) -> bytes:
    return (
        b'{"errors": [{"type": "api_error", "title": "Duffel is unwell", "code": "'
        + code.encode()
        + b'", "message": "Try again later."}], "meta": {"request_id": "stub"}}'
    )
