"""Domain errors of travel search and booking; each message is one sentence for the traveller."""

from __future__ import annotations


class TravelError(Exception):
    """Base of every error a traveller may be told about."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidSearch(TravelError):
    """The search cannot be run as asked (unknown place, impossible dates, bad party size)."""

    def __init__(self, message: str, *, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions = suggestions or []


class ProviderError(TravelError):
    """The travel provider failed or refused, after the retries it deserved."""


class ProviderUnavailable(ProviderError):
    """The provider is down or its circuit is open: try again in a little while."""
