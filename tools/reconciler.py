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
from db.models.enums import BookingStatus
from tools.booking_ledger import BookingLedger, Held, PlannedOrder, StepLost
from tools.booking_status import not_booked, outcome_unknown
from tools.errors import ProviderError, ProviderUnavailable
from tools.orders import PlacedOrder
from tools.vendor_orders import VendorOrders

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

    def __init__(self, ledger: BookingLedger, vendors: VendorOrders) -> None:
        self._ledger = ledger
        self._vendors = vendors

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
                booking, reason = await self._settle(held, BookingStatus.FAILED, NEVER_ORDERED)
            else:
                booking, reason = await self._settle_ordering(held)
        except StepLost:
            return None  # taken over in turn: whoever has it now settles it
        except ProviderUnavailable as down:
            # A vendor that is down says nothing either way: the next pass asks again.
            log.warning("booking %s not settled yet: %s", held.booking.booking_reference, down)
            return None
        settlement = Settlement(booking.booking_reference, tenant_id, booking.status, reason)
        log.info("%s", settlement.line())
        return settlement

    async def _settle_ordering(self, held: Held) -> tuple[Booking, str]:
        plans = await self._ledger.orders(held.booking)
        live: list[tuple[PlannedOrder, PlacedOrder]] = []
        doubts: list[str] = []
        for plan in plans:
            try:
                found = await self._vendors.find(plan)
            except ProviderUnavailable:
                raise
            except ProviderError as error:
                doubts.append(f"{plan.provider} could not say whether order {plan.key} exists"
                              f" ({error.message.rstrip('.')})")  # fmt: skip
                continue
            if found is not None:
                live.append((plan, found))
        if doubts:
            return await self._settle(held, BookingStatus.NEEDS_REVIEW, "; ".join(doubts))
        if len(live) == len(plans):
            for plan, order in live[:-1]:
                if plan.order_id != order.order_id:
                    held = await self._ledger.record_order(held, plan, order)
            booking = await self._ledger.settle(
                held,
                BookingStatus.CONFIRMED,
                orders=[order.order_id for _, order in live],
                last=live[-1],
                settled_by=SETTLED_BY,
            )
            return booking, "every order was found at the provider"
        if not live:
            return await self._settle(held, BookingStatus.FAILED, NOT_TAKEN)
        held = await self._ledger.renew(held)  # the lookups took their time; cancels follow
        left = await self._vendors.cancel_all(live)
        if left:
            return await self._settle(
                held, BookingStatus.NEEDS_REVIEW, f"{PART_TAKEN}, except orders {', '.join(left)}"
            )
        return await self._settle(held, BookingStatus.FAILED, PART_TAKEN)

    async def _settle(self, held: Held, target: BookingStatus, reason: str) -> tuple[Booking, str]:
        # A doubt names vendor keys, for the operator: the traveller reads a plain sentence.
        doubtful = target is BookingStatus.NEEDS_REVIEW
        told = (
            outcome_unknown("the provider has not confirmed it") if doubtful else not_booked(reason)
        )
        booking = await self._ledger.settle(
            held, target, reason=reason, answer=told.message, settled_by=SETTLED_BY
        )
        return booking, reason
