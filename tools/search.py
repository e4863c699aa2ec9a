"""Flight and hotel search as travellers get it: validated, cached, filtered, sorted, counted."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

from db.analytics import event_row
from db.chat_log import EventRow
from db.models.enums import EventType
from ops import metrics
from tools.cache import SearchCache, Tier
from tools.cache_key import cache_key
from tools.errors import InvalidSearch
from tools.offers import FlightOffer, HotelOffer
from tools.places import Gazetteer, one_city, zone_info
from tools.providers.base import FlightProvider, HotelProvider
from tools.queries import FlightFilters, FlightQuery, HotelFilters, HotelQuery
from tools.rates import supported

log = logging.getLogger(__name__)
TIER_ORDER: dict[Tier, int] = {"redis": 0, "db": 1, "provider": 2}


@dataclass(frozen=True)
class Searcher:
    """Who is searching: analytics events belong to their tenant."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None


@dataclass(frozen=True)
class FlightResults:
    query: FlightQuery
    offers: list[FlightOffer]
    tier: Tier
    latency_ms: float


@dataclass(frozen=True)
class HotelResults:
    query: HotelQuery
    offers: list[HotelOffer]
    tier: Tier
    latency_ms: float


class SearchService:
    """The one way the product searches: the agent's tools and the CLI both come here."""

    def __init__(
        self,
        *,
        flights: FlightProvider,
        hotels: HotelProvider,
        cache: SearchCache,
        gazetteer: Gazetteer,
        today: Callable[[str], date],
        analytics: EventSink | None,
    ) -> None:
        self._flights = flights
        self._hotels = hotels
        self._cache = cache
        self.places = gazetteer
        self._today = today
        """Today's date in a time zone (an airport's), so "past" means past where you leave."""
        self._analytics = analytics
        """Where each search's event goes (None: nowhere, a benchmark's baseline)."""

    def without_analytics(self) -> SearchService:
        """The same service, recording no analytics events (a benchmark's baseline)."""
        quiet = copy.copy(self)
        quiet._analytics = None
        return quiet

    async def search_flights(
        self, query: FlightQuery, filters: FlightFilters, *, searcher: Searcher
    ) -> FlightResults:
        started = time.perf_counter()
        supported(query.currency)
        origins, destinations = (
            self.places.expand(query.origin),
            self.places.expand(query.destination),
        )
        city = one_city(origins, destinations)
        if city is not None:
            raise InvalidSearch(
                f"{query.origin} and {query.destination} are both in {city}; no flight joins"
                " them. Where would you like to fly to?"
            )
        first_day = self._today(origins[0].timezone)
        if query.departure_date < first_day:
            raise InvalidSearch(
                f"The departure date {query.departure_date:%d %b %Y} is in the past."
            )
        days = [
            query.departure_date + timedelta(days=offset)
            for offset in range(-filters.flex_days, filters.flex_days + 1)
        ]
        days = [day for day in days if day >= first_day]
        offers: list[FlightOffer] = []
        tiers: list[Tier] = []
        for day in days:
            shift = day - query.departure_date
            dated = query.model_copy(
                update={
                    "departure_date": day,
                    "return_date": query.return_date + shift if query.return_date else None,
                }
            )
            found, tier = await self._flight_offers(dated)
            tiers.append(tier)
            kept = _filter_flights(found, filters)
            if filters.flex_days:
                kept = kept[:1]  # the cheapest of each day
            offers.extend(kept)
        if filters.flex_days:
            offers.sort(key=lambda offer: offer.journeys[0].departure)
        tier = max(tiers, key=TIER_ORDER.__getitem__)
        latency = (time.perf_counter() - started) * 1000
        await self._record(
            searcher, "flight", tier, latency, len(offers), query.model_dump(mode="json")
        )
        return FlightResults(query, offers, tier, latency)

    async def _flight_offers(self, query: FlightQuery) -> tuple[list[FlightOffer], Tier]:
        provider = self._flights.name

        async def fetch() -> list[dict[str, Any]]:
            found = await self._flights.search_flights(query)
            return [
                offer.model_copy(update={"search": query}).model_dump(mode="json")
                for offer in found
            ]

        cached = await self._cache.get_or_fetch(
            "flight",
            cache_key("flight", provider, query),
            provider=provider,
            params=query.model_dump(mode="json"),
            fetch=fetch,
        )
        return [FlightOffer.model_validate(raw) for raw in cached.results], cached.tier

    async def search_hotels(
        self, query: HotelQuery, filters: HotelFilters, *, searcher: Searcher
    ) -> HotelResults:
        started = time.perf_counter()
        supported(query.currency)
        zone = self.places.expand(query.city_code)[0].timezone if query.city_code else "UTC"
        if query.check_in < self._today(zone):
            raise InvalidSearch(f"The check-in date {query.check_in:%d %b %Y} is in the past.")
        provider = self._hotels.name

        async def fetch() -> list[dict[str, Any]]:
            found = await self._hotels.search_hotels(query)
            return [
                offer.model_copy(update={"search": query}).model_dump(mode="json")
                for offer in found
            ]

        cached = await self._cache.get_or_fetch(
            "hotel",
            cache_key("hotel", provider, query),
            provider=provider,
            params=query.model_dump(mode="json"),
            fetch=fetch,
        )
        offers = _filter_hotels([HotelOffer.model_validate(raw) for raw in cached.results], filters)
        latency = (time.perf_counter() - started) * 1000
        await self._record(
            searcher, "hotel", cached.tier, latency, len(offers), query.model_dump(mode="json")
        )
        return HotelResults(query, offers, cached.tier, latency)

    async def _record(
        self,
        searcher: Searcher,
        kind: Literal["flight", "hotel"],
        tier: Tier,
        latency_ms: float,
        count: int,
        query: dict[str, Any],
    ) -> None:
        metrics.searched(kind, tier, latency_ms / 1000)
        if self._analytics is None:
            return
        properties = {
            "kind": kind,
            "tier": tier,
            "latency_ms": round(latency_ms, 2),
            "result_count": count,
            "query": query,
        }
        # Written after the reply, with the turn's own rows when it is quick enough.
        self._analytics.post(
            searcher.tenant_id,
            [
                event_row(
                    EventType.SEARCH_PERFORMED,
                    tenant=searcher.tenant_id,
                    user=searcher.user_id,
                    session=searcher.session_id,
                    properties=properties,
                )
            ],
        )


