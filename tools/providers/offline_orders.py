"""Orders on the offline inventory: priced again by searching again, placed in memory."""

from __future__ import annotations

from tools.offers import FlightOffer, HotelOffer
from tools.orders import Contact, PlacedOrder, Traveller
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
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
        travellers: list[Traveller],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        del travellers, contact  # nothing to send anywhere
        return PlacedOrder(order_id=f"ord_{token(offer.id, idempotency_key)}")

    async def order_hotel(
        self,
        offer: HotelOffer,
        *,
        travellers: list[Traveller],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        del travellers, contact
        return PlacedOrder(order_id=f"ord_{token(offer.id, idempotency_key)}")

    async def cancel_flight_order(self, order_id: str) -> None:
        del order_id

    async def cancel_hotel_order(self, order_id: str) -> None:
        del order_id
