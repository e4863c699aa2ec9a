"""A local OpenAI-compatible server for tests: scripted streamed replies, requests recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = dict[str, Any]
"""{"tool_call": {"name": ..., "arguments": {...}}} or {"content": "..."}"""


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _stream(reply: Reply) -> Iterator[bytes]:
    if "tool_call" in reply:
        call = reply["tool_call"]
        arguments = json.dumps(call["arguments"])
        yield _chunk({"role": "assistant", "content": None, "tool_calls": [
            {"index": 0, "id": call.get("id", "call_1"), "type": "function",
             "function": {"name": call["name"], "arguments": ""}}]})  # fmt: skip
        for start in range(0, len(arguments), 16):  # arguments arrive in pieces
            piece = arguments[start : start + 16]
            yield _chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield _chunk({}, "tool_calls")
    else:
        yield _chunk({"role": "assistant", "content": ""})
        for word in reply["content"].split(" "):
            yield _chunk({"content": word + " "})
        yield _chunk({}, "stop")
    usage = {"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127}
    yield f"data: {json.dumps({'id': 'chatcmpl-test', 'object': 'chat.completion.chunk', 'created': 0, 'model': 'test-model', 'choices': [], 'usage': usage})}\n\n".encode()  # noqa: E501
    yield b"data: [DONE]\n\n"


class OpenAICompatible:
    """Answers /v1/chat/completions with the scripted replies, in order."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                request = json.loads(self.rfile.read(length))
                request["_authorization"] = self.headers.get("Authorization")
                server.requests.append(request)
                reply = server.replies.pop(0) if server.replies else {"content": "(no script)"}
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for piece in _stream(reply):
                    self.wfile.write(piece)
                    self.wfile.flush()

            def log_message(self, *args: Any) -> None:
                del args

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    @contextmanager
    def running(self) -> Iterator[OpenAICompatible]:
        thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._http.shutdown()
            self._http.server_close()
