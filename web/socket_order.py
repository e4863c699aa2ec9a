"""A chat message waits until its socket's connection is set up: the browser sends a message
typed while it reconnected before `connection_successful`, and on an instance new to the chat
(the one a balancer fails over to) it would otherwise run before the thread is resumed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

SET_UP_WAIT_SECONDS = 10.0
"""How long a message waits for its connection's set-up (the browser sends it at once)."""

Handler = Callable[..., Awaitable[Any]]


class SetUpFirst:
    """Chainlit's `connection_successful` resumes the thread (or starts the chat) and its
    `client_message` runs the turn; python-socketio runs each event in a task of its own, so
    without this a message sent first is answered by a session that has no thread state yet:
    refused as if the traveller had not consented, the thread renamed after it and its chat
    settings reset to the defaults, then wiped from the page by the resume."""

    def __init__(self) -> None:
        self._set_up: dict[str, asyncio.Event] = {}

    def _event(self, sid: str) -> asyncio.Event:
        return self._set_up.setdefault(sid, asyncio.Event())

    def connection_successful(self, original: Handler) -> Handler:
        async def handler(sid: str) -> Any:
            try:
                return await original(sid)
            finally:
                self._event(sid).set()

        return handler

    def client_message(self, original: Handler) -> Handler:
        async def handler(sid: str, payload: Any) -> Any:
            # A client that never sets its connection up still gets its answer, later.
            with suppress(TimeoutError):
                await asyncio.wait_for(self._event(sid).wait(), SET_UP_WAIT_SECONDS)
            return await original(sid, payload)

        return handler

    def disconnect(self, original: Handler) -> Handler:
        async def handler(sid: str, *_reason: Any) -> Any:
            self._set_up.pop(sid, None)
            return await original(sid)

        return handler


def order_chainlit_socket() -> None:
    """Wrap Chainlit's socket handlers once per process (its server is a process-wide one)."""
    from chainlit.server import sio

    if getattr(sio, "_travelhub_set_up_first", False):
        return
    order = SetUpFirst()
    handlers: dict[str, Handler] = sio.handlers["/"]
    for event in ("connection_successful", "client_message", "disconnect"):
        sio.on(event, getattr(order, event)(handlers[event]))
    setattr(sio, "_travelhub_set_up_first", True)  # noqa: B010  (a flag on a foreign object)
