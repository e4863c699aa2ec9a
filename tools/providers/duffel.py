"""Duffel flight search: one offer request, and its offers as the product's FlightOffers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import Field, ValidationError

from db.models.enums import Cabin
from tools.errors import ProviderError
from tools.offers import FareConditions, FlightOffer, Journey, Segment
from tools.providers.http import Clock, Now, Resilience, ResilientClient, Sleep, utc_now
from tools.providers.vendor_json import VendorModel as _Vendor
from tools.providers.vendor_json import aware_utc as _aware_utc
from tools.providers.vendor_json import load_airport_time_zones as _load_airport_time_zones
from tools.providers.vendor_json import minutes as _minutes
from tools.providers.vendor_json import reason as _reason
from tools.queries import FlightQuery

log = logging.getLogger(__name__)

DUFFEL_VERSION = "v2"
CHILD_AGE = 8
"""FlightQuery has no ages; Duffel prices a child by age on the travel date, so ask for a typical
child (2-11 is a child fare everywhere)."""
OFFER_LIFETIME = timedelta(minutes=20)
"""Lifetime of an offer that comes without `expires_at` (Duffel's usually last 20-30 minutes)."""
CABIN_ORDER = (Cabin.ECONOMY, Cabin.PREMIUM_ECONOMY, Cabin.BUSINESS, Cabin.FIRST)
CABINS = {cabin.value: cabin for cabin in Cabin}


class _Place(_Vendor):
    iata_code: str
    time_zone: str | None = None


class _Airline(_Vendor):
    iata_code: str | None = None
    name: str | None = None


class _Aircraft(_Vendor):
    name: str | None = None


class _SegmentPassenger(_Vendor):
    cabin_class: str | None = None


class _Segment(_Vendor):
    origin: _Place
    destination: _Place
    departing_at: datetime
    arriving_at: datetime
    duration: timedelta | None = None
    marketing_carrier: _Airline
    marketing_carrier_flight_number: str
    aircraft: _Aircraft | None = None
    passengers: list[_SegmentPassenger] = Field(default_factory=list)


class _Slice(_Vendor):
    duration: timedelta | None = None
    segments: list[_Segment] = Field(min_length=1)


class _Condition(_Vendor):
    allowed: bool | None = None
    penalty_amount: Decimal | None = None
    penalty_currency: str | None = None


class _Conditions(_Vendor):
    refund_before_departure: _Condition | None = None
    change_before_departure: _Condition | None = None


class _Offer(_Vendor):
    id: str
    total_amount: Decimal
    total_currency: str
    expires_at: datetime | None = None
    partial: bool = False
    conditions: _Conditions = Field(default_factory=_Conditions)
    slices: list[_Slice] = Field(min_length=1)
    passengers: list[dict[str, Any]] = Field(default_factory=list)


class _OfferRequest(_Vendor):
    cabin_class: str | None = None
    offers: list[dict[str, Any]] = Field(default_factory=list)


class _Reply(_Vendor):
    data: _OfferRequest


class _Unmappable(ValueError):
    """An offer that cannot become a FlightOffer (an airport whose time zone nobody knows)."""


class DuffelProvider:
    """Flights from Duffel's offer requests (https://duffel.com/docs/api/v2/offer-requests)."""

    name = "duffel"

    def __init__(
        self,
        *,
        access_token: str,
        client: httpx.AsyncClient,
        base_url: str = "https://api.duffel.com",
        resilience: Resilience | None = None,
        supplier_timeout: float | None = None,
        airport_time_zones: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        now: Now = utc_now,
    ) -> None:
        """`supplier_timeout` (seconds, 2-60) bounds each airline's search inside Duffel; by
        default two seconds under our own timeout, so Duffel answers with what it has before we
        give up on it. `airport_time_zones` (IATA code -> tz name) defaults to airportsdata."""
        if not access_token:
            raise ValueError("DuffelProvider needs an access token.")
        settings = resilience or Resilience(timeout=30.0)
        self._http = ResilientClient(
            client=client,
            provider="Duffel",
            base_url=base_url,
            resilience=settings,
            sleep=sleep,
            clock=clock,
            now=now,
        )
        wanted = supplier_timeout if supplier_timeout is not None else settings.timeout - 2
        self._supplier_timeout_ms = round(min(max(wanted, 2.0), 60.0) * 1000)
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Duffel-Version": DUFFEL_VERSION,
            "Accept": "application/json",
        }
        self._zones = airport_time_zones
        self._now = now

    @property
    def http(self) -> ResilientClient:
        """The resilient client (and its circuit breaker) this provider calls Duffel through."""
        return self._http

    async def search_flights(self, query: FlightQuery) -> list[FlightOffer]:
        """Every bookable Duffel offer for `query`, unsorted and unfiltered.

        Prices are in the airline's currency (Duffel does not convert to `query.currency`).
        """
        reply = await self._http.request_json(
            "POST",
            "/air/offer_requests",
            params={"return_offers": "true", "supplier_timeout": self._supplier_timeout_ms},
            headers=self._headers,
            json=offer_request_body(query),
        )
        try:
            raw_offers = _Reply.model_validate(reply).data.offers
        except ValidationError as exc:
            log.warning(
                "Duffel offer request reply has no readable data: %d errors", exc.error_count()
            )
            raise ProviderError(
                "Duffel sent a reply I could not read; please try again in a little while."
            ) from exc
        zones = self._zones
        if zones is None and _needs_airport_table(raw_offers):
            zones = self._zones = await asyncio.to_thread(_load_airport_time_zones)
        expiry = self._now() + OFFER_LIFETIME
        offers: list[FlightOffer] = []
        unreadable = 0
        for raw in raw_offers:
            try:
                vendor = _Offer.model_validate(raw)
                if vendor.partial:
                    continue  # a partial offer cannot be booked on its own
                offers.append(_flight_offer(vendor, query, zones or {}, default_expiry=expiry))
            except (ValidationError, _Unmappable) as exc:
                unreadable += 1
                log.warning("Duffel offer %s skipped: %s", raw.get("id"), _reason(exc))
        if unreadable and not offers:
            raise ProviderError(
                "Duffel sent flight offers I could not read; please try again later."
            )
        return offers


