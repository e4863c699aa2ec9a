"""A booking as an iCalendar file (RFC 5545) to add to a calendar: one event per flight
segment and per hotel stay, each in the local time of where it happens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from icalendar.enums import STATUS

from db.models import Booking, FlightBooking, HotelBooking
from db.models.enums import BookingStatus
from tools.errors import InvalidSearch
from tools.places import Gazetteer

CHECK_IN = time(15, 0)
CHECK_OUT = time(11, 0)
UID_DOMAIN = "globaltravelhub"
PRODID = "-//Global Travel Hub//Itinerary//EN"


@dataclass(frozen=True)
class BookedItem:
    """One item of a booking with the row it points at (exactly one of the two)."""

    item_id: uuid.UUID
    flight: FlightBooking | None = None
    hotel: HotelBooking | None = None


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


@dataclass(frozen=True)
class _Stop:
    """Where a flight segment starts or ends, as the calendar names it."""

    code: str
    name: str
    city: str
    zone: ZoneInfo


def _stop(code: str, places: Gazetteer) -> _Stop:
    """The airport; one we do not know (a vendor's own) is given by its code, in UTC."""
    try:
        airport = places.airport(code)
    except InvalidSearch:
        return _Stop(code, code, code, ZoneInfo("UTC"))
    return _Stop(airport.code, airport.name, airport.city, airport.zone)


def _flight_events(
    reference: str, item: uuid.UUID, flight: FlightBooking, places: Gazetteer
) -> list[Event]:
    events: list[Event] = []
    number = 0
    for journey in flight.segments:
        for segment in journey["segments"]:
            origin = _stop(segment["origin"], places)
            destination = _stop(segment["destination"], places)
            events.append(
                Event.new(
                    # The item's id and the segment's place in it: the same flight keeps its
                    # UID in every export, so calendars update it instead of adding a copy.
                    uid=f"{item}-{number}@{UID_DOMAIN}",
                    summary=(
                        f"Flight {segment['flight_number']} {origin.code} → {destination.code}"
                    ),
                    start=_local(datetime.fromisoformat(segment["departure"]), origin.zone),
                    end=_local(datetime.fromisoformat(segment["arrival"]), destination.zone),
                    location=f"{origin.name} ({origin.code})",
                    description=(
                        f"Booking {reference}: {segment['carrier_name']}"
                        f" {segment['flight_number']}, {origin.city} to {destination.city},"
                        f" {flight.cabin.value.replace('_', ' ')},"
                        f" {flight.passengers} passenger(s). Times are local."
                    ),
                )
            )
            number += 1
    return events


def _hotel_zone(hotel: HotelBooking, places: Gazetteer) -> ZoneInfo | None:
    try:
        return places.resolve(hotel.city).airports[0].zone
    except InvalidSearch:
        return None  # a city we cannot place: the stay is given as whole days


def _hotel_event(reference: str, item: uuid.UUID, hotel: HotelBooking, places: Gazetteer) -> Event:
    zone = _hotel_zone(hotel, places)
    start: date | datetime = hotel.check_in
    end: date | datetime = hotel.check_out
    if zone is not None:
        start = datetime.combine(hotel.check_in, CHECK_IN, zone)
        end = datetime.combine(hotel.check_out, CHECK_OUT, zone)
    nights = (hotel.check_out - hotel.check_in).days
    return Event.new(
        uid=f"{item}@{UID_DOMAIN}",
        summary=f"Hotel: {hotel.hotel_name}",
        start=start,
        end=end,
        location=", ".join(part for part in (hotel.hotel_name, hotel.address, hotel.city) if part),
        description=(
            f"Booking {reference}: {nights} night(s), {hotel.room_type or 'room'},"
            f" {(hotel.board or 'room only').replace('_', ' ')}, {hotel.guests} guest(s)."
        ),
    )


def trip_calendar(booking: Booking, items: Sequence[BookedItem], places: Gazetteer) -> bytes:
    """The booking's calendar file: its time zones included, cancelled events marked so."""
    reference = booking.booking_reference
    events: list[Event] = []
    for item in items:
        if item.flight is not None:
            events.extend(_flight_events(reference, item.item_id, item.flight, places))
        elif item.hotel is not None:
            events.append(_hotel_event(reference, item.item_id, item.hotel, places))
    # DTSTAMP is when the booking was made, so that the same booking gives the same file.
    stamp = booking.created_at or datetime.now().astimezone()
    status = STATUS.CANCELLED if booking.status == BookingStatus.CANCELLED else STATUS.CONFIRMED
    for event in events:
        event.DTSTAMP = stamp
        event.status = status
    calendar = Calendar.new(
        prodid=PRODID,
        uid=f"{booking.id}@{UID_DOMAIN}",
        name=f"Trip {reference}",
        subcomponents=events,
        method="PUBLISH",
    )
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
