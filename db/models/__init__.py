"""SQLModel table models mirroring the migrated schema (a test holds them in agreement)."""

from sqlmodel import SQLModel

from db.models.analytics import AnalyticsEvent
from db.models.booking import Booking, BookingItem, FlightBooking, HotelBooking
from db.models.cache import FlightSearchCache, HotelSearchCache
from db.models.chat import ChatMessage, ChatSession
from db.models.identity import OAuthAccount, User, UserCreate, UserPublic, UserSession
from db.models.sign_in import SignInFailure
from db.models.tenant import Tenant

metadata = SQLModel.metadata

# Tables whose rows belong to one tenant: row-level security guards each of them.
TENANT_SCOPED_TABLES = (
    "users",
    "oauth_accounts",
    "chat_sessions",
    "chat_messages",
    "bookings",
    "booking_items",
    "flight_bookings",
    "hotel_bookings",
    "analytics_events",
    "user_sessions",
)
PARTITIONED_TABLES = ("chat_messages", "analytics_events")

__all__ = [
    "PARTITIONED_TABLES",
    "TENANT_SCOPED_TABLES",
    "AnalyticsEvent",
    "Booking",
    "BookingItem",
    "ChatMessage",
    "ChatSession",
    "FlightBooking",
    "FlightSearchCache",
    "HotelBooking",
    "HotelSearchCache",
    "OAuthAccount",
    "SignInFailure",
    "Tenant",
    "User",
    "UserCreate",
    "UserPublic",
    "UserSession",
    "metadata",
]
