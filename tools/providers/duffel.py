"""Duffel flights: one offer request for a search, and the orders placed from its offers.

Ordering follows Duffel's documented flow: an offer is priced again with "Get a single offer",
booked with an instant order paid from the Duffel balance, and cancelled by creating then
confirming an order cancellation (https://duffel.com/docs/api/v2).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import Field, ValidationError

from db.models.enums import Cabin
from tools.errors import ProviderError
from tools.money import InexactAmount, exact
from tools.offers import FareConditions, FlightOffer, Journey, Segment
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.http import (
    Clock,
    NotFound,
    Now,
    OutcomeUnknown,
    RejectedRequest,
    Resilience,
    ResilientClient,
    Sleep,
    unconfirmed_sentence,
    utc_now,
)
from tools.providers.party import Kind, pair_travellers
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
OFFER_GONE = {"offer_no_longer_available", "offer_expired"}
"""Duffel error codes (HTTP 422) saying an offer can no longer be bought."""
ORDER_NOT_CREATED = "order_not_created"
ORDER_PAGE_SIZE = 200  # the most "List orders" returns at once
ORDER_PAGES = 25
"""How far back an order is looked for by its key (Duffel's list has no filter for it)."""
"""Duffel's code (HTTP 502) guaranteeing the airline created no order and took no payment."""
"""A passenger as Passenger.kind names it."""
PASSENGER_KINDS: dict[str, Kind] = {
    "adult": "adult",
    "child": "child",
    "infant_without_seat": "infant",
}
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
PHONE_SEPARATORS = re.compile(r"[\s().\-/]")


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


class _OfferPassenger(_Vendor):
    """A passenger of the offer request; orders must name these ids."""

    id: str = Field(min_length=1)
    type: str | None = None
    age: int | None = None


class _Offer(_Vendor):
    id: str
    total_amount: Decimal
    total_currency: str
    expires_at: datetime | None = None
    partial: bool = False
    conditions: _Conditions = Field(default_factory=_Conditions)
    slices: list[_Slice] = Field(min_length=1)
    passengers: list[_OfferPassenger] = Field(default_factory=list)


class _OfferRequest(_Vendor):
    cabin_class: str | None = None
    offers: list[dict[str, Any]] = Field(default_factory=list)


class _Reply(_Vendor):
    data: _OfferRequest


class _OfferReply(_Vendor):
    data: _Offer


class _Order(_Vendor):
    id: str = Field(min_length=1)
    booking_reference: str | None = Field(default=None, max_length=50)
    cancelled_at: datetime | None = None
    metadata: dict[str, Any] | None = None

    def placed(self) -> PlacedOrder | None:
        """The order as ours, or None once it was cancelled."""
        if self.cancelled_at is not None:
            return None
        return PlacedOrder(order_id=self.id, provider_reference=self.booking_reference)


class _OrderReply(_Vendor):
    data: _Order


class _PageMeta(_Vendor):
    after: str | None = None


class _OrderList(_Vendor):
    data: list[_Order]
    meta: _PageMeta = Field(default_factory=_PageMeta)


class _Cancellation(_Vendor):
    id: str = Field(min_length=1)
    confirmed_at: datetime | None = None


class _CancellationReply(_Vendor):
    data: _Cancellation


_ReplyT = TypeVar("_ReplyT", bound=_Vendor)


class _Unmappable(ValueError):
    """An offer that cannot become a FlightOffer (an airport whose time zone nobody knows)."""


class DuffelProvider:
    """Flights from Duffel's offer requests (https://duffel.com/docs/api/v2/offer-requests), and
    the orders placed from them: both a FlightProvider and a FlightOrders."""

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
                offer = _flight_offer(
                    vendor,
                    zones or {},
                    cabin=query.cabin,
                    passengers=query.passengers,
                    default_expiry=expiry,
                )
                offers.append(offer)
            except (ValidationError, _Unmappable) as exc:
                unreadable += 1
                log.warning("Duffel offer %s skipped: %s", raw.get("id"), _reason(exc))
        if unreadable and not offers:
            raise ProviderError(
                "Duffel sent flight offers I could not read; please try again later."
            )
        return offers

    async def reprice_flight(self, offer: FlightOffer) -> FlightOffer | None:
        """The offer as Duffel sells it now ("Get a single offer"), or None when it is gone:
        unknown (404), refused as no longer available, partial, or past its expiry."""
        try:
            reply = await self._http.request_json(
                "GET",
                f"/air/offers/{quote(offer.id, safe='')}",
                headers=self._headers,
                about="the offer",
            )
        except NotFound:
            log.info("Duffel offer %s is no longer known", offer.id)
            return None
        except RejectedRequest as refusal:
            if refusal.code in OFFER_GONE:
                log.info("Duffel offer %s is no longer available (%s)", offer.id, refusal.code)
                return None
            raise
        vendor = _read(_OfferReply, reply, "offer").data
        if vendor.partial:
            return None
        zones = self._zones
        if zones is None and _needs_airport_table([_data(reply)]):
            zones = self._zones = await asyncio.to_thread(_load_airport_time_zones)
        now = self._now()
        try:
            current = _flight_offer(
                vendor,
                zones or {},
                cabin=offer.cabin,
                passengers=offer.passengers,
                default_expiry=now + OFFER_LIFETIME,
            )
        except _Unmappable as exc:
            log.warning("Duffel offer %s could not be mapped again: %s", offer.id, exc)
            raise ProviderError(
                "Duffel sent an offer I could not read; please try again later."
            ) from exc
        if current.expires_at <= now:
            log.info("Duffel offer %s expired at %s", offer.id, current.expires_at.isoformat())
            return None
        return current.model_copy(update={"search": offer.search})

    async def order_flight(
        self,
        offer: FlightOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        """An instant order for `offer`, paid from the Duffel balance ("Create an order").

        Duffel documents no idempotency key for orders (its 500 and 502 replies even say "you
        should not retry this request"), so the order is sent once: a failure after it may have
        been processed raises OutcomeUnknown rather than risk a second order. The travel hub's
        key goes into the order's `metadata`, so an operator can match an order Duffel placed
        to the booking that asked for it.
        """
        body = order_body(
            offer, travellers=travellers, contact=contact, idempotency_key=idempotency_key
        )
        try:
            reply = await self._http.request_json(
                "POST",
                "/air/orders",
                headers=self._headers,
                json=body,
                repeatable=False,
                about="the order",
            )
        except OutcomeUnknown as unknown:
            if unknown.code == ORDER_NOT_CREATED:
                raise ProviderError(
                    "The airline could not create the order through Duffel; nothing was booked"
                    " or charged."
                ) from None
            raise
        try:
            order = _OrderReply.model_validate(reply).data
        except ValidationError as exc:
            # Duffel answered 2xx, so an order may well exist: say so rather than "failed".
            log.warning("Duffel order reply for offer %s unreadable: %s", offer.id, _reason(exc))
            raise OutcomeUnknown(
                unconfirmed_sentence("Duffel", "the order"), status=None, code=None
            ) from exc
        log.info("Duffel order %s placed for offer %s", order.id, offer.id)
        return PlacedOrder(order_id=order.id, provider_reference=order.booking_reference)

    async def find_flight_order(
        self, *, offer_id: str, idempotency_key: str, order_id: str | None
    ) -> PlacedOrder | None:
        """Duffel's own record of an order: "Get a single order" when its id is known, else the
        order whose `metadata` carries our key, read from "List orders" page by page."""
        del offer_id  # Duffel's order does not say which offer it was made from
        if order_id is not None:
            try:
                reply = await self._http.request_json(
                    "GET",
                    f"/air/orders/{quote(order_id, safe='')}",
                    headers=self._headers,
                    about="the order",
                )
            except NotFound:
                return None
            return _read(_OrderReply, reply, "order").data.placed()
        params: dict[str, str | int] = {"limit": ORDER_PAGE_SIZE}
        for _page in range(ORDER_PAGES):
            reply = await self._http.request_json(
                "GET", "/air/orders", params=params, headers=self._headers, about="the orders"
            )
            page = _read(_OrderList, reply, "order list")
            for order in page.data:
                if (order.metadata or {}).get("idempotency_key") == idempotency_key:
                    return order.placed()
            if page.meta.after is None:
                return None
            params["after"] = page.meta.after
        raise ProviderError(
            f"Duffel holds more than {ORDER_PAGES * ORDER_PAGE_SIZE} orders to look through"
        )

    async def cancel_flight_order(self, order_id: str) -> None:
        """Cancel a Duffel order: create an order cancellation (a quote), then confirm it."""
        reply = await self._http.request_json(
            "POST",
            "/air/order_cancellations",
            headers=self._headers,
            json={"data": {"order_id": order_id}},
            about="the cancellation",
        )
        cancellation = _read(_CancellationReply, reply, "cancellation").data
        if cancellation.confirmed_at is None:
            reply = await self._http.request_json(
                "POST",
                f"/air/order_cancellations/{quote(cancellation.id, safe='')}/actions/confirm",
                headers=self._headers,
                about="the cancellation",
            )
            cancellation = _read(_CancellationReply, reply, "cancellation").data
        if cancellation.confirmed_at is None:
            log.warning(
                "Duffel left cancellation %s of order %s unconfirmed", cancellation.id, order_id
            )
            raise ProviderError(
                "Duffel did not confirm the cancellation; please try again in a little while."
            )
        log.info("Duffel order %s cancelled by %s", order_id, cancellation.id)


def order_body(
    offer: FlightOffer,
    *,
    travellers: Sequence[Passenger],
    contact: Contact,
    idempotency_key: str,
) -> dict[str, object]:
    """The JSON body of Duffel's "create an order" for `offer`: instant, paid from the balance.

    Raises ProviderError, in one sentence, when the travellers do not fit the offer or miss
    something Duffel requires (a date of birth, a family name, a phone number). Duffel also
    documents `gender` and `title` per passenger; Passenger has neither, so none is sent
    (never guessed), and Duffel's own refusal says so if it insists.
    """
    slots = _offer_passengers(offer)
    phone = _phone_number(contact.phone)
    pairs = pair_travellers(slots, travellers, _kind)
    infants = iter(slot.id for slot, _, _ in pairs if _kind(slot) == "infant")
    passengers: list[dict[str, object]] = []
    for slot, traveller, position in pairs:
        if traveller.born_on is None:
            raise ProviderError(
                f"Duffel needs the date of birth of every traveller to book this flight, and"
                f" traveller {position} has none; please add it and try again."
            )
        if not traveller.family_name.strip():
            raise ProviderError(
                f"Duffel needs the family name of every traveller to book this flight, and"
                f" traveller {position} has none; please add it and try again."
            )
        passenger: dict[str, object] = {
            "id": slot.id,
            "given_name": traveller.given_name,
            "family_name": traveller.family_name,
            "born_on": traveller.born_on.isoformat(),
            "email": str(contact.email),
            "phone_number": phone,
        }
        if _kind(slot) == "adult":
            # Each infant travels on an adult's lap; Duffel wants to know whose.
            infant = next(infants, None)
            if infant is not None:
                passenger["infant_passenger_id"] = infant
        passengers.append(passenger)
    return {
        "data": {
            "type": "instant",
            "selected_offers": [offer.id],
            "payments": [
                {"type": "balance", "amount": f"{offer.total_price:f}", "currency": offer.currency}
            ],
            "passengers": passengers,
            "metadata": {"idempotency_key": idempotency_key},
        }
    }


def _data(reply: object) -> dict[str, Any]:
    data = reply.get("data") if isinstance(reply, dict) else None
    return data if isinstance(data, dict) else {}


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
    offer: _Offer,
    zones: Mapping[str, str],
    *,
    cabin: Cabin,
    passengers: int,
    default_expiry: datetime,
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
        cabin=min(cabins, key=CABIN_ORDER.index) if cabins else cabin,
        passengers=len(offer.passengers) or passengers,
        total_price=_amount(offer.total_amount, offer.total_currency),
        currency=offer.total_currency,
        conditions=_fare_conditions(offer.conditions, offer.total_currency),
        expires_at=_aware_utc(offer.expires_at) if offer.expires_at else default_expiry,
        # Duffel books only the offer request's own passengers: their ids go back in the order.
        provider_data={
            "passengers": [p.model_dump(include={"id", "type", "age"}) for p in offer.passengers]
        },
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
    return _amount(condition.penalty_amount, currency)


def _amount(value: Decimal, currency: str) -> Decimal:
    """Duffel's amount, exactly, in the currency's minor units ("16200" JPY, "99.50" EUR)."""
    try:
        return exact(value, currency)
    except InexactAmount as exc:
        raise _Unmappable(str(exc)) from exc


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


def _read(model: type[_ReplyT], reply: object, what: str) -> _ReplyT:
    try:
        return model.model_validate(reply)
    except ValidationError as exc:
        log.warning("Duffel %s reply unreadable: %s", what, _reason(exc))
        raise ProviderError(
            "Duffel sent a reply I could not read; please try again in a little while."
        ) from exc


def _offer_passengers(offer: FlightOffer) -> list[_OfferPassenger]:
    """The offer request's passengers kept with the offer when it was found."""
    try:
        slots = [_OfferPassenger.model_validate(p) for p in offer.provider_data["passengers"]]
    except (KeyError, TypeError, ValidationError):
        slots = []
    if not slots:
        # An offer found before its passengers were kept (an old cached search, say).
        raise ProviderError(
            "This Duffel offer cannot be booked as it was found; please search again and book"
            " from the new results."
        )
    return slots


def _kind(slot: _OfferPassenger) -> Kind:
    known = PASSENGER_KINDS.get(slot.type or "")
    if known is not None:
        return known
    if slot.age is not None:  # a passenger asked for by age (our children)
        return "infant" if slot.age < 2 else "child" if slot.age < 18 else "adult"
    return "adult"


def _phone_number(phone: str | None) -> str:
    """The contact's phone in E.164, as Duffel requires for every passenger."""
    if phone is None or not phone.strip():
        raise ProviderError(
            "Duffel needs a contact phone number to book this flight; please add one and try again."
        )
    number = PHONE_SEPARATORS.sub("", phone)
    if number.startswith("00"):
        number = f"+{number[2:]}"
    if not E164.match(number):
        raise ProviderError(
            "Duffel needs the contact phone number in international format, such as"
            " +44 20 7946 0000; please correct it and try again."
        )
    return number
