"""The closed vocabularies of the schema; each matches a CHECK constraint in the migrations."""

from __future__ import annotations

from enum import StrEnum


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class UserRole(StrEnum):
    USER = "user"
    ADMIN = "admin"


class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    DELETED = "deleted"


class MessageRole(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


class BookingStatus(StrEnum):
    PENDING = "pending"
    ORDERING = "ordering"
    CONFIRMED = "confirmed"
    NEEDS_REVIEW = "needs_review"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ItemType(StrEnum):
    FLIGHT = "flight"
    HOTEL = "hotel"


class Cabin(StrEnum):
    ECONOMY = "economy"
    PREMIUM_ECONOMY = "premium_economy"
    BUSINESS = "business"
    FIRST = "first"


class Board(StrEnum):
    ROOM_ONLY = "room_only"
    BREAKFAST = "breakfast"
    HALF_BOARD = "half_board"
    FULL_BOARD = "full_board"
    ALL_INCLUSIVE = "all_inclusive"


class EventType(StrEnum):
    USER_SIGNED_UP = "user_signed_up"
    USER_LOGGED_IN = "user_logged_in"
    SIGN_IN_LIMITED = "sign_in_limited"
    CONSENT_CHANGED = "consent_changed"
    SESSION_STARTED = "session_started"
    MESSAGE_SENT = "message_sent"
    TOOL_CALLED = "tool_called"
    TURN_COMPLETED = "turn_completed"
    SEARCH_PERFORMED = "search_performed"
    BOOKING_CREATED = "booking_created"
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_FAILED = "booking_failed"
    BOOKING_NEEDS_REVIEW = "booking_needs_review"
    FEEDBACK_GIVEN = "feedback_given"
    DATA_EXPORTED = "data_exported"
    USER_FORGOTTEN = "user_forgotten"


# CHECK constraint name -> the vocabulary it admits; a test holds the two in agreement.
CHECKED_VOCABULARIES: dict[str, type[StrEnum]] = {
    "ck_tenants_status": TenantStatus,
    "ck_users_role": UserRole,
    "ck_users_status": UserStatus,
    "ck_chat_sessions_status": SessionStatus,
    "ck_chat_messages_role": MessageRole,
    "ck_bookings_status": BookingStatus,
    "ck_booking_items_item_type": ItemType,
    "ck_flight_bookings_cabin": Cabin,
    "ck_hotel_bookings_board": Board,
    "ck_analytics_events_event_type": EventType,
}
