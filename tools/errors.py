"""Domain errors of travel search and booking; each message is one sentence for the traveller."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.offers import Offer


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


class BookingError(TravelError):
    """A booking or cancellation that cannot go ahead; nothing was changed."""


class OfferExpired(BookingError):
    """The offer's validity ran out before it was booked."""


class OfferUnavailable(BookingError):
    """The provider no longer sells the offer (sold out, withdrawn)."""


class PriceChanged(BookingError):
    """The offer's price moved since the traveller saw it; `current` is the offer as the
    provider sells it now, for the traveller to book at the new price if they wish."""

    def __init__(self, message: str, *, old: str, new: str, current: Offer | None = None) -> None:
        super().__init__(message)
        self.old = old
        self.new = new
        self.current = current


class BookingNotFound(BookingError):
    """No booking with that reference that this person may see."""


class IdempotencyConflict(BookingError):
    """An idempotency key re-used for a different booking request."""


class CannotCancel(BookingError):
    """The booking is in a state that cannot be cancelled."""
