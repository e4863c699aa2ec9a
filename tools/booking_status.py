"""The life of a booking: pending -> confirmed -> cancelled, or pending -> failed."""

from __future__ import annotations

from db.models.enums import BookingStatus, EventType

ALLOWED: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.PENDING: frozenset({BookingStatus.CONFIRMED, BookingStatus.FAILED}),
    BookingStatus.CONFIRMED: frozenset({BookingStatus.CANCELLED}),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.FAILED: frozenset(),
}
"""Mirrored by the `bookings_status_transition` trigger, so SQL cannot skip a step either."""

EVENT_OF: dict[BookingStatus, EventType] = {
    BookingStatus.PENDING: EventType.BOOKING_CREATED,
    BookingStatus.CONFIRMED: EventType.BOOKING_CONFIRMED,
    BookingStatus.CANCELLED: EventType.BOOKING_CANCELLED,
    BookingStatus.FAILED: EventType.BOOKING_FAILED,
}


class InvalidTransition(ValueError):
    """A status change the life cycle does not allow (a bug, not a traveller's mistake)."""


def check_transition(current: BookingStatus, target: BookingStatus) -> None:
    """Raise InvalidTransition unless `current -> target` is a step of the life cycle."""
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"A {current.value} booking cannot become {target.value}.")
