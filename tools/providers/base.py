"""The two small interfaces every inventory implements."""

from __future__ import annotations

from typing import Protocol

from tools.offers import FlightOffer, HotelOffer
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
