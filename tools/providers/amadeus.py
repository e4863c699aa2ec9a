"""Amadeus Self-Service flight and hotel search, as the product's FlightOffers and HotelOffers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import Field, ValidationError

from db.models.enums import Board, Cabin
from tools.errors import ProviderError
from tools.offers import FareConditions, FlightOffer, HotelOffer, Journey, Segment
from tools.providers.http import (
    Clock,
    CredentialsRefused,
    NotFound,
    Now,
    QueryParams,
    RejectedSearch,
    Resilience,
    ResilientClient,
    Sleep,
    utc_now,
)
from tools.providers.vendor_json import VendorModel as _Vendor
from tools.providers.vendor_json import load_airport_time_zones as _load_airport_time_zones
from tools.providers.vendor_json import minutes as _minutes
from tools.providers.vendor_json import reason as _reason
from tools.queries import FlightQuery, HotelQuery

log = logging.getLogger(__name__)

OFFER_LIFETIME = timedelta(minutes=20)
"""Amadeus search offers carry no expiry of their own; they are re-priced before booking."""
MAX_HOTEL_IDS = 20
"""Hotel Search v3 accepts at most 20 `hotelIds` per request."""
CABIN_ORDER = (Cabin.ECONOMY, Cabin.PREMIUM_ECONOMY, Cabin.BUSINESS, Cabin.FIRST)
CABINS = {cabin.value.upper(): cabin for cabin in Cabin}
NOTHING_FOUND = {
    "895",  # Hotel List: NOTHING FOUND FOR REQUESTED CITY
    "424",  # Hotel Search: NO HOTELS FOUND WHICH MATCH THIS INPUT
    "3664",  # Hotel Search: NO ROOMS AVAILABLE AT REQUESTED PROPERTY (live replies; not in spec)
}
"""Amadeus error codes that mean "no results" rather than "bad request"."""
BOARDS = {
    "ROOM_ONLY": Board.ROOM_ONLY,
    "SELF_CATERING": Board.ROOM_ONLY,
    "BREAKFAST": Board.BREAKFAST,
    "BUFFET_BREAKFAST": Board.BREAKFAST,
    "CARIBBEAN_BREAKFAST": Board.BREAKFAST,
    "CONTINENTAL_BREAKFAST": Board.BREAKFAST,
    "ENGLISH_BREAKFAST": Board.BREAKFAST,
    "FULL_BREAKFAST": Board.BREAKFAST,
    "BERMUDA": Board.BREAKFAST,  # Bermuda plan: full breakfast
    "HALF_BOARD": Board.HALF_BOARD,
    "DINNER_BED_AND_BREAKFAST": Board.HALF_BOARD,
    "MODIFIED": Board.HALF_BOARD,  # Modified American plan: breakfast and dinner
    "FULL_BOARD": Board.FULL_BOARD,
    "AMERICAN": Board.FULL_BOARD,  # American plan: three meals
    "FAMILY_AMERICAN": Board.FULL_BOARD,
    "ALL_INCLUSIVE": Board.ALL_INCLUSIVE,
}
"""Amadeus board types by the board they at least include; anything else (LUNCH, DINNER,
AS_BROCHURED...) or nothing at all is promised as room only, never as more than stated."""
KILOMETRES_PER = {"KM": 1.0, "KILOMETERS": 1.0, "MILE": 1.609344, "MILES": 1.609344}


class _TokenReply(_Vendor):
    access_token: str = Field(min_length=1)
    expires_in: int = Field(ge=1)
    state: str | None = None


class _Endpoint(_Vendor):
    iataCode: str
    at: datetime


class _Code(_Vendor):
    code: str | None = None


class _FlightSegment(_Vendor):
    departure: _Endpoint
    arrival: _Endpoint
    carrierCode: str
    number: str
    aircraft: _Code | None = None
    duration: timedelta | None = None


class _Itinerary(_Vendor):
    duration: timedelta | None = None
    segments: list[_FlightSegment] = Field(min_length=1)


class _FlightPrice(_Vendor):
    currency: str
    total: Decimal | None = None
    grandTotal: Decimal | None = None


class _FareDetail(_Vendor):
    cabin: str | None = None


class _TravelerPricing(_Vendor):
    fareDetailsBySegment: list[_FareDetail] = Field(default_factory=list)


class _PricingOptions(_Vendor):
    refundableFare: bool = False
    noPenaltyFare: bool = False
    noRestrictionFare: bool = False


class _FlightOffer(_Vendor):
    id: str
    itineraries: list[_Itinerary] = Field(min_length=1)
    price: _FlightPrice
    numberOfBookableSeats: int | None = None
    travelerPricings: list[_TravelerPricing] = Field(default_factory=list)
    pricingOptions: _PricingOptions = Field(default_factory=_PricingOptions)


class _Dictionaries(_Vendor):
    carriers: dict[str, str] = Field(default_factory=dict)
    aircraft: dict[str, str] = Field(default_factory=dict)


class _FlightReply(_Vendor):
    data: list[dict[str, Any]] = Field(default_factory=list)
    dictionaries: _Dictionaries = Field(default_factory=_Dictionaries)


class _GeoCode(_Vendor):
    latitude: float | None = None
    longitude: float | None = None


class _Distance(_Vendor):
    value: float | None = None
    unit: str | None = None


class _Address(_Vendor):
    lines: list[str] = Field(default_factory=list)
    postalCode: str | None = None
    cityName: str | None = None
    countryCode: str | None = None


class _ListedHotel(_Vendor):
    hotelId: str
    name: str | None = None
    iataCode: str | None = None
    geoCode: _GeoCode | None = None
    address: _Address | None = None
    distance: _Distance | None = None
    rating: int | None = None


class _DataList(_Vendor):
    data: list[dict[str, Any]] = Field(default_factory=list)


class _Hotel(_Vendor):
    hotelId: str
    name: str | None = None
    cityCode: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class _RoomEstimate(_Vendor):
    category: str | None = None
    beds: int | None = None
    bedType: str | None = None


class _Room(_Vendor):
    type: str | None = None
    typeEstimated: _RoomEstimate | None = None


class _PriceChange(_Vendor):
    total: Decimal | None = None


class _Variations(_Vendor):
    changes: list[_PriceChange] = Field(default_factory=list)


class _HotelPrice(_Vendor):
    currency: str
    total: Decimal | None = None
    sellingTotal: Decimal | None = None
    variations: _Variations | None = None


class _Cancellation(_Vendor):
    deadline: datetime | None = None


class _Policies(_Vendor):
    # The spec names a list `cancellations`; its own example (and live replies) send one
    # object `cancellation`. Both are read.
    cancellation: _Cancellation | None = None
    cancellations: list[_Cancellation] = Field(default_factory=list)


class _RoomOffer(_Vendor):
    id: str
    checkInDate: date
    checkOutDate: date
    boardType: str | None = None
    room: _Room | None = None
    price: _HotelPrice
    policies: _Policies | None = None


class _HotelOffers(_Vendor):
    hotel: _Hotel
    available: bool = True
    offers: list[dict[str, Any]] = Field(default_factory=list)


ReplyT = TypeVar("ReplyT", bound=_Vendor)


class _Unmappable(ValueError):
    """A vendor offer that cannot become one of ours (unknown time zone, no price)."""


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


class AmadeusProvider:
    """Flights and hotels from Amadeus Self-Service (https://developers.amadeus.com)."""

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
        self._http = ResilientClient(
            client=client,
            provider="Amadeus",
            base_url=base_url,
            resilience=resilience,
            sleep=sleep,
            clock=clock,
            now=now,
        )
        self._credentials = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._max_flight_offers = max_flight_offers
        self._max_hotels = min(max_hotels, MAX_HOTEL_IDS)
        self._refresh_margin = token_refresh_margin
        self._zones = airport_time_zones
        self._clock = clock
        self._now = now
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    @property
    def http(self) -> ResilientClient:
        """The resilient client (and its circuit breaker) this provider calls Amadeus through."""
        return self._http

    async def search_flights(self, query: FlightQuery) -> list[FlightOffer]:
        """Every Amadeus flight offer for `query` (at most `max_flight_offers`), unsorted."""
        params: dict[str, str | int] = {
            "originLocationCode": query.origin,
            "destinationLocationCode": query.destination,
            "departureDate": query.departure_date.isoformat(),
            "adults": query.adults,
            "travelClass": query.cabin.value.upper(),
            "currencyCode": query.currency,
            "max": self._max_flight_offers,
        }
        if query.return_date is not None:
            params["returnDate"] = query.return_date.isoformat()
        if query.children:
            params["children"] = query.children
        if query.infants:
            params["infants"] = query.infants
        reply = _read(_FlightReply, await self._get("/v2/shopping/flight-offers", params))
        if not reply.data:
            return []
        zones = await self._airport_time_zones()
        expiry = self._now() + OFFER_LIFETIME
        offers: list[FlightOffer] = []
        for raw in reply.data:
            try:
                vendor = _FlightOffer.model_validate(raw)
                offers.append(
                    _flight_offer(vendor, _offer_id(raw), query, reply.dictionaries, zones, expiry)
                )
            except (ValidationError, _Unmappable) as exc:
                log.warning("Amadeus flight offer %s skipped: %s", raw.get("id"), _reason(exc))
        if not offers:
            raise ProviderError(
                "Amadeus sent flight offers I could not read; please try again later."
            )
        return offers

    async def search_hotels(self, query: HotelQuery) -> list[HotelOffer]:
        """Offers of the first `max_hotels` hotels Amadeus lists around the city or the point."""
        hotels = await self._list_hotels(query)
        if not hotels:
            return []
        params: dict[str, str | int] = {
            "hotelIds": ",".join(hotels),
            "checkInDate": query.check_in.isoformat(),
            "checkOutDate": query.check_out.isoformat(),
            "adults": math.ceil(query.guests / query.rooms),  # Amadeus counts adults per room
            "roomQuantity": query.rooms,
            "currency": query.currency,
        }
        try:
            reply = _read(_DataList, await self._get("/v3/shopping/hotel-offers", params))
        except NotFound:
            return []
        except RejectedSearch as refusal:
            if refusal.code in NOTHING_FOUND:
                return []
            raise
        expiry = self._now() + OFFER_LIFETIME
        offers: list[HotelOffer] = []
        unreadable = 0
        for raw in reply.data:
            try:
                entry = _HotelOffers.model_validate(raw)
            except ValidationError as exc:
                unreadable += 1
                log.warning("Amadeus hotel entry skipped: %s", _reason(exc))
                continue
            if not entry.available:
                continue
            listed = hotels.get(entry.hotel.hotelId)
            for raw_offer in entry.offers:
                try:
                    room_offer = _RoomOffer.model_validate(raw_offer)
                    offers.append(_hotel_offer(entry.hotel, listed, room_offer, query, expiry))
                except (ValidationError, _Unmappable) as exc:
                    unreadable += 1
                    log.warning(
                        "Amadeus hotel offer %s skipped: %s", raw_offer.get("id"), _reason(exc)
                    )
        if unreadable and not offers:
            raise ProviderError(
                "Amadeus sent hotel offers I could not read; please try again later."
            )
        return offers

    async def _list_hotels(self, query: HotelQuery) -> dict[str, _ListedHotel | None]:
        """Hotel ids around the query's point (when it has one) or city, in Amadeus's order."""
        params: dict[str, str | int | float] = {"radius": query.radius_km, "radiusUnit": "KM"}
        if query.latitude is not None and query.longitude is not None:
            path = "/v1/reference-data/locations/hotels/by-geocode"
            params |= {"latitude": query.latitude, "longitude": query.longitude}
        else:
            path = "/v1/reference-data/locations/hotels/by-city"
            params["cityCode"] = query.city_code or ""
        try:
            reply = _read(_DataList, await self._get(path, params))
        except NotFound:
            return {}  # Hotel List answers 404 "NOT FOUND" (code 1797) when nothing matches
        except RejectedSearch as refusal:
            if refusal.code in NOTHING_FOUND:
                return {}
            raise
        hotels: dict[str, _ListedHotel | None] = {}
        for raw in reply.data:
            hotel_id = raw.get("hotelId")
            if not isinstance(hotel_id, str) or hotel_id in hotels:
                continue
            try:
                hotels[hotel_id] = _ListedHotel.model_validate(raw)
            except ValidationError:
                hotels[hotel_id] = None  # the id is enough to ask for offers
            if len(hotels) >= self._max_hotels:
                break
        return hotels

    async def _get(self, path: str, params: QueryParams) -> object:
        token = await self._access_token()
        try:
            return await self._http.request_json("GET", path, params=params, headers=_auth(token))
        except CredentialsRefused:
            # The token may have been revoked or have expired early: get a new one, once.
            self._forget(token)
        token = await self._access_token()
        return await self._http.request_json("GET", path, params=params, headers=_auth(token))

    async def _access_token(self) -> str:
        """A valid OAuth2 token; concurrent callers share a single token request."""
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.value
        async with self._token_lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = self._token = await self._fetch_token()
            return token.value

    async def _fetch_token(self) -> _Token:
        started = self._clock()
        reply = _read(
            _TokenReply,
            await self._http.request_json(
                "POST", "/v1/security/oauth2/token", form=self._credentials
            ),
        )
        if reply.state not in (None, "approved"):
            log.warning("Amadeus issued a token in state %r", reply.state)
            raise CredentialsRefused(
                "Amadeus did not approve the travel hub's credentials, so I cannot search there"
                " until an administrator fixes them."
            )
        # Refresh a little before the end, so no request leaves with a token about to expire.
        margin = min(self._refresh_margin, reply.expires_in / 2)
        log.info("Amadeus access token obtained, valid for %d s", reply.expires_in)
        return _Token(reply.access_token, started + reply.expires_in - margin)

    def _forget(self, token: str) -> None:
        if self._token is not None and self._token.value == token:
            self._token = None

    async def _airport_time_zones(self) -> Mapping[str, str]:
        if self._zones is None:
            self._zones = await asyncio.to_thread(_load_airport_time_zones)
        return self._zones


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.amadeus+json"}


def _read(model: type[ReplyT], payload: object) -> ReplyT:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        log.warning("Amadeus reply does not fit %s: %s", model.__name__, _reason(exc))
        raise ProviderError(
            "Amadeus sent a reply I could not read; please try again in a little while."
        ) from exc


def _offer_id(raw: Mapping[str, Any]) -> str:
    """A durable id: Amadeus numbers offers "1", "2"... afresh in every reply."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return f"{raw.get('id')}-{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


def _flight_offer(
    offer: _FlightOffer,
    offer_id: str,
    query: FlightQuery,
    dictionaries: _Dictionaries,
    zones: Mapping[str, str],
    expiry: datetime,
) -> FlightOffer:
    total = offer.price.grandTotal if offer.price.grandTotal is not None else offer.price.total
    if total is None:
        raise _Unmappable("the offer has no price")
    cabins = [
        CABINS[detail.cabin]
        for pricing in offer.travelerPricings
        for detail in pricing.fareDetailsBySegment
        if detail.cabin in CABINS
    ]
    return FlightOffer(
        id=offer_id,
        provider=AmadeusProvider.name,
        journeys=tuple(_journey(i, dictionaries, zones) for i in offer.itineraries),
        # Mixed cabins are sold as the lowest one, so that is what the traveller is promised.
        cabin=min(cabins, key=CABIN_ORDER.index) if cabins else query.cabin,
        passengers=len(offer.travelerPricings) or query.passengers,
        total_price=total,
        currency=offer.price.currency,
        seats_left=offer.numberOfBookableSeats,
        conditions=_fare_conditions(offer.pricingOptions),
        expires_at=expiry,
    )


def _journey(
    itinerary: _Itinerary, dictionaries: _Dictionaries, zones: Mapping[str, str]
) -> Journey:
    segments = tuple(_segment(s, dictionaries, zones) for s in itinerary.segments)
    elapsed = segments[-1].arrival - segments[0].departure
    return Journey(segments=segments, duration_minutes=_minutes(itinerary.duration or elapsed))


def _segment(
    segment: _FlightSegment, dictionaries: _Dictionaries, zones: Mapping[str, str]
) -> Segment:
    departure = _local(segment.departure, zones)
    arrival = _local(segment.arrival, zones)
    aircraft_code = segment.aircraft.code if segment.aircraft else None
    return Segment(
        carrier_code=segment.carrierCode,
        carrier_name=dictionaries.carriers.get(segment.carrierCode, segment.carrierCode),
        flight_number=f"{segment.carrierCode}{segment.number}",
        origin=segment.departure.iataCode,
        destination=segment.arrival.iataCode,
        departure=departure,
        arrival=arrival,
        duration_minutes=_minutes(segment.duration or arrival - departure),
        aircraft=dictionaries.aircraft.get(aircraft_code, aircraft_code) if aircraft_code else None,
    )


def _local(endpoint: _Endpoint, zones: Mapping[str, str]) -> datetime:
    """Amadeus's local time (no offset) made aware in the airport's time zone."""
    name = zones.get(endpoint.iataCode)
    if name is None:
        raise _Unmappable(f"no time zone is known for {endpoint.iataCode}")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _Unmappable(f"unknown time zone {name!r} for {endpoint.iataCode}") from exc
    if endpoint.at.tzinfo is not None:
        return endpoint.at.astimezone(zone)
    return endpoint.at.replace(tzinfo=zone)


def _fare_conditions(options: _PricingOptions) -> FareConditions:
    # Flight Offers Search states no fare rules; only these flags say anything, so nothing
    # more is promised (refunds and changes are confirmed when the offer is priced).
    if options.noPenaltyFare:
        return FareConditions(
            refundable=True, change_fee=Decimal("0"), cancellation_fee=Decimal("0")
        )
    return FareConditions(
        refundable=options.refundableFare,
        change_fee=Decimal("0") if options.noRestrictionFare else None,
    )


def _hotel_offer(
    hotel: _Hotel,
    listed: _ListedHotel | None,
    offer: _RoomOffer,
    query: HotelQuery,
    expiry: datetime,
) -> HotelOffer:
    nights = (offer.checkOutDate - offer.checkInDate).days
    if nights < 1:
        raise _Unmappable("the stay has no night")
    total = _hotel_total(offer.price)
    geo = listed.geoCode if listed and listed.geoCode else _GeoCode()
    address = listed.address if listed else None
    return HotelOffer(
        id=offer.id,
        provider=AmadeusProvider.name,
        hotel_id=hotel.hotelId,
        name=hotel.name or (listed.name if listed else None) or hotel.hotelId,
        stars=listed.rating if listed and listed.rating in range(1, 6) else None,
        address=_address(address),
        city=_city(hotel, listed, query),
        latitude=hotel.latitude if hotel.latitude is not None else geo.latitude,
        longitude=hotel.longitude if hotel.longitude is not None else geo.longitude,
        # The list's distance is to the city centre, or to the traveller's point when searched so.
        distance_km=_kilometres(listed.distance if listed else None),
        room_type=_room_type(offer.room),
        board=BOARDS.get(offer.boardType or "", Board.ROOM_ONLY),
        check_in=offer.checkInDate,
        check_out=offer.checkOutDate,
        rooms=query.rooms,
        guests=query.guests,
        nightly_price=_per_night(total, nights),
        total_price=total,
        currency=offer.price.currency,
        free_cancellation_until=_free_cancellation_until(offer.policies),
        expires_at=expiry,
    )


def _city(hotel: _Hotel, listed: _ListedHotel | None, query: HotelQuery) -> str:
    """The city's name when Amadeus gives it, else its IATA city code."""
    named = listed.address.cityName if listed and listed.address else None
    listed_code = listed.iataCode if listed else None
    return (named or hotel.cityCode or listed_code or query.city_code or "")[:100]


def _hotel_total(price: _HotelPrice) -> Decimal:
    if price.total is not None:
        return price.total
    if price.sellingTotal is not None:
        return price.sellingTotal
    nights = price.variations.changes if price.variations else []
    if nights and all(change.total is not None for change in nights):
        return sum((change.total for change in nights if change.total is not None), Decimal(0))
    raise _Unmappable("the offer has no total price")


def _per_night(total: Decimal, nights: int) -> Decimal:
    exponent = total.as_tuple().exponent
    places = Decimal(1).scaleb(exponent if isinstance(exponent, int) else -2)
    return (total / nights).quantize(places, rounding=ROUND_HALF_UP)


def _free_cancellation_until(policies: _Policies | None) -> datetime | None:
    """The earliest penalty deadline, when every cancellation rule has one and it is aware;
    no rule, a rule without deadline (penalty from booking) or a naive one promise nothing."""
    if policies is None:
        return None
    rules = [*policies.cancellations, *([policies.cancellation] if policies.cancellation else [])]
    deadlines = [rule.deadline for rule in rules]
    if not rules or any(d is None or d.tzinfo is None for d in deadlines):
        return None
    return min(d for d in deadlines if d is not None)


def _room_type(room: _Room | None) -> str:
    estimate = room.typeEstimated if room else None
    if estimate and estimate.category:
        return estimate.category.replace("_", " ").capitalize()[:100]
    if estimate and estimate.beds and estimate.bedType:
        bed = estimate.bedType.lower()
        return f"Room with {estimate.beds} {bed} bed{'s' if estimate.beds > 1 else ''}"[:100]
    return "Room"


def _address(address: _Address | None) -> str | None:
    if address is None:
        return None
    parts = [*address.lines, " ".join(p for p in (address.postalCode, address.cityName) if p)]
    text = ", ".join(part for part in parts if part)
    return text[:500] or None


def _kilometres(distance: _Distance | None) -> float | None:
    if distance is None or distance.value is None or distance.value < 0:
        return None
    factor = KILOMETRES_PER.get((distance.unit or "KM").upper())
    return None if factor is None else round(distance.value * factor, 2)
