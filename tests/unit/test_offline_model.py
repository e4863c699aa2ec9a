"""The offline travel model reads travel requests the way travellers write them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agent.offline.dates import find_dates, stay_length
from agent.offline.decide import Call, Say, booking_reference, decide
from agent.offline.memory import recall
from agent.offline.model import OfflineTravelModel
from agent.offline.understand import understand
from tools.places import gazetteer

TODAY = date(2026, 11, 28)  # a Saturday
SYSTEM = SystemMessage("Today is 2026-11-28. Prices are in EUR.")
MODEL = OfflineTravelModel()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow", "2026-11-29"), ("next friday", "2026-12-04"), ("on monday", "2026-11-30"),
        ("15 jan", "2027-01-15"), ("jan 15th", "2027-01-15"), ("2027-01-15", "2027-01-15"),
        ("15/01/2027", "2027-01-15"), ("in two weeks", "2026-12-12"), ("in 3 days", "2026-12-01"),
        ("the 20th", "2026-12-20"), ("day after tomorrow", "2026-11-30"), ("1 march", "2027-03-01"),
    ],
)  # fmt: skip
def test_dates(text: str, expected: str) -> None:
    assert [found.day.isoformat() for found in find_dates(text, TODAY)] == [expected]


def test_lengths_of_stay() -> None:
    assert stay_length("for 3 nights") == 3
    assert stay_length("for a week") == 7
    assert stay_length("in two weeks") is None


def test_a_full_request() -> None:
    read = understand(
        "I want to fly from Paris to Lisbon on 15 Jan, returning 22 Jan, 2 adults and a child,"
        " business class, direct, under 900",
        TODAY,
        gazetteer(),
    )
    assert (read.origin, read.destination) == ("PAR", "LIS")
    assert [d.day.isoformat() for d in read.dates] == ["2027-01-15", "2027-01-22"]
    assert (read.adults, read.children, read.cabin, read.nonstop, read.max_price) == (
        2, 1, "business", True, 900.0,
    )  # fmt: skip


def test_references_are_not_words() -> None:
    assert booking_reference("please cancel ABC234") == "ABC234"
    assert booking_reference("cancel abc234") == "ABC234"
    assert booking_reference("please cancel my london trip") is None


def _call(messages: list[object]) -> tuple[str, dict[str, object]]:
    reply = MODEL.answer([SYSTEM, *messages])  # type: ignore[list-item]
    assert reply.tool_calls, reply.content
    call = reply.tool_calls[0]
    return call["name"], call["args"]


def test_a_search_becomes_a_tool_call_with_iso_dates() -> None:
    name, args = _call([HumanMessage("Flights London to New York next Friday for 2 adults")])
    assert name == "search_flights"
    assert (args["origin"], args["destination"], args["departure_date"]) == (
        "LON",
        "NYC",
        "2026-12-04",
    )
    assert args["adults"] == 2


def test_follow_ups_reuse_the_last_search() -> None:
    searched = AIMessage("", tool_calls=[{"name": "search_flights", "id": "c1", "args": {
        "origin": "LON", "destination": "NYC", "departure_date": "2026-12-04", "return_date": None,
        "adults": 2, "children": 0, "infants": 0, "cabin": "economy", "nonstop": False,
        "max_price": None, "sort": "price", "flex_days": 0}}])  # fmt: skip
    history = [HumanMessage("Flights London to New York next Friday"), searched]
    name, args = _call([*history, HumanMessage("what about business class?")])
    assert (name, args["cabin"], args["destination"], args["adults"]) == (
        "search_flights",
        "business",
        "NYC",
        2,
    )
    name, args = _call([*history, HumanMessage("and a hotel there for 3 nights")])
    assert name == "search_hotels"
    assert (args["city"], args["check_in"], args["check_out"], args["guests"]) == (
        "NYC", "2026-12-04", "2026-12-07", 2,
    )  # fmt: skip


def test_choosing_from_the_results() -> None:
    offers = [
        {"id": f"off_{n}", "total_price": price, "journeys": [{"duration_minutes": minutes,
         "segments": [{"departure": f"2026-12-04T{hour}:00+00:00"}]}]}
        for n, price, minutes, hour in (
            (1, "300.00", 500, "10"), (2, "250.00", 600, "08"), (3, "400.00", 300, "12"),
        )
    ]  # fmt: skip
    shown = ToolMessage("table", tool_call_id="c1", name="search_flights",
                        artifact={"kind": "flights", "offers": offers})  # fmt: skip
    for said, chosen in (("book the cheapest", "off_2"), ("option 3", "off_3"),
                         ("the fastest one", "off_3"), ("the 10:00 one", "off_1"),
                         ("I'll take the second", "off_2")):  # fmt: skip
        assert _call([shown, HumanMessage(said)]) == ("book", {"offer_ids": [chosen]})


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("hello", "Where would you like to go?"),
        ("flights to Paris tomorrow", "Where will you be flying from?"),
        ("flights from Berlin to Rome", "On which date would you like to leave?"),
        ("book it", "Let's find something to book first"),
        ("flights from Lodnon to Rome tomorrow", "did you mean London (LON)?"),
    ],
)
def test_replies_and_questions(said: str, answer: str) -> None:
    reply = MODEL.answer([SYSTEM, HumanMessage(said)])
    assert not reply.tool_calls
    assert answer in str(reply.content)


def test_the_same_conversation_gets_the_same_answer() -> None:
    conversation = [SYSTEM, HumanMessage("Flights from Rome to Athens on 2027-02-02")]
    assert MODEL.answer(conversation).tool_calls == MODEL.answer(conversation).tool_calls


def test_chat_settings_are_the_defaults_of_a_new_search() -> None:
    system = SystemMessage(
        "Today is 2026-11-28. Prices are in GBP. Unless the traveller says otherwise:"
        " cabin business, 2 traveller(s)."
    )
    reply = MODEL.answer([system, HumanMessage("Flights from London to Rome tomorrow")])
    args = reply.tool_calls[0]["args"]
    assert (args["cabin"], args["adults"]) == ("business", 2)
    said = MODEL.answer(
        [system, HumanMessage("Flights from London to Rome tomorrow in economy for 3 people")]
    )
    assert (said.tool_calls[0]["args"]["cabin"], said.tool_calls[0]["args"]["adults"]) == (
        "economy",
        3,
    )


FRIDAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("in 1 month", date(2027, 1, 31), "2027-02-28"),  # the same day, clipped to the month
        ("in 1 month", date(2028, 1, 31), "2028-02-29"),
        ("next saturday", FRIDAY, "2026-12-12"),  # the Saturday of the following week
        ("this saturday", FRIDAY, "2026-12-05"),  # the coming one
        ("saturday after next", FRIDAY, "2026-12-19"),
    ],
)
def test_the_phrases_travellers_were_misread_on(text: str, today: date, expected: str) -> None:
    assert [found.day.isoformat() for found in find_dates(text, today)] == [expected]


def test_todays_deals_name_no_date() -> None:
    assert find_dates("todays deals to rome", FRIDAY) == []
    assert [f.day for f in find_dates("today's flights to rome", FRIDAY)] == [FRIDAY]


def _price_question(*after: str) -> list[Any]:
    asked = AIMessage(
        "", tool_calls=[{"name": "book", "args": {"offer_ids": ["off_1"]}, "id": "c1"}]
    )
    moved = ToolMessage(
        "The price of the flight LHR-EDI on 22 Dec moved from €80.00 to €105.00; I have not"
        " booked it. Shall I book it at the new price?",
        tool_call_id="c1",
        name="book",
        artifact={"kind": "repriced", "offers": [], "offer_ids": ["off_1"]},
    )
    said = AIMessage(str(moved.content))
    history: list[Any] = [SYSTEM, HumanMessage("book the cheapest"), asked, moved, said]
    for text in after:
        history += [HumanMessage(text), AIMessage("All right.")]
    return history[:-1]


def test_a_yes_to_the_new_price_asks_to_book_that_offer_again() -> None:
    memory = recall(_price_question("yes"))
    assert memory.repriced == ["off_1"]
    assert decide("yes", memory, gazetteer()) == Call("book", {"offer_ids": ["off_1"]})
    assert isinstance(decide("no thanks", memory, gazetteer()), Say)


def test_only_the_next_message_answers_the_price_question() -> None:
    assert recall(_price_question("no", "yes")).repriced is None
