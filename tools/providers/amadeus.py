"""Amadeus Self-Service, as one provider: flights and hotels searched, flights ordered.

The work is split by concept: `amadeus_auth` (the shared OAuth2 token), `amadeus_flights`
(search, pricing, orders, cancellation) and `amadeus_hotels` (search, pricing by offer id).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import httpx

from tools.offers import FlightOffer, HotelOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.amadeus_auth import AmadeusSession
from tools.providers.amadeus_flights import AmadeusFlights
from tools.providers.amadeus_hotels import MAX_HOTEL_IDS, AmadeusHotels
from tools.providers.http import Clock, Now, Resilience, ResilientClient, Sleep, utc_now
from tools.queries import FlightQuery, HotelQuery


class AmadeusProvider:
    """Flights and hotels from Amadeus Self-Service (https://developers.amadeus.com).

    A FlightProvider, a HotelProvider and a FlightOrders. It also has every HotelOrders method,
    but Amadeus hotel rooms can only be priced again, not booked yet: `order_hotel` says so.
    """

    name = "amadeus"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        client: httpx.AsyncClient,
        base_url: str = "https://test.api.amadeus.com",
        resilience: Resilience | None = None,
        max_flight_offers: int = 50,
        max_hotels: int = MAX_HOTEL_IDS,
        token_refresh_margin: float = 60.0,
        airport_time_zones: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        now: Now = utc_now,
    ) -> None:
        """`clock` (monotonic seconds) times the token and the circuit breaker, `now` (aware)
        stamps offer expiries; `airport_time_zones` (IATA code -> tz name) defaults to
        airportsdata."""
        if not client_id or not client_secret:
            raise ValueError("AmadeusProvider needs a client id and a client secret.")
        if max_flight_offers < 1 or max_hotels < 1 or token_refresh_margin < 0:
            raise ValueError("max_flight_offers and max_hotels must be >= 1, the margin >= 0.")
        http = ResilientClient(
            client=client,
            provider="Amadeus",
            base_url=base_url,
            resilience=resilience,
            sleep=sleep,
            clock=clock,
            now=now,
        )
        session = AmadeusSession(
            http=http,
            client_id=client_id,
            client_secret=client_secret,
            token_refresh_margin=token_refresh_margin,
            clock=clock,
        )
        self._http = http
        self._flights = AmadeusFlights(
            session, max_offers=max_flight_offers, airport_time_zones=airport_time_zones, now=now
        )
        self._hotels = AmadeusHotels(session, max_hotels=max_hotels, now=now)

    @property
    def http(self) -> ResilientClient:
        """The resilient client (and its circuit breaker) this provider calls Amadeus through."""
        return self._http

    async def search_flights(self, query: FlightQuery) -> list[FlightOffer]:
        """Every Amadeus flight offer for `query` (at most `max_flight_offers`), unsorted."""
        return await self._flights.search_flights(query)

    async def search_hotels(self, query: HotelQuery) -> list[HotelOffer]:
        """Offers of the first `max_hotels` hotels Amadeus lists around the city or the point."""
        return await self._hotels.search_hotels(query)

    async def reprice_flight(self, offer: FlightOffer) -> FlightOffer | None:
        """The flight offer as Amadeus prices it now, or None when it is no longer sold."""
        return await self._flights.reprice_flight(offer)

    async def order_flight(
        self,
        offer: FlightOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        """Book the flight offer (sent once: Amadeus documents no idempotency key)."""
        return await self._flights.order_flight(
            offer, travellers=travellers, contact=contact, idempotency_key=idempotency_key
        )

    async def cancel_flight_order(self, order_id: str) -> None:
        """Cancel an Amadeus flight order."""
        await self._flights.cancel_flight_order(order_id)

    async def find_flight_order(
        self, *, offer_id: str, idempotency_key: str, order_id: str | None
    ) -> PlacedOrder | None:
        """An Amadeus flight order by its id (Amadeus keeps no key of ours)."""
        return await self._flights.find_flight_order(
            offer_id=offer_id, idempotency_key=idempotency_key, order_id=order_id
        )

    async def reprice_hotel(self, offer: HotelOffer) -> HotelOffer | None:
        """The hotel room as Amadeus sells it now, or None when it is no longer sold."""
        return await self._hotels.reprice_hotel(offer)

    async def order_hotel(
        self,
        offer: HotelOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        """Not available yet: raises ProviderError saying so, before anything is sent."""
        return await self._hotels.order_hotel(
            offer, travellers=travellers, contact=contact, idempotency_key=idempotency_key
        )

    async def cancel_hotel_order(self, order_id: str) -> None:
        """Not available yet: raises ProviderError saying so."""
        await self._hotels.cancel_hotel_order(order_id)

    async def find_hotel_order(
        self, *, offer_id: str, idempotency_key: str, order_id: str | None
    ) -> PlacedOrder | None:
        """None: Amadeus hotel orders are not open, so none can exist."""
        return await self._hotels.find_hotel_order(
            offer_id=offer_id, idempotency_key=idempotency_key, order_id=order_id
        )
