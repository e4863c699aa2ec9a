"""Amadeus Self-Service OAuth2: one shared access token, and the calls that carry it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from pydantic import Field, ValidationError

from tools.errors import ProviderError
from tools.providers.http import Clock, CredentialsRefused, QueryParams, ResilientClient
from tools.providers.vendor_json import VendorModel
from tools.providers.vendor_json import reason as _reason

log = logging.getLogger(__name__)

TOKEN_PATH = "/v1/security/oauth2/token"

ReplyT = TypeVar("ReplyT", bound=VendorModel)


class _TokenReply(VendorModel):
    access_token: str = Field(min_length=1)
    expires_in: int = Field(ge=1)
    state: str | None = None


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


class AmadeusSession:
    """Calls Amadeus with a valid OAuth2 token (client credentials), shared by every caller.

    The token is refreshed a little before it expires; a token refused mid-life (revoked, or
    expired early) is replaced once and the call repeated, which is safe even for an order:
    a refused request was not processed.
    """

    def __init__(
        self,
        *,
        http: ResilientClient,
        client_id: str,
        client_secret: str,
        token_refresh_margin: float,
        clock: Clock,
    ) -> None:
        self.http = http
        self._credentials = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._refresh_margin = token_refresh_margin
        self._clock = clock
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        repeatable: bool = True,
        about: str | None = None,
    ) -> object:
        """The JSON reply of an authenticated Amadeus call (see ResilientClient.request_json)."""
        for attempt in range(2):
            token = await self._access_token()
            try:
                return await self.http.request_json(
                    method,
                    path,
                    params=params,
                    json=json,
                    headers={**_auth(token), **(headers or {})},
                    repeatable=repeatable,
                    about=about,
                )
            except CredentialsRefused:
                if attempt:
                    raise
                # The token may have been revoked or have expired early: get a new one, once.
                self._forget(token)
        raise AssertionError("the second attempt returns or raises")  # pragma: no cover

    async def _access_token(self) -> str:
        """A valid OAuth2 token; concurrent callers share a single token request."""
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.value
        async with self._token_lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = self._token = await self._fetch_token()
            return token.value

    async def _fetch_token(self) -> _Token:
        started = self._clock()
        reply = read(
            _TokenReply,
            await self.http.request_json("POST", TOKEN_PATH, form=self._credentials),
        )
        if reply.state not in (None, "approved"):
            log.warning("Amadeus issued a token in state %r", reply.state)
            raise CredentialsRefused(
                "Amadeus did not approve the travel hub's credentials, so I cannot search there"
                " until an administrator fixes them."
            )
        # Refresh a little before the end, so no request leaves with a token about to expire.
        margin = min(self._refresh_margin, reply.expires_in / 2)
        log.info("Amadeus access token obtained, valid for %d s", reply.expires_in)
        return _Token(reply.access_token, started + reply.expires_in - margin)

    def _forget(self, token: str) -> None:
        if self._token is not None and self._token.value == token:
            self._token = None


def read(model: type[ReplyT], payload: object) -> ReplyT:
    """`payload` read as `model`, or a ProviderError saying Amadeus sent something unreadable."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        log.warning("Amadeus reply does not fit %s: %s", model.__name__, _reason(exc))
        raise ProviderError(
            "Amadeus sent a reply I could not read; please try again in a little while."
        ) from exc


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.amadeus+json"}
