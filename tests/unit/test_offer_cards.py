"""What the offer cards show, built from the offers a search found: times at their airports,
stops, duration, carrier, price, fare terms and the words the Book button says; and a "|"
in a hotel's name that breaks no table anywhere."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from markdown_it import MarkdownIt

from db.models.enums import BookingStatus
from tests.unit.trips import PIPE_HOTEL, flight_offer, hotel_offer
from tools.itinerary import BookingSummary, ItineraryItem
from tools.rendering import bookings_table, hotel_list
from web.offer_cards import chosen, itinerary_card, offer_cards


def results(kind: str, *offers: object) -> dict[str, object]:
    return {"kind": kind, "offers": [o.model_dump(mode="json") for o in offers]}  # type: ignore[attr-defined]


def test_a_flight_card_shows_each_journey_at_its_airports_and_the_fare() -> None:
    [(name, props)] = offer_cards(results("flights", flight_offer()), "reply-1")
    assert name == "FlightOffer"
    out, back = props["journeys"]
    assert out["departs"] == {"code": "LHR", "time": "08:20", "date": "Fri 15 Jan"}
    assert out["arrives"]["code"] == "JFK"
    assert out["arrives"]["time"] == "11:20"  # New York's clock, not London's
    assert (out["stops"], out["duration"], out["days_later"]) == ("Direct", "8h 00m", 0)
    assert back["stops"] == "1 stop via MAD"
    assert back["days_later"] == 1
    assert back["flights"] == "IB6250 IB3166"
    assert props["carriers"] == "British Airways, Iberia"
    assert props["price"] == "€812.40"  # tools.money, en_GB
    assert props["terms"] == ["Refundable (fee €75.00)", "Changes for €50.00"]
    assert (props["say"], props["label"], props["number"]) == (
        "book flight option 1", "Book flight #1", 1
    )  # fmt: skip
    assert (props["answer"], props["state"]) == ("reply-1", "open")


def test_only_the_first_five_offers_get_cards_numbered_as_the_model_numbers_them() -> None:
    offers = [flight_offer(f"{100 + n}.00") for n in range(7)]
    cards = offer_cards(results("flights", *offers), "reply-2")
    assert [props["number"] for _, props in cards] == [1, 2, 3, 4, 5]
    assert cards[0][1]["price"] == "€100.00"


def test_a_hotel_card_keeps_a_name_with_a_pipe_whole() -> None:
    [(name, props)] = offer_cards(results("hotels", hotel_offer()), "reply-3")
    assert name == "HotelOffer"
    assert props["name"] == PIPE_HOTEL
    assert props["stars"] == 4
    assert props["address"] == "1 Broadway, New York"
    assert (props["dates"], props["nights"]) == ("Fri 15 Jan → Wed 20 Jan", 5)
    assert (props["room"], props["board"]) == ("Double room", "Breakfast")
    assert props["free_cancellation"] == "Free cancellation until Wed 13 Jan 18:00"
    assert (props["nightly"], props["price"]) == ("€150.00", "€750.00")
    assert props["say"] == "book hotel option 1"


def test_choosing_one_offer_closes_the_others() -> None:
    cards = [props for _, props in offer_cards(results("hotels", *[hotel_offer()] * 3), "r")]
    assert [chosen(props, 2)["state"] for props in cards] == ["closed", "chosen", "closed"]


def test_a_pipe_in_a_hotel_name_breaks_neither_the_models_list_nor_the_bookings_table() -> None:
    listed = hotel_list([hotel_offer(), hotel_offer("Plain Hotel")])
    assert listed.splitlines()[0].startswith(f"1. {PIPE_HOTEL} (")
    assert len(listed.splitlines()) == 2
    summary = BookingSummary(
        reference="KQ7M2X", status=BookingStatus.CONFIRMED, total_amount=Decimal("750.00"),
        currency="EUR", created_at=None, contact_name=None, contact_email=None,
        refund_amount=None, cancelled_at=None,
        items=[ItineraryItem(kind="hotel", title=f"{PIPE_HOTEL}, New York",
                             starts=hotel_offer().expires_at, lines=[],
                             amount=Decimal("750.00"), currency="EUR")],
    )  # fmt: skip
    tokens = MarkdownIt("commonmark").enable("table").parse(bookings_table([summary]))
    cells = [t.children[0].content if t.children else "" for t in tokens if t.type == "inline"]
    assert cells == [
        "Reference", "Status", "What", "Total",
        "KQ7M2X", "confirmed", f"{PIPE_HOTEL}, New York", "€750.00",
    ]  # fmt: skip


def test_the_itinerary_card_links_the_bookings_calendar_file() -> None:
    summary = BookingSummary(
        reference="KQ7M2X", status=BookingStatus.CONFIRMED, total_amount=Decimal("750.00"),
        currency="EUR", created_at=None, contact_name=None, contact_email=None,
        refund_amount=None, cancelled_at=None, items=[],
    )  # fmt: skip
    props = itinerary_card(summary, "/api/bookings/KQ7M2X/calendar.ics")
    assert props["calendar_url"] == "/api/bookings/KQ7M2X/calendar.ics"
    assert props["calendar_name"] == "trip-KQ7M2X.ics"
    assert props["total"] == "€750.00"


def test_the_cards_draw_their_props_as_text_never_as_markup() -> None:
    """React escapes text; only raw HTML insertion would let a hotel's name carry markup."""
    elements = Path(__file__).resolve().parents[2] / "public" / "elements"
    drawn = {jsx.name: jsx.read_text(encoding="utf-8") for jsx in elements.glob("*.jsx")}
    assert set(drawn) == {"FlightOffer.jsx", "HotelOffer.jsx", "Itinerary.jsx"}
    assert not [name for name, code in drawn.items() if "innerHTML" in code]