class EventSink(Protocol):
    """Where analytics go when nobody waits for them (the chat log)."""

    def post(self, tenant_id: uuid.UUID, events: Sequence[EventRow]) -> None: ...


def _filter_flights(offers: list[FlightOffer], filters: FlightFilters) -> list[FlightOffer]:
    kept = [
        offer
        for offer in offers
        if (not filters.nonstop or offer.stops == 0)
        and (filters.max_price is None or offer.total_price <= filters.max_price)
    ]
    order: dict[str, Callable[[FlightOffer], Any]] = {
        "price": lambda o: (o.total_price, o.duration_minutes),
        "duration": lambda o: (o.duration_minutes, o.total_price),
        "departure": lambda o: (o.journeys[0].departure, o.total_price),
    }
    return sorted(kept, key=order[filters.sort])


def _filter_hotels(offers: list[HotelOffer], filters: HotelFilters) -> list[HotelOffer]:
    kept = [
        offer
        for offer in offers
        if (filters.min_stars is None or (offer.stars or 0) >= filters.min_stars)
        and (filters.max_price is None or offer.nightly_price <= filters.max_price)
        and (filters.board is None or offer.board == filters.board)
        and (not filters.free_cancellation_only or offer.free_cancellation_until is not None)
    ]
    order: dict[str, Callable[[HotelOffer], Any]] = {
        "price": lambda o: (o.total_price, o.distance_km or 0),
        "distance": lambda o: (o.distance_km or 0, o.total_price),
        "stars": lambda o: (-(o.stars or 0), o.total_price),
    }
    return sorted(kept, key=order[filters.sort])


def local_today(zone: str, *, now: Callable[[], datetime]) -> date:
    """Today's date in time zone `zone`."""
    return now().astimezone(zone_info(zone)).date()