def offer_request_body(query: FlightQuery) -> dict[str, object]:
    """The JSON body of Duffel's "create offer request" for `query`."""
    slices = [_slice(query.origin, query.destination, query.departure_date.isoformat())]
    if query.return_date is not None:
        slices.append(_slice(query.destination, query.origin, query.return_date.isoformat()))
    passengers: list[dict[str, object]] = [{"type": "adult"} for _ in range(query.adults)]
    passengers += [{"age": CHILD_AGE} for _ in range(query.children)]
    passengers += [{"type": "infant_without_seat"} for _ in range(query.infants)]
    return {"data": {"slices": slices, "passengers": passengers, "cabin_class": query.cabin.value}}


def _slice(origin: str, destination: str, departure_date: str) -> dict[str, object]:
    return {"origin": origin, "destination": destination, "departure_date": departure_date}


def _flight_offer(
    offer: _Offer, query: FlightQuery, zones: Mapping[str, str], *, default_expiry: datetime
) -> FlightOffer:
    journeys = tuple(_journey(piece, zones) for piece in offer.slices)
    cabins = [
        CABINS[p.cabin_class]
        for piece in offer.slices
        for segment in piece.segments
        for p in segment.passengers
        if p.cabin_class in CABINS
    ]
    return FlightOffer(
        id=offer.id,
        provider=DuffelProvider.name,
        journeys=journeys,
        # Mixed cabins are sold as the lowest one, so that is what the traveller is promised.
        cabin=min(cabins, key=CABIN_ORDER.index) if cabins else query.cabin,
        passengers=len(offer.passengers) or query.passengers,
        total_price=offer.total_amount,
        currency=offer.total_currency,
        conditions=_fare_conditions(offer.conditions, offer.total_currency),
        expires_at=_aware_utc(offer.expires_at) if offer.expires_at else default_expiry,
    )


def _journey(piece: _Slice, zones: Mapping[str, str]) -> Journey:
    segments = tuple(_segment(segment, zones) for segment in piece.segments)
    elapsed = segments[-1].arrival - segments[0].departure
    return Journey(segments=segments, duration_minutes=_minutes(piece.duration or elapsed))


def _segment(segment: _Segment, zones: Mapping[str, str]) -> Segment:
    carrier = segment.marketing_carrier
    if not carrier.iata_code:
        raise _Unmappable("the marketing carrier has no IATA code")
    departure = _local(segment.departing_at, segment.origin, zones)
    arrival = _local(segment.arriving_at, segment.destination, zones)
    aircraft = segment.aircraft.name if segment.aircraft else None
    return Segment(
        carrier_code=carrier.iata_code,
        carrier_name=carrier.name or carrier.iata_code,
        flight_number=f"{carrier.iata_code}{segment.marketing_carrier_flight_number}",
        origin=segment.origin.iata_code,
        destination=segment.destination.iata_code,
        departure=departure,
        arrival=arrival,
        # Duffel's own duration, not arrival minus departure: its test fixtures are not
        # always consistent, and the vendor's figure is what its other channels show.
        duration_minutes=_minutes(segment.duration or arrival - departure),
        aircraft=aircraft,
    )


def _local(moment: datetime, place: _Place, zones: Mapping[str, str]) -> datetime:
    """`moment` (Duffel's local time without offset) made aware in `place`'s time zone."""
    name = place.time_zone or zones.get(place.iata_code)
    if name is None:
        raise _Unmappable(f"no time zone is known for {place.iata_code}")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _Unmappable(f"unknown time zone {name!r} for {place.iata_code}") from exc
    if moment.tzinfo is not None:
        return moment.astimezone(zone)
    return moment.replace(tzinfo=zone)


def _fare_conditions(conditions: _Conditions, currency: str) -> FareConditions:
    refund = conditions.refund_before_departure
    change = conditions.change_before_departure
    refundable = bool(refund and refund.allowed)
    # FareConditions cannot say "changes allowed, fee unknown": an unknown (or foreign-currency)
    # fee is reported as changes not allowed rather than as free changes we cannot promise.
    change_fee = _penalty(change, currency) if change and change.allowed else None
    return FareConditions(
        refundable=refundable,
        change_fee=change_fee,
        cancellation_fee=_penalty(refund, currency) if refundable else None,
    )


def _penalty(condition: _Condition | None, currency: str) -> Decimal | None:
    if condition is None or condition.penalty_amount is None:
        return None
    if condition.penalty_currency not in (None, currency):
        return None
    return condition.penalty_amount


def _needs_airport_table(raw_offers: list[dict[str, Any]]) -> bool:
    """Whether some segment end lacks Duffel's `time_zone` (so airportsdata has to fill in)."""
    for raw in raw_offers:
        for piece in raw.get("slices") or []:
            for segment in (piece or {}).get("segments") or []:
                for end in ("origin", "destination"):
                    place = (segment or {}).get(end)
                    if not isinstance(place, dict) or not place.get("time_zone"):
                        return True
    return False
