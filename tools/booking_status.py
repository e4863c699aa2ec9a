"""The life of a booking, each step stored before the next vendor call:

pending -> ordering -> confirmed -> cancelled
   |           |-> failed -> needs_review (an order that turned up late and stayed open)
   |           '-> needs_review -> confirmed | failed
   '-> failed
"""

from __future__ import annotations

from db.models.enums import BookingStatus, EventType
from tools.errors import BookingError

ALLOWED: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.PENDING: frozenset({BookingStatus.ORDERING, BookingStatus.FAILED}),
    BookingStatus.ORDERING: frozenset(
        {BookingStatus.CONFIRMED, BookingStatus.FAILED, BookingStatus.NEEDS_REVIEW}
    ),
    BookingStatus.NEEDS_REVIEW: frozenset({BookingStatus.CONFIRMED, BookingStatus.FAILED}),
    BookingStatus.CONFIRMED: frozenset({BookingStatus.CANCELLED}),
    BookingStatus.CANCELLED: frozenset(),
    # An order that turned up after the booking failed, and its vendor would not cancel it.
    BookingStatus.FAILED: frozenset({BookingStatus.NEEDS_REVIEW}),
}
"""Mirrored by the `bookings_status_transition` trigger, so SQL cannot skip a step either."""

UNSETTLED = frozenset({BookingStatus.PENDING, BookingStatus.ORDERING})
"""Waiting for an outcome: the process making the booking, or the reconciler, settles them."""

EVENT_OF: dict[BookingStatus, EventType] = {
    BookingStatus.PENDING: EventType.BOOKING_CREATED,
    BookingStatus.CONFIRMED: EventType.BOOKING_CONFIRMED,
    BookingStatus.CANCELLED: EventType.BOOKING_CANCELLED,
    BookingStatus.FAILED: EventType.BOOKING_FAILED,
    BookingStatus.NEEDS_REVIEW: EventType.BOOKING_NEEDS_REVIEW,
}
"""The analytics event each status records (`ordering` is a step, not an outcome: none)."""

WORDS: dict[BookingStatus, str] = {
    BookingStatus.PENDING: "being booked",
    BookingStatus.ORDERING: "being booked",
    BookingStatus.CONFIRMED: "confirmed",
    BookingStatus.NEEDS_REVIEW: "being checked by our team",
    BookingStatus.CANCELLED: "cancelled",
    BookingStatus.FAILED: "failed",
}
"""How a traveller reads each status."""


def not_booked(reason: str) -> BookingError:
    """What a traveller is told of a booking that failed with nothing left at the vendor."""
    return BookingError(
        f"The booking did not go through ({reason.rstrip('.')}); nothing was booked and"
        " nothing charged. You can safely try again."
    )


def outcome_unknown(reason: str) -> BookingError:
    """What a traveller is told when the vendor may hold the order: never "nothing was
    booked", never an invitation to a retry that could book twice."""
    return BookingError(
        f"I could not confirm the booking ({reason.rstrip('.')}); it may have gone through"
        " with the provider. Please do not book again yet: our team will check it and contact"
        " you."
    )


class InvalidTransition(ValueError):
    """A status change the life cycle does not allow (a bug, not a traveller's mistake)."""


def check_transition(current: BookingStatus, target: BookingStatus) -> None:
    """Raise InvalidTransition unless `current -> target` is a step of the life cycle."""
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"A {current.value} booking cannot become {target.value}.")
