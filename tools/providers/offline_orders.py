"""Orders on the offline inventory: priced again by searching again, seats taken from its stock."""

from __future__ import annotations

from tools.errors import OfferUnavailable
from tools.offers import FlightOffer, HotelOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.offline_flights import OfflineFlights, seats_taken, segments_of
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_stock import NotEnoughSeats, capacity_of, flight_key
from tools.providers.seeded import token


class OfflineOrders:
    """The offline inventory's order desk, for flights and hotels alike."""

    name = "offline"

    def __init__(self, flights: OfflineFlights, hotels: OfflineHotels) -> None:
        self._flights = flights
        self._hotels = hotels
        self._books = flights.stock  # the vendor's one set of books: seats sold, rooms held

    async def reprice_flight(self, offer: FlightOffer) -> FlightOffer | None:
        if offer.search is None:
            return None
        for current in await self._flights.search_flights(offer.search):
            if current.id == offer.id:
                return current.model_copy(update={"search": offer.search})
        return None

    async def reprice_hotel(self, offer: HotelOffer) -> HotelOffer | None:
        if offer.search is None:
            return None
        for current in await self._hotels.search_hotels(offer.search):
            if current.id == offer.id:
                return current.model_copy(update={"search": offer.search})
        return None

    async def order_flight(
        self,
        offer: FlightOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        """Take the offer's seats on every flight, or refuse as an airline does when they
        have gone since the search (OfferUnavailable, one sentence, nothing taken)."""
        del travellers, contact  # nothing to send anywhere
        order_id = order_id_of(offer.id, idempotency_key)
        seats = offer.passengers if offer.search is None else seats_taken(offer.search)
        capacities = {flight_key(s): capacity_of(s) for s in segments_of(offer)}
        try:
            await self._books.take(order_id, capacities, seats)
        except NotEnoughSeats as refusal:
            raise OfferUnavailable(sold_out(offer, refusal, seats)) from None
        return PlacedOrder(order_id=order_id)

    async def order_hotel(
        self,
        offer: HotelOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        del travellers, contact
        order_id = order_id_of(offer.id, idempotency_key)
        await self._books.reserve_room(order_id, offer.id)
        return PlacedOrder(order_id=order_id)

    async def cancel_flight_order(self, order_id: str) -> None:
        await self._books.release(order_id)

    async def cancel_hotel_order(self, order_id: str) -> None:
        await self._books.release_room(order_id)

    async def find_flight_order(
        self, *, offer_id: str, idempotency_key: str, order_id: str | None
    ) -> PlacedOrder | None:
        """The vendor's own order table, by the id the offer and the key make."""
        order_id = order_id or order_id_of(offer_id, idempotency_key)
        return PlacedOrder(order_id=order_id) if await self._books.holds(order_id) else None

    async def find_hotel_order(
        self, *, offer_id: str, idempotency_key: str, order_id: str | None
    ) -> PlacedOrder | None:
        order_id = order_id or order_id_of(offer_id, idempotency_key)
        live = await self._books.holds_room(order_id)
        return PlacedOrder(order_id=order_id) if live else None


def order_id_of(offer_id: str, idempotency_key: str) -> str:
    """The offline vendor's order id: the same offer ordered with the same key is one order."""
    return f"ord_{token(offer_id, idempotency_key)}"


def sold_out(offer: FlightOffer, refusal: NotEnoughSeats, seats: int) -> str:
    """The sentence a traveller reads when the seats went to someone else first."""
    short = next(s for s in segments_of(offer) if flight_key(s) == refusal.flight)
    leg = f"{short.origin}-{short.destination}"
    flight = f"flight {short.flight_number} {leg} on {short.departure:%d %b}"
    if refusal.left == 0:
        why = f"Sorry, {flight} has just sold out"
    else:
        plural = "" if refusal.left == 1 else "s"
        why = f"Sorry, {flight} has only {refusal.left} seat{plural} left, not {seats}"
    return f"{why}; I have not booked it. Shall I look for another flight?"
