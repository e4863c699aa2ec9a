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
        order_id = f"ord_{token(offer.id, idempotency_key)}"
        seats = offer.passengers if offer.search is None else seats_taken(offer.search)
        capacities = {flight_key(s): capacity_of(s) for s in segments_of(offer)}
        try:
            await self._flights.stock.take(order_id, capacities, seats)
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
        return PlacedOrder(order_id=f"ord_{token(offer.id, idempotency_key)}")

    async def cancel_flight_order(self, order_id: str) -> None:
        await self._flights.stock.release(order_id)

    async def cancel_hotel_order(self, order_id: str) -> None:
        del order_id


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
