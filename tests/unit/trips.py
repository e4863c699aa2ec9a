"""A trip to build cards and calendar files from: London to New York and back (with a
connection in Madrid), and hotels whose names hold what Markdown would take for markup."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from db.models import Booking, FlightBooking, HotelBooking
from db.models.enums import Board, BookingStatus, Cabin
from tools.booking import flight_row, hotel_row
from tools.offers import FareConditions, FlightOffer, HotelOffer, Journey, Segment

TENANT = uuid.UUID("01900000-0000-7000-8000-000000000001")
LONDON, NEW_YORK, MADRID = (
    ZoneInfo("Europe/London"), ZoneInfo("America/New_York"), ZoneInfo("Europe/Madrid")
)  # fmt: skip
BOOKING = uuid.UUID("01900000-0000-7000-8000-000000000002")
EXPIRES = datetime(2027, 1, 1, tzinfo=UTC)
PIPE_HOTEL = "The Pipe | Bar Hotel"


def segment(
    number: str, origin: str, leaves: datetime, destination: str, lands: datetime
) -> Segment:
    minutes = int((lands - leaves).total_seconds() // 60)
    return Segment(carrier_code=number[:2], carrier_name="Iberia" if number.startswith("IB")
                   else "British Airways", flight_number=number, origin=origin,
                   destination=destination, departure=leaves, arrival=lands,
                   duration_minutes=minutes)  # fmt: skip


def journey(*segments: Segment) -> Journey:
    minutes = int((segments[-1].arrival - segments[0].departure).total_seconds() // 60)
    return Journey(segments=segments, duration_minutes=minutes)


def flight_offer(price: str = "812.40") -> FlightOffer:
    out = journey(
        segment(
            "BA117",
            "LHR",
            datetime(2027, 1, 15, 8, 20, tzinfo=LONDON),
            "JFK",
            datetime(2027, 1, 15, 11, 20, tzinfo=NEW_YORK),
        )
    )
    back = journey(
        segment("IB6250", "JFK", datetime(2027, 1, 20, 18, 0, tzinfo=NEW_YORK),
                "MAD", datetime(2027, 1, 21, 7, 30, tzinfo=MADRID)),
        segment("IB3166", "MAD", datetime(2027, 1, 21, 9, 0, tzinfo=MADRID),
                "LHR", datetime(2027, 1, 21, 10, 20, tzinfo=LONDON)),
    )  # fmt: skip
    return FlightOffer(
        id=f"off_{price}", provider="offline", journeys=(out, back), cabin=Cabin.ECONOMY,
        passengers=1, total_price=Decimal(price), currency="EUR", seats_left=4,
        conditions=FareConditions(refundable=True, change_fee=Decimal("50.00"),
                                  cancellation_fee=Decimal("75.00")),
        expires_at=EXPIRES,
    )  # fmt: skip


def hotel_offer(name: str = PIPE_HOTEL, city: str = "New York") -> HotelOffer:
    return HotelOffer(
        id=f"hot_{name}", provider="offline", hotel_id="NYC-1", name=name, stars=4,
        address="1 Broadway", city=city, distance_km=1.5, room_type="Double room",
        board=Board.BREAKFAST, check_in=date(2027, 1, 15), check_out=date(2027, 1, 20),
        rooms=1, guests=1, nightly_price=Decimal("150.00"), total_price=Decimal("750.00"),
        currency="EUR", free_cancellation_until=datetime(2027, 1, 13, 18, 0, tzinfo=NEW_YORK),
        expires_at=EXPIRES,
    )  # fmt: skip


def booking(status: BookingStatus = BookingStatus.CONFIRMED) -> Booking:
    return Booking(id=BOOKING, tenant_id=TENANT, booking_reference="KQ7M2X", status=status,
                   total_amount=Decimal("1562.40"), currency="EUR",
                   created_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # fmt: skip


def booked_flight() -> FlightBooking:
    return flight_row(TENANT, flight_offer())


def booked_hotel(name: str = PIPE_HOTEL, city: str = "New York") -> HotelBooking:
    return hotel_row(TENANT, hotel_offer(name, city))
