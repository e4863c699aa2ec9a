"""The double-submit CSRF token of the server-rendered forms: one random token in a strict,
HTTP-only cookie scoped to the form's path and again in a hidden field. A cross-site form
cannot read the cookie to copy it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request, Response


@dataclass(frozen=True)
class FormToken:
    """The token of the forms under `path`, kept in the cookie `cookie`."""

    cookie: str
    path: str

    def current(self, request: Request) -> str:
        """The request's token, or a new one for a browser that has none yet."""
        return request.cookies.get(self.cookie) or secrets.token_urlsafe(32)

    def keep(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(
            self.cookie, token, path=self.path, httponly=True, samesite="strict",
            secure=request.url.scheme == "https",
        )  # fmt: skip

    def matches(self, request: Request, submitted: str) -> bool:
        """Whether the form sent back the cookie's token (compared in constant time)."""
        expected = request.cookies.get(self.cookie, "")
        return bool(expected) and secrets.compare_digest(expected.encode(), submitted.encode())

    def forget(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.path)
