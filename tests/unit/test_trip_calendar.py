"""A booking's calendar file, read back with the iCalendar library: one event per flight
segment and per hotel stay, at local times in the right time zones, with stable UIDs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from icalendar import Calendar, Event

from db.models.enums import BookingStatus
from tests.unit.trips import (
    LONDON,
    MADRID,
    NEW_YORK,
    PIPE_HOTEL,
    booked_flight,
    booked_hotel,
    booking,
)
from tools.places import gazetteer
from tools.trip_calendar import BookedItem, trip_calendar

FLIGHT_ITEM = uuid.UUID("01900000-0000-7000-8000-00000000000a")
HOTEL_ITEM = uuid.UUID("01900000-0000-7000-8000-00000000000b")


def exported(status: BookingStatus = BookingStatus.CONFIRMED, city: str = "New York") -> Calendar:
    items = [
        BookedItem(FLIGHT_ITEM, flight=booked_flight()),
        BookedItem(HOTEL_ITEM, hotel=booked_hotel(city=city)),
    ]
    return Calendar.from_ical(trip_calendar(booking(status), items, gazetteer()))


def events(calendar: Calendar) -> list[Event]:
    return list(calendar.walk("VEVENT"))


def test_each_segment_and_stay_is_an_event_at_local_times_in_its_zone() -> None:
    calendar = exported()
    calendar.validate()  # the library's own check of required properties and components
    flights = [e for e in events(calendar) if str(e["SUMMARY"]).startswith("Flight")]
    hotels = [e for e in events(calendar) if str(e["SUMMARY"]).startswith("Hotel")]
    assert [str(e["SUMMARY"]) for e in flights] == [
        "Flight BA117 LHR → JFK", "Flight IB6250 JFK → MAD", "Flight IB3166 MAD → LHR",
    ]  # fmt: skip
    assert [(e["DTSTART"].params["TZID"], e["DTEND"].params["TZID"]) for e in flights] == [
        ("Europe/London", "America/New_York"),
        ("America/New_York", "Europe/Madrid"),
        ("Europe/Madrid", "Europe/London"),
    ]
    assert [(e.start, e.end) for e in flights] == [
        (datetime(2027, 1, 15, 8, 20, tzinfo=LONDON),
         datetime(2027, 1, 15, 11, 20, tzinfo=NEW_YORK)),
        (datetime(2027, 1, 20, 18, 0, tzinfo=NEW_YORK),
         datetime(2027, 1, 21, 7, 30, tzinfo=MADRID)),
        (datetime(2027, 1, 21, 9, 0, tzinfo=MADRID),
         datetime(2027, 1, 21, 10, 20, tzinfo=LONDON)),
    ]  # fmt: skip
    assert "DTSTART;TZID=Europe/London:20270115T082000" in calendar.to_ical().decode()
    (stay,) = hotels
    assert str(stay["SUMMARY"]) == f"Hotel: {PIPE_HOTEL}"
    assert stay["DTSTART"].params["TZID"] == "America/New_York"
    assert (stay.start, stay.end) == (
        datetime(2027, 1, 15, 15, 0, tzinfo=NEW_YORK), datetime(2027, 1, 20, 11, 0, tzinfo=NEW_YORK)
    )  # fmt: skip
    zones = {str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")}
    assert zones == {"Europe/London", "America/New_York", "Europe/Madrid"}
    assert all(str(e["STATUS"]) == "CONFIRMED" for e in events(calendar))


def test_uids_are_stable_per_booking_item_and_distinct_per_event() -> None:
    first, again = exported(), exported()
    uids = [str(e["UID"]) for e in events(first)]
    assert uids == [str(e["UID"]) for e in events(again)]
    assert len(set(uids)) == 4
    assert uids[:3] == [f"{FLIGHT_ITEM}-{n}@globaltravelhub" for n in range(3)]
    assert uids[3] == f"{HOTEL_ITEM}@globaltravelhub"
    stay = [BookedItem(HOTEL_ITEM, hotel=booked_hotel())]
    # The same booking, byte for byte the same file.
    places = gazetteer()
    assert trip_calendar(booking(), stay, places) == trip_calendar(booking(), stay, places)


def test_a_cancelled_booking_marks_its_events_cancelled() -> None:
    assert {str(e["STATUS"]) for e in events(exported(BookingStatus.CANCELLED))} == {"CANCELLED"}


def test_a_stay_in_a_city_without_a_known_zone_spans_whole_days() -> None:
    stay = [e for e in events(exported(city="Qwxzyville")) if str(e["SUMMARY"]).startswith("Hotel")]
    assert (stay[0].start, stay[0].end) == (date(2027, 1, 15), date(2027, 1, 20))
    assert "TZID" not in stay[0]["DTSTART"].params


def test_an_airport_we_do_not_know_is_named_by_its_code_in_utc() -> None:
    flight = booked_flight()
    flight.segments[0]["segments"][0]["destination"] = "XQZ"  # a vendor's own code
    calendar = Calendar.from_ical(
        trip_calendar(booking(), [BookedItem(FLIGHT_ITEM, flight=flight)], gazetteer())
    )
    first = events(calendar)[0]
    assert str(first["SUMMARY"]) == "Flight BA117 LHR → XQZ"
    assert first.end == datetime(2027, 1, 15, 16, 20, tzinfo=UTC)  # 11:20 in New York
