"""The two small interfaces every inventory implements."""

from __future__ import annotations

from typing import Protocol

from tools.offers import FlightOffer, HotelOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.queries import FlightQuery, HotelQuery


class FlightProvider(Protocol):
    name: str

    async def search_flights(self, query: FlightQuery) -> list[FlightOffer]:
        """Every offer the provider has for `query`, unsorted and unfiltered.

        Raises ProviderError / ProviderUnavailable when the provider fails, InvalidSearch
        when it refuses the query as invalid.
        """
        ...


class HotelProvider(Protocol):
    name: str

    async def search_hotels(self, query: HotelQuery) -> list[HotelOffer]:
        """Every offer the provider has for `query`, unsorted and unfiltered."""
        ...


class FlightOrders(Protocol):
    """Ordering what a FlightProvider found."""

    name: str

    async def reprice_flight(self, offer: FlightOffer) -> FlightOffer | None:
        """The offer as the provider sells it now, or None when it is no longer sold."""
        ...

    async def order_flight(
        self,
        offer: FlightOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        """Place the order; raises ProviderError when the provider fails or refuses."""
        ...

    async def cancel_flight_order(self, order_id: str) -> None:
        """Cancel a placed order."""
        ...

    async def find_flight_order(
        self, *, offer_id: str, idempotency_key: str, order_id: str | None
    ) -> PlacedOrder | None:
        """The live order placed for `offer_id` with `idempotency_key` (or known by `order_id`),
        or None when the vendor holds none (or only a cancelled one). Raises ProviderError when
        the vendor cannot tell: an operator has to look."""
        ...


class HotelOrders(Protocol):
    """Ordering what a HotelProvider found."""

    name: str

    async def reprice_hotel(self, offer: HotelOffer) -> HotelOffer | None: ...

    async def order_hotel(
        self,
        offer: HotelOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder: ...

    async def cancel_hotel_order(self, order_id: str) -> None: ...

    async def find_hotel_order(
        self, *, offer_id: str, idempotency_key: str, order_id: str | None
    ) -> PlacedOrder | None: ...
