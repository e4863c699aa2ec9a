"""Amadeus hotels: Hotel List then Hotel Search v3 for a search, and the offer priced again by
its id before booking (https://developers.amadeus.com)."""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import Field, ValidationError

from db.models.enums import Board
from tools.errors import ProviderError
from tools.money import InexactAmount, exact, quantize
from tools.offers import HotelOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.amadeus_auth import AmadeusSession, read
from tools.providers.http import NotFound, Now, RejectedRequest, RejectedSearch
from tools.providers.vendor_json import VendorModel as _Vendor
from tools.providers.vendor_json import reason as _reason
from tools.queries import HotelQuery

log = logging.getLogger(__name__)

PROVIDER = "amadeus"
OFFERS_PATH = "/v3/shopping/hotel-offers"
OFFER_LIFETIME = timedelta(minutes=20)
"""Hotel offers carry no expiry of their own; they are priced again by id before booking."""
MAX_HOTEL_IDS = 20
"""Hotel Search v3 accepts at most 20 `hotelIds` per request."""
NOTHING_FOUND = {
    "895",  # Hotel List: NOTHING FOUND FOR REQUESTED CITY
    "424",  # Hotel Search: NO HOTELS FOUND WHICH MATCH THIS INPUT
    "3664",  # Hotel Search: NO ROOMS AVAILABLE AT REQUESTED PROPERTY (live replies; not in spec)
}
"""Amadeus error codes that mean "no results" rather than "bad request"."""
NOT_BOOKABLE = (
    "Booking hotels through Amadeus is not available yet; please choose a hotel from another"
    " provider, or book this one directly with the hotel."
)
"""Amadeus's Hotel Booking API has no recorded payload to build and test an adapter against."""
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


class _OfferReply(_Vendor):
    data: _HotelOffers


class _Unmappable(ValueError):
    """A vendor offer that cannot become one of ours (no night, no price)."""


class AmadeusHotels:
    """Hotel search, and the pricing half of hotel orders, through one Amadeus session."""

    def __init__(self, session: AmadeusSession, *, max_hotels: int, now: Now) -> None:
        self._session = session
        self._max_hotels = min(max_hotels, MAX_HOTEL_IDS)
        self._now = now

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
            reply = read(_DataList, await self._session.call("GET", OFFERS_PATH, params=params))
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

    async def reprice_hotel(self, offer: HotelOffer) -> HotelOffer | None:
        """The room as Amadeus sells it now (Hotel Search v3, offer by id), or None when it is
        gone. The hotel stays as the search described it (the by-id reply has no hotel list
        details); the room, its board, price and cancellation terms are Amadeus's current ones."""
        vendor_id = str(offer.provider_data.get("offer_id") or offer.id)
        try:
            reply = await self._session.call(
                "GET", f"{OFFERS_PATH}/{quote(vendor_id, safe='')}", about="the price check"
            )
        except NotFound:
            log.info("Amadeus no longer knows hotel offer %s", vendor_id)
            return None
        except RejectedRequest as refusal:
            if refusal.code in NOTHING_FOUND:
                log.info("Amadeus no longer sells hotel offer %s (%s)", vendor_id, refusal.code)
                return None
            raise
        entry = read(_OfferReply, reply).data
        if not entry.available or not entry.offers:
            return None
        raw = next((o for o in entry.offers if o.get("id") == vendor_id), entry.offers[0])
        try:
            room = _RoomOffer.model_validate(raw)
            nights = _nights(room)
            total = _hotel_total(room.price)
        except (ValidationError, _Unmappable) as exc:
            log.warning("Amadeus hotel offer %s unreadable: %s", vendor_id, _reason(exc))
            raise ProviderError(
                "Amadeus sent a price I could not read; please try again later."
            ) from exc
        return offer.model_copy(
            update={
                "room_type": _room_type(room.room),
                "board": BOARDS.get(room.boardType or "", Board.ROOM_ONLY),
                "check_in": room.checkInDate,
                "check_out": room.checkOutDate,
                "nightly_price": _per_night(total, nights, room.price.currency),
                "total_price": total,
                "currency": room.price.currency,
                "free_cancellation_until": _free_cancellation_until(room.policies),
                "provider_data": {"offer_id": room.id},
            }
        )

    async def order_hotel(
        self,
        offer: HotelOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        """Not available yet: always raises ProviderError, before anything is sent."""
        del travellers, contact, idempotency_key
        log.info("Amadeus hotel offer %s not ordered: hotel booking is not available", offer.id)
        raise ProviderError(NOT_BOOKABLE)

    async def cancel_hotel_order(self, order_id: str) -> None:
        """Not available yet (no Amadeus hotel order can exist): always raises ProviderError."""
        del order_id
        raise ProviderError(NOT_BOOKABLE)

    async def find_hotel_order(
        self, *, offer_id: str, idempotency_key: str, order_id: str | None
    ) -> PlacedOrder | None:
        """None: no Amadeus hotel order is ever sent, so none can exist."""
        del offer_id, idempotency_key, order_id
        return None

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
            reply = read(_DataList, await self._session.call("GET", path, params=params))
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


def _hotel_offer(
    hotel: _Hotel,
    listed: _ListedHotel | None,
    offer: _RoomOffer,
    query: HotelQuery,
    expiry: datetime,
) -> HotelOffer:
    nights = _nights(offer)
    total = _hotel_total(offer.price)
    geo = listed.geoCode if listed and listed.geoCode else _GeoCode()
    address = listed.address if listed else None
    return HotelOffer(
        id=offer.id,
        provider=PROVIDER,
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
        nightly_price=_per_night(total, nights, offer.price.currency),
        total_price=total,
        currency=offer.price.currency,
        free_cancellation_until=_free_cancellation_until(offer.policies),
        expires_at=expiry,
        # Pricing the room again before booking asks for it by this id.
        provider_data={"offer_id": offer.id},
    )


def _nights(offer: _RoomOffer) -> int:
    nights = (offer.checkOutDate - offer.checkInDate).days
    if nights < 1:
        raise _Unmappable("the stay has no night")
    return nights


def _city(hotel: _Hotel, listed: _ListedHotel | None, query: HotelQuery) -> str:
    """The city's name when Amadeus gives it, else its IATA city code."""
    named = listed.address.cityName if listed and listed.address else None
    listed_code = listed.iataCode if listed else None
    return (named or hotel.cityCode or listed_code or query.city_code or "")[:100]


def _hotel_total(price: _HotelPrice) -> Decimal:
    """The stay's total, exactly, in the currency's minor units ("16200" JPY, "99.50" EUR)."""
    if price.total is not None:
        total = price.total
    elif price.sellingTotal is not None:
        total = price.sellingTotal
    else:
        nights = price.variations.changes if price.variations else []
        if not nights or any(change.total is None for change in nights):
            raise _Unmappable("the offer has no total price")
        total = sum((change.total for change in nights if change.total is not None), Decimal(0))
    try:
        return exact(total, price.currency)
    except InexactAmount as exc:
        raise _Unmappable(str(exc)) from exc


def _per_night(total: Decimal, nights: int, currency: str) -> Decimal:
    return quantize(total / nights, currency)


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
