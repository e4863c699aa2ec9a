"""The vendors' order desks, by provider: an item's order placed, looked for, or cancelled."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from db.models.enums import ItemType
from tools.booking_ledger import PlannedOrder
from tools.errors import ProviderError
from tools.offers import FlightOffer, HotelOffer, Offer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.providers.base import FlightOrders, HotelOrders

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VendorOrders:
    """The order desks a booking may use, by provider name."""

    flights: dict[str, FlightOrders]
    hotels: dict[str, HotelOrders]

    def sells(self, offer: Offer) -> bool:
        return offer.provider in (self.flights if isinstance(offer, FlightOffer) else self.hotels)

    async def reprice(self, offer: Offer) -> Offer | None:
        if isinstance(offer, FlightOffer):
            return await self.flights[offer.provider].reprice_flight(offer)
        assert isinstance(offer, HotelOffer)
        return await self.hotels[offer.provider].reprice_hotel(offer)

    async def place(
        self, offer: Offer, travellers: list[Passenger], contact: Contact, key: str
    ) -> PlacedOrder:
        if isinstance(offer, FlightOffer):
            return await self.flights[offer.provider].order_flight(
                offer, travellers=travellers, contact=contact, idempotency_key=key
            )
        assert isinstance(offer, HotelOffer)
        return await self.hotels[offer.provider].order_hotel(
            offer, travellers=travellers, contact=contact, idempotency_key=key
        )

    async def find(self, plan: PlannedOrder) -> PlacedOrder | None:
        """The live order the vendor holds for `plan`; ProviderError when it cannot say."""
        if plan.kind is ItemType.FLIGHT:
            if plan.provider not in self.flights:
                raise ProviderError(f"{plan.provider} flight orders are not open here")
            return await self.flights[plan.provider].find_flight_order(
                offer_id=plan.offer_id, idempotency_key=plan.key, order_id=plan.order_id
            )
        if plan.provider not in self.hotels:
            raise ProviderError(f"{plan.provider} hotel orders are not open here")
        return await self.hotels[plan.provider].find_hotel_order(
            offer_id=plan.offer_id, idempotency_key=plan.key, order_id=plan.order_id
        )

    async def cancel(self, plan: PlannedOrder, order_id: str) -> None:
        if plan.kind is ItemType.FLIGHT:
            await self.flights[plan.provider].cancel_flight_order(order_id)
        else:
            await self.hotels[plan.provider].cancel_hotel_order(order_id)

    async def cancel_all(self, placed: list[tuple[PlannedOrder, PlacedOrder]]) -> list[str]:
        """Cancel orders already placed; the ids of those the vendor would not cancel."""
        left: list[str] = []
        for plan, order in placed:
            try:
                await self.cancel(plan, order.order_id)
            except ProviderError:
                log.exception("order %s stayed open after its booking failed", order.order_id)
                left.append(order.order_id)
        return left
