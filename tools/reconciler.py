"""The reconciler: settles bookings left pending or ordering past their lease, asking the vendors.

A booking is left unsettled when the process making it died between two steps (or lost its
database for longer than a step may take). The vendor is the truth: every order it holds under
the booking's keys is found and the booking confirmed; or, if only part of it was ordered, the
part is cancelled and the booking failed; and when a vendor cannot say, the booking is flagged
`needs_review` for an operator. Each settlement records an analytics event.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from db.models import Booking
from db.models.enums import BookingStatus, ItemType
from tools.booking_ledger import BookingLedger, Held, PlannedOrder, StepLost
from tools.errors import ProviderError
from tools.orders import PlacedOrder
from tools.providers.base import FlightOrders, HotelOrders

log = logging.getLogger(__name__)
BATCH = 100
SETTLED_BY = "reconciler"
NEVER_ORDERED = "the booking was interrupted before anything was ordered"
NOT_TAKEN = "the booking was interrupted and the provider holds no order for it"
PART_TAKEN = "the booking was interrupted after only part of it was ordered, which was cancelled"


@dataclass(frozen=True)
class Settlement:
    """What the reconciler did with one booking."""

    reference: str
    tenant_id: uuid.UUID
    outcome: BookingStatus
    reason: str

    def line(self) -> str:
        return f"settled booking {self.reference}: {self.outcome.value} ({self.reason})"


class Reconciler:
    """Settles unsettled bookings whose lease has run out, one at a time, each under its tenant."""

    def __init__(
        self,
        ledger: BookingLedger,
        *,
        flight_orders: dict[str, FlightOrders],
        hotel_orders: dict[str, HotelOrders],
    ) -> None:
        self._ledger = ledger
        self._flight_orders = flight_orders
        self._hotel_orders = hotel_orders

    async def due(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(tenant, booking) of the bookings a pass would settle now (the first hundred)."""
        return await self._ledger.due(BATCH)

    async def settle_due(self) -> list[Settlement]:
        """Settle every booking that is due now; what was done, oldest first."""
        settled: list[Settlement] = []
        while True:
            due = await self._ledger.due(BATCH)
            batch = [await self.settle(tenant_id, booking_id) for tenant_id, booking_id in due]
            settled += [s for s in batch if s is not None]
            if len(due) < BATCH or not any(batch):
                return settled

    async def settle(self, tenant_id: uuid.UUID, booking_id: uuid.UUID) -> Settlement | None:
        """Settle one booking if it is still unsettled and due; None if it was not to be had."""
        held = await self._ledger.take_over(tenant_id, booking_id)
        if held is None:
            return None
        try:
            if held.booking.status is BookingStatus.PENDING:
                # `ordering` is stored before any order is sent: nothing can be at a vendor.
                outcome, reason = BookingStatus.FAILED, NEVER_ORDERED
                booking = await self._ledger.settle(
                    held, outcome, reason=reason, settled_by=SETTLED_BY
                )
            else:
                booking, reason = await self._settle_ordering(held)
        except StepLost:
            return None  # taken over in turn: whoever has it now settles it
        settlement = Settlement(booking.booking_reference, tenant_id, booking.status, reason)
        log.info("%s", settlement.line())
        return settlement

    async def _settle_ordering(self, held: Held) -> tuple[Booking, str]:
        plans = await self._ledger.orders(held.booking)
        live: list[tuple[PlannedOrder, PlacedOrder]] = []
        doubts: list[str] = []
        for plan in plans:
            try:
                found = await self._find(plan)
            except ProviderError as error:
                doubts.append(f"{plan.provider} could not say whether order {plan.key} exists"
                              f" ({error.message.rstrip('.')})")  # fmt: skip
                continue
            if found is not None:
                live.append((plan, found))
        if doubts:
            reason = "; ".join(doubts)
            booking = await self._ledger.settle(
                held, BookingStatus.NEEDS_REVIEW, reason=reason, settled_by=SETTLED_BY
            )
            return booking, reason
        if len(live) == len(plans):
            for plan, order in live:
                if plan.order_id != order.order_id:
                    held = await self._ledger.record_order(held, plan, order)
            reason = "every order was found at the provider"
            booking = await self._ledger.settle(
                held,
                BookingStatus.CONFIRMED,
                orders=[order.order_id for _, order in live],
                settled_by=SETTLED_BY,
            )
            return booking, reason
        left = [order.order_id for plan, order in live if not await self._cancelled(plan, order)]
        if left:
            reason = f"{PART_TAKEN}, except orders {', '.join(left)}"
            target = BookingStatus.NEEDS_REVIEW
        else:
            reason = PART_TAKEN if live else NOT_TAKEN
            target = BookingStatus.FAILED
        booking = await self._ledger.settle(held, target, reason=reason, settled_by=SETTLED_BY)
        return booking, reason

    async def _find(self, plan: PlannedOrder) -> PlacedOrder | None:
        if plan.kind is ItemType.FLIGHT:
            flights = self._flight_orders.get(plan.provider)
            if flights is None:
                raise ProviderError(f"{plan.provider} flight orders are not open here")
            return await flights.find_flight_order(
                offer_id=plan.offer_id, idempotency_key=plan.key, order_id=plan.order_id
            )
        hotels = self._hotel_orders.get(plan.provider)
        if hotels is None:
            raise ProviderError(f"{plan.provider} hotel orders are not open here")
        return await hotels.find_hotel_order(
            offer_id=plan.offer_id, idempotency_key=plan.key, order_id=plan.order_id
        )

    async def _cancelled(self, plan: PlannedOrder, order: PlacedOrder) -> bool:
        try:
            if plan.kind is ItemType.FLIGHT:
                await self._flight_orders[plan.provider].cancel_flight_order(order.order_id)
            else:
                await self._hotel_orders[plan.provider].cancel_hotel_order(order.order_id)
        except ProviderError:
            log.exception(
                "order %s of an interrupted booking could not be cancelled", order.order_id
            )
            return False
        return True
