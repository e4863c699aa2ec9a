"""The offline vendor counts seats: full flights stop selling, cancelled seats sell again."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from tools.errors import OfferUnavailable
from tools.offers import FlightOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.places import gazetteer
from tools.providers.offline_flights import OfflineFlights, segments_of
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders
from tools.providers.offline_stock import MemorySeatStock, capacity_of, flight_key
from tools.queries import FlightQuery

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CONTACT = Contact(name="Ada Lovelace", email="ada@example.com")
ADA = [Passenger(given_name="Ada", family_name="Lovelace")]


def trip(adults: int = 1, **fields: object) -> FlightQuery:
    defaults: dict[str, object] = {
        "origin": "LHR", "destination": "LIS", "departure_date": date(2027, 1, 15),
    }  # fmt: skip
    return FlightQuery.model_validate({**defaults, "adults": adults, **fields})


def vendor(**capacities: int) -> OfflineOrders:
    places = gazetteer()
    stock = MemorySeatStock(capacities)
    return OfflineOrders(
        OfflineFlights(places, now=lambda: NOW, stock=stock), OfflineHotels(places, now=lambda: NOW)
    )


async def offers(desk: OfflineOrders, query: FlightQuery) -> list[FlightOffer]:
    found = await desk._flights.search_flights(query)
    return [offer.model_copy(update={"search": query}) for offer in found]


async def direct(desk: OfflineOrders, adults: int = 1) -> FlightOffer:
    return next(o for o in await offers(desk, trip(adults)) if o.stops == 0)


def key_of(offer: FlightOffer) -> str:
    return flight_key(offer.journeys[0].segments[0])


async def order(desk: OfflineOrders, offer: FlightOffer, key: str) -> PlacedOrder:
    return await desk.order_flight(offer, travellers=ADA, contact=CONTACT, idempotency_key=key)


async def test_seats_are_counted_per_flight_not_per_offer() -> None:
    desk = vendor()
    single, pair = await direct(desk), await direct(desk, adults=2)
    assert key_of(single) == key_of(pair)
    assert single.id != pair.id
    flight = key_of(single)
    assert capacity_of(single.journeys[0].segments[0]) == 180
    await order(desk, single, "one")
    await order(desk, pair, "two")
    assert await desk._flights.stock.seats_left({flight: 180}) == {flight: 177}


async def test_a_nearly_full_flight_says_so_and_a_full_one_is_not_offered() -> None:
    untouched = await offers(vendor(), trip())
    flight = key_of(await direct(vendor()))
    nearly = await offers(vendor(**{flight: 1}), trip())
    changed = [(a, b) for a, b in zip(untouched, nearly, strict=True) if a != b]
    assert [b.seats_left for _a, b in changed] == [1]  # only that flight's offer
    assert changed[0][0].model_copy(update={"seats_left": 1}) == changed[0][1]

    full = vendor(**{flight: 1})
    await order(full, await direct(full), "last-seat")
    left = await offers(full, trip())
    assert [o.id for o in left] == [o.id for o in untouched if key_of(o) != flight]


async def test_the_last_seats_go_once_then_the_vendor_refuses_in_one_sentence() -> None:
    desk = vendor()
    offer = await direct(desk)
    desk = vendor(**{key_of(offer): 2})
    await order(desk, offer, "first")
    await order(desk, offer, "second")
    with pytest.raises(OfferUnavailable) as refused:
        await order(desk, offer, "third")
    segment = offer.journeys[0].segments[0]
    assert refused.value.message == (
        f"Sorry, flight {segment.flight_number} LHR-LIS on 15 Jan has just sold out;"
        " I have not booked it. Shall I look for another flight?"
    )
    assert await desk.reprice_flight(offer) is None


async def test_a_party_larger_than_the_seats_left_takes_none() -> None:
    offer = await direct(vendor(), adults=2)
    desk = vendor(**{key_of(offer): 4})
    await order(desk, await direct(desk), "single")
    await order(desk, offer, "pair")
    with pytest.raises(OfferUnavailable, match="has only 1 seat left, not 2; I have not booked"):
        await order(desk, offer, "second-pair")
    assert await desk._flights.stock.seats_left({key_of(offer): 4}) == {key_of(offer): 1}


async def test_infants_sit_on_a_lap() -> None:
    offer = await direct(vendor())
    desk = vendor(**{key_of(offer): 1})
    with_baby = next(o for o in await offers(desk, trip(infants=1)) if key_of(o) == key_of(offer))
    await order(desk, with_baby, "lap")
    assert await desk._flights.stock.seats_left({key_of(offer): 1}) == {key_of(offer): 0}


async def test_a_connection_takes_a_seat_on_each_flight_or_on_none() -> None:
    connecting = next(o for o in await offers(vendor(), trip()) if o.stops == 1)
    first, second = (flight_key(s) for s in segments_of(connecting))
    desk = vendor(**{first: 5, second: 1})
    await order(desk, connecting, "via-hub")
    with pytest.raises(OfferUnavailable, match="has just sold out"):
        await order(desk, connecting, "via-hub-again")
    # The refused order took nothing from the first flight, which still had seats.
    assert await desk._flights.stock.seats_left({first: 5, second: 1}) == {first: 4, second: 0}


async def test_cancelling_gives_the_seats_back_once() -> None:
    offer = await direct(vendor())
    flight = key_of(offer)
    desk = vendor(**{flight: 1})
    placed = await order(desk, offer, "to-cancel")
    assert await desk.reprice_flight(offer) is None
    await desk.cancel_flight_order(placed.order_id)
    await desk.cancel_flight_order(placed.order_id)
    await desk.cancel_flight_order("ord_unknown")
    assert await desk._flights.stock.seats_left({flight: 1}) == {flight: 1}
    again = await desk.reprice_flight(offer)
    assert again is not None
    assert again.seats_left == 1


async def test_the_same_order_placed_twice_takes_its_seats_once() -> None:
    offer = await direct(vendor())
    desk = vendor(**{key_of(offer): 2})
    first = await order(desk, offer, "retried-key")
    second = await order(desk, offer, "retried-key")
    assert first == second
    assert await desk._flights.stock.seats_left({key_of(offer): 2}) == {key_of(offer): 1}


async def test_an_order_cancelled_then_placed_again_takes_its_seats_again() -> None:
    # BookingService cancels what it ordered when a trip fails, and the traveller may then
    # retry the same confirmation: the same order id, which must hold seats again.
    offer = await direct(vendor())
    flight = key_of(offer)
    desk = vendor(**{flight: 1})
    placed = await order(desk, offer, "retry-after-undo")
    await desk.cancel_flight_order(placed.order_id)
    assert await order(desk, offer, "retry-after-undo") == placed
    assert await desk._flights.stock.seats_left({flight: 1}) == {flight: 0}


async def test_thirty_orders_at_once_sell_exactly_the_seats_there_are() -> None:
    offer = await direct(vendor())
    desk = vendor(**{key_of(offer): 7})
    results = await asyncio.gather(
        *(order(desk, offer, f"rush-{n}") for n in range(30)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, OfferUnavailable)]
    assert (len(results) - len(refused), len(refused)) == (7, 23)
    assert await desk._flights.stock.seats_left({key_of(offer): 7}) == {key_of(offer): 0}
