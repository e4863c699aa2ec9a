"""Amadeus flights: Flight Offers Search, then Flight Offers Price, Flight Create Orders and
Flight Order Management for booking what was found (https://developers.amadeus.com)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError

from db.models.enums import Cabin
from tools.errors import ProviderError
from tools.money import InexactAmount, exact
from tools.offers import FareConditions, FlightOffer, Journey, Segment
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.amadeus_auth import AmadeusSession, read
from tools.providers.http import (
    NotFound,
    Now,
    OutcomeUnknown,
    RejectedRequest,
    unconfirmed_sentence,
)
from tools.providers.party import Kind, pair_travellers
from tools.providers.vendor_json import VendorModel as _Vendor
from tools.providers.vendor_json import load_airport_time_zones as _load_airport_time_zones
from tools.providers.vendor_json import minutes as _minutes
from tools.providers.vendor_json import reason as _reason
from tools.queries import FlightQuery

log = logging.getLogger(__name__)

PROVIDER = "amadeus"
SEARCH_PATH = "/v2/shopping/flight-offers"
PRICING_PATH = "/v1/shopping/flight-offers/pricing"
ORDERS_PATH = "/v1/booking/flight-orders"
OFFER_LIFETIME = timedelta(minutes=20)
"""Amadeus search offers carry no expiry of their own; they are re-priced before booking."""
CABIN_ORDER = (Cabin.ECONOMY, Cabin.PREMIUM_ECONOMY, Cabin.BUSINESS, Cabin.FIRST)
CABINS = {cabin.value.upper(): cabin for cabin in Cabin}
OFFER_GONE = {"34651"}
"""Amadeus error codes saying the offer can no longer be sold (SEGMENT SELL FAILURE)."""
"""A passenger as Passenger.kind names it."""
TRAVELER_KINDS: dict[str, Kind] = {
    "ADULT": "adult",
    "SENIOR": "adult",
    "YOUNG": "adult",
    "STUDENT": "adult",
    "CHILD": "child",
    "HELD_INFANT": "infant",
    "SEATED_INFANT": "infant",
}
"""Amadeus traveler types by the Passenger kind that books them."""


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
    travelerId: str | None = None
    travelerType: str | None = None
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


class _Priced(_Vendor):
    flightOffers: list[dict[str, Any]] = Field(default_factory=list)


class _PricingReply(_Vendor):
    data: _Priced
    dictionaries: _Dictionaries = Field(default_factory=_Dictionaries)


class _Record(_Vendor):
    reference: str | None = Field(default=None, max_length=50)


class _FlightOrder(_Vendor):
    id: str = Field(min_length=1)
    associatedRecords: list[_Record] = Field(default_factory=list)


class _OrderReply(_Vendor):
    data: _FlightOrder


class _Unmappable(ValueError):
    """A vendor offer that cannot become one of ours (unknown time zone, no price)."""


class AmadeusFlights:
    """Flight search and flight orders through one authenticated Amadeus session."""

    def __init__(
        self,
        session: AmadeusSession,
        *,
        max_offers: int,
        airport_time_zones: Mapping[str, str] | None,
        now: Now,
    ) -> None:
        self._session = session
        self._max_offers = max_offers
        self._zones = airport_time_zones
        self._now = now

    async def search_flights(self, query: FlightQuery) -> list[FlightOffer]:
        """Every Amadeus flight offer for `query` (at most `max_offers`), unsorted."""
        params: dict[str, str | int] = {
            "originLocationCode": query.origin,
            "destinationLocationCode": query.destination,
            "departureDate": query.departure_date.isoformat(),
            "adults": query.adults,
            "travelClass": query.cabin.value.upper(),
            "currencyCode": query.currency,
            "max": self._max_offers,
        }
        if query.return_date is not None:
            params["returnDate"] = query.return_date.isoformat()
        if query.children:
            params["children"] = query.children
        if query.infants:
            params["infants"] = query.infants
        reply = read(_FlightReply, await self._session.call("GET", SEARCH_PATH, params=params))
        if not reply.data:
            return []
        zones = await self._airport_time_zones()
        expiry = self._now() + OFFER_LIFETIME
        offers: list[FlightOffer] = []
        for raw in reply.data:
            try:
                vendor = _FlightOffer.model_validate(raw)
                offer = _flight_offer(
                    vendor,
                    raw,
                    _offer_id(raw),
                    reply.dictionaries,
                    zones,
                    cabin=query.cabin,
                    passengers=query.passengers,
                    expiry=expiry,
                )
                offers.append(offer)
            except (ValidationError, _Unmappable) as exc:
                log.warning("Amadeus flight offer %s skipped: %s", raw.get("id"), _reason(exc))
        if not offers:
            raise ProviderError(
                "Amadeus sent flight offers I could not read; please try again later."
            )
        return offers

    async def reprice_flight(self, offer: FlightOffer) -> FlightOffer | None:
        """The offer as Amadeus prices it now (Flight Offers Price), under the same id, or None
        when Amadeus no longer sells it. The priced offer replaces the searched one in
        `provider_data`: it is the one Flight Create Orders expects."""
        raw = _vendor_offer(offer)
        body = {"data": {"type": "flight-offers-pricing", "flightOffers": [raw]}}
        try:
            reply = await self._session.call(
                "POST",
                PRICING_PATH,
                json=body,
                # Amadeus requires it: the pricing POST is a read carrying a large body.
                headers={"X-HTTP-Method-Override": "GET"},
                about="the price check",
            )
        except NotFound:
            log.info("Amadeus no longer knows flight offer %s", offer.id)
            return None
        except RejectedRequest as refusal:
            if refusal.code in OFFER_GONE:
                log.info("Amadeus no longer sells flight offer %s (%s)", offer.id, refusal.code)
                return None
            raise
        priced = read(_PricingReply, reply)
        if not priced.data.flightOffers:
            return None
        current = priced.data.flightOffers[0]
        # Pricing replies carry no carrier or aircraft names: keep those the search gave.
        names = _names_from(offer, raw)
        names = _Dictionaries(
            carriers={**names.carriers, **priced.dictionaries.carriers},
            aircraft={**names.aircraft, **priced.dictionaries.aircraft},
        )
        try:
            vendor = _FlightOffer.model_validate(current)
            repriced = _flight_offer(
                vendor,
                current,
                offer.id,
                names,
                await self._airport_time_zones(),
                cabin=offer.cabin,
                passengers=offer.passengers,
                expiry=offer.expires_at,
            )
        except (ValidationError, _Unmappable) as exc:
            log.warning("Amadeus priced offer for %s unreadable: %s", offer.id, _reason(exc))
            raise ProviderError(
                "Amadeus sent a price I could not read; please try again later."
            ) from exc
        return repriced.model_copy(update={"search": offer.search})

    async def order_flight(
        self,
        offer: FlightOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        """Book `offer` (as last priced) with Flight Create Orders.

        Amadeus documents no idempotency key for orders, so the order is sent once: a failure
        after it may have been processed raises OutcomeUnknown rather than risk a second
        booking. Nor has the order a field for our key that stays out of the airline's record,
        so the key goes to the log, where an operator can match an order to its booking.
        """
        body = order_body(offer, travellers=travellers, contact=contact)
        try:
            reply = await self._session.call(
                "POST", ORDERS_PATH, json=body, repeatable=False, about="the order"
            )
        except OutcomeUnknown:
            log.warning(
                "Amadeus may have placed an order for offer %s (key %s): check before it is"
                " booked again", offer.id, idempotency_key,
            )  # fmt: skip
            raise
        try:
            order = _OrderReply.model_validate(reply).data
        except ValidationError as exc:
            # Amadeus answered 2xx, so the order may well exist: say so rather than "failed".
            log.warning("Amadeus order reply for %s unreadable: %s", offer.id, _reason(exc))
            raise OutcomeUnknown(
                unconfirmed_sentence("Amadeus", "the order"), status=None, code=None
            ) from exc
        reference = next((r.reference for r in order.associatedRecords if r.reference), None)
        log.info(
            "Amadeus order %s placed for offer %s (key %s)", order.id, offer.id, idempotency_key
        )
        return PlacedOrder(order_id=order.id, provider_reference=reference)

    async def find_flight_order(
        self, *, offer_id: str, idempotency_key: str, order_id: str | None
    ) -> PlacedOrder | None:
        """The order as Flight Order Management knows it (GET by id; 404: there is none).

        Amadeus keeps no key of ours, so an order whose id never reached us cannot be found:
        ProviderError, for an operator to look for it by the traveller's name.
        """
        del offer_id, idempotency_key
        if order_id is None:
            raise ProviderError("Amadeus cannot look an order up by our key")
        try:
            reply = await self._session.call(
                "GET", f"{ORDERS_PATH}/{quote(order_id, safe='%')}", about="the order"
            )
        except NotFound:
            return None
        order = read(_OrderReply, reply).data
        reference = next((r.reference for r in order.associatedRecords if r.reference), None)
        return PlacedOrder(order_id=order.id, provider_reference=reference)

    async def cancel_flight_order(self, order_id: str) -> None:
        """Cancel an Amadeus flight order (Flight Order Management: DELETE, 204 No Content)."""
        # Amadeus's order ids may come percent-encoded already: keep their escapes as sent.
        try:
            await self._session.call(
                "DELETE", f"{ORDERS_PATH}/{quote(order_id, safe='%')}", about="the cancellation"
            )
        except NotFound as missing:
            log.warning("Amadeus knows no order %s to cancel", order_id)
            raise ProviderError(
                "Amadeus could not find this flight order to cancel; it may have been cancelled"
                " already."
            ) from missing
        log.info("Amadeus order %s cancelled", order_id)

    async def _airport_time_zones(self) -> Mapping[str, str]:
        if self._zones is None:
            self._zones = await asyncio.to_thread(_load_airport_time_zones)
        return self._zones


def order_body(
    offer: FlightOffer, *, travellers: Sequence[Passenger], contact: Contact
) -> dict[str, object]:
    """The JSON body of Flight Create Orders for `offer`: the offer verbatim, and travelers.

    Raises ProviderError, in one sentence, when the travellers do not fit the offer or miss
    what Amadeus requires (a date of birth, a family name). The contact's phone is not sent:
    Amadeus wants its country calling code apart, which a free-text number does not say.
    """
    raw = _vendor_offer(offer)
    try:
        slots = _FlightOffer.model_validate(raw).travelerPricings
    except ValidationError:
        slots = []
    if not slots or any(slot.travelerId is None for slot in slots):
        raise ProviderError(_FOUND_BEFORE)
    travelers: list[dict[str, object]] = []
    for slot, traveller, position in pair_travellers(slots, travellers, _kind):
        if traveller.born_on is None:
            raise ProviderError(
                f"Amadeus needs the date of birth of every traveller to book this flight, and"
                f" traveller {position} has none; please add it and try again."
            )
        if not traveller.family_name.strip():
            raise ProviderError(
                f"Amadeus needs the family name of every traveller to book this flight, and"
                f" traveller {position} has none; please add it and try again."
            )
        travelers.append(
            {
                "id": slot.travelerId,
                "dateOfBirth": traveller.born_on.isoformat(),
                "name": {"firstName": traveller.given_name, "lastName": traveller.family_name},
                "contact": {"emailAddress": str(contact.email)},
            }
        )
    return {"data": {"type": "flight-order", "flightOffers": [raw], "travelers": travelers}}


_FOUND_BEFORE = (
    "This Amadeus offer cannot be booked as it was found; please search again and book from"
    " the new results."
)


def _vendor_offer(offer: FlightOffer) -> dict[str, Any]:
    """The Amadeus flight-offer object kept with `offer`; pricing and ordering need it verbatim."""
    raw = offer.provider_data.get("flight_offer")
    if not isinstance(raw, dict):
        # An offer found before the vendor object was kept (an old cached search, say).
        raise ProviderError(_FOUND_BEFORE)
    return raw


def _kind(slot: _TravelerPricing) -> Kind:
    return TRAVELER_KINDS.get(slot.travelerType or "", "adult")


def _names_from(offer: FlightOffer, raw: Mapping[str, Any]) -> _Dictionaries:
    """The carrier and aircraft names the search gave `offer`, by the codes of its vendor object."""
    segments = [s for journey in offer.journeys for s in journey.segments]
    carriers = {s.carrier_code: s.carrier_name for s in segments}
    aircraft: dict[str, str] = {}
    try:
        vendor = _FlightOffer.model_validate(raw)
    except ValidationError:
        return _Dictionaries(carriers=carriers)
    raw_segments = [s for itinerary in vendor.itineraries for s in itinerary.segments]
    for raw_segment, segment in zip(raw_segments, segments, strict=False):
        code = raw_segment.aircraft.code if raw_segment.aircraft else None
        if code and segment.aircraft:
            aircraft[code] = segment.aircraft
    return _Dictionaries(carriers=carriers, aircraft=aircraft)


def _offer_id(raw: Mapping[str, Any]) -> str:
    """A durable id: Amadeus numbers offers "1", "2"... afresh in every reply."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return f"{raw.get('id')}-{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


def _flight_offer(
    offer: _FlightOffer,
    raw: dict[str, Any],
    offer_id: str,
    dictionaries: _Dictionaries,
    zones: Mapping[str, str],
    *,
    cabin: Cabin,
    passengers: int,
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
        provider=PROVIDER,
        journeys=tuple(_journey(i, dictionaries, zones) for i in offer.itineraries),
        # Mixed cabins are sold as the lowest one, so that is what the traveller is promised.
        cabin=min(cabins, key=CABIN_ORDER.index) if cabins else cabin,
        passengers=len(offer.travelerPricings) or passengers,
        total_price=_amount(total, offer.price.currency),
        currency=offer.price.currency,
        seats_left=offer.numberOfBookableSeats,
        conditions=_fare_conditions(offer.pricingOptions),
        expires_at=expiry,
        # Pricing and ordering take the vendor's flight-offer object back verbatim.
        provider_data={"flight_offer": raw},
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


def _amount(value: Decimal, currency: str) -> Decimal:
    """Amadeus's amount, exactly, in the currency's minor units ("16200" JPY, "99.50" EUR)."""
    try:
        return exact(value, currency)
    except InexactAmount as exc:
        raise _Unmappable(str(exc)) from exc
