"""A booking's record in PostgreSQL: one short transaction per step, none open during a vendor call.

Each step is conditional on the token of whoever moves the booking (its `settle_after`, which
every write moves strictly forward, but its mover letting go): a process that lost the booking
to the reconciler finds out at its next step (`StepLost`) instead of overwriting what the
reconciler settled.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import AnalyticsEvent, Booking, BookingItem, FlightBooking, HotelBooking
from db.models.enums import BookingStatus, ItemType
from db.unit_of_work import UnitOfWork
from ops import metrics
from tools.booking_status import EVENT_OF, UNSETTLED, check_transition
from tools.errors import BookingError
from tools.orders import PlacedOrder
from tools.references import new_reference

REFERENCE_ATTEMPTS = 8
TICK = timedelta(microseconds=1)
BOOKINGS = Booking.__table__  # type: ignore[attr-defined]
DUE = text("SELECT tenant_id, booking_id FROM bookings_to_settle(:due, :how_many)")


def order_key(idempotency_key: str, position: int) -> str:
    """The key the vendor order for the booking's item at `position` carries."""
    return f"{idempotency_key}:{position}"


@dataclass(frozen=True)
class PlannedOrder:
    """One vendor order of a booking: what it is for, the key it carries, and, once the vendor
    has answered, its id there."""

    position: int
    kind: ItemType
    provider: str
    offer_id: str
    key: str
    order_id: str | None
    row_id: uuid.UUID
    """The flight_bookings or hotel_bookings row it fills."""


def plan(idempotency_key: str, rows: Sequence[FlightBooking | HotelBooking]) -> list[PlannedOrder]:
    """The vendor orders a booking of `rows` (in order) makes, none placed yet."""
    return [
        PlannedOrder(
            position=position,
            kind=ItemType.FLIGHT if isinstance(row, FlightBooking) else ItemType.HOTEL,
            provider=row.provider,
            offer_id=row.offer_id,
            key=order_key(idempotency_key, position),
            order_id=row.provider_order_id,
            row_id=row.id,
        )
        for position, row in enumerate(rows)
    ]


@dataclass(frozen=True)
class Held:
    """A booking as its current mover last wrote it, with the token its next step must match."""

    booking: Booking
    token: datetime


class StepLost(Exception):
    """Someone else (the reconciler) moved the booking since this mover's last step."""


class BookingLedger:
    """Reads and writes bookings step by step, each under its tenant's row-level security."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        now: Callable[[], datetime],
        lease: timedelta,
    ) -> None:
        """`lease`: how long a step may take (a vendor call, with its retries) before the
        reconciler may take the booking over."""
        self._sessions = sessions
        self._now = now
        self.lease = lease

    async def find(self, tenant_id: uuid.UUID, idempotency_key: str) -> Booking | None:
        async with UnitOfWork(self._sessions, tenant_id=tenant_id) as uow:
            return (
                await uow.session.exec(
                    select(Booking).where(Booking.idempotency_key == idempotency_key)
                )
            ).first()

    async def get(self, tenant_id: uuid.UUID, booking_id: uuid.UUID) -> Booking:
        async with UnitOfWork(self._sessions, tenant_id=tenant_id) as uow:
            booking = await uow.session.get(Booking, booking_id)
        if booking is None:
            raise LookupError(f"no booking {booking_id}")
        return booking

    async def claim(
        self, booking: Booking, rows: Sequence[FlightBooking | HotelBooking]
    ) -> Held | Booking:
        """Store `booking` as pending with its items (one per row, in order), before anything
        is asked of a vendor; or, when its idempotency key is taken, the booking that holds it.
        A concurrent claim of the same key waits on the unique index until this one commits."""
        booking.status = BookingStatus.PENDING
        booking.settle_after = self._now() + self.lease
        for _attempt in range(REFERENCE_ATTEMPTS):
            booking.booking_reference = new_reference()
            try:
                return await self._claim(booking, rows)
            except IntegrityError as error:
                if "uq_bookings_booking_reference" not in str(error.orig):
                    raise
                # A reference collision (rolled back whole): draw another.
        raise BookingError("I could not allocate a booking reference; please try again.")

    async def _claim(
        self, booking: Booking, rows: Sequence[FlightBooking | HotelBooking]
    ) -> Held | Booking:
        async with UnitOfWork(self._sessions, tenant_id=booking.tenant_id) as uow:
            session = uow.session
            claimed = await _insert_unless_claimed(session, booking)
            if claimed is None:
                taken = select(Booking).where(Booking.idempotency_key == booking.idempotency_key)
                return (await session.exec(taken)).one()
            session.add_all(rows)
            await session.flush()  # the rows first: the items point at them
            session.add_all(
                BookingItem(
                    tenant_id=booking.tenant_id,
                    booking_id=booking.id,
                    item_type=order.kind,
                    flight_booking_id=row.id if order.kind is ItemType.FLIGHT else None,
                    hotel_booking_id=row.id if order.kind is ItemType.HOTEL else None,
                    position=order.position,
                    amount=row.amount,
                    currency=row.currency,
                )
                for order, row in zip(plan(booking.idempotency_key or "", rows), rows, strict=True)
            )
            _event(session, claimed, BookingStatus.PENDING)
            await session.flush()
            await uow.commit()
        return Held(claimed, _token(claimed))

    async def renew(self, held: Held) -> Held:
        """A new lease, before more vendor calls than the last one covered."""
        return await self._step(held, {})

    async def begin_ordering(self, held: Held) -> Held:
        """pending -> ordering, committed before the first order goes to a vendor."""
        return await self._step(held, {"status": BookingStatus.ORDERING})

    async def record_order(self, held: Held, planned: PlannedOrder, placed: PlacedOrder) -> Held:
        """Keep the vendor's order id the moment it is known."""
        return await self._step(held, {}, also=_order_id_of(planned, placed))

    async def let_go(self, held: Held, *, after: timedelta) -> None:
        """Let the reconciler take the booking `after` from now (not a whole lease): its mover
        gives up on it (cancelled, or its database lost) and nobody need wait that long."""
        values = {"settle_after": func.least(self._now() + after, col(Booking.settle_after))}
        async with UnitOfWork(self._sessions, tenant_id=held.booking.tenant_id) as uow:
            if await _conditional(uow.session, held, values) is not None:
                await uow.commit()

    async def settle(
        self,
        held: Held,
        target: BookingStatus,
        *,
        reason: str | None = None,
        answer: str | None = None,
        orders: Sequence[str] = (),
        last: tuple[PlannedOrder, PlacedOrder] | None = None,
        settled_by: str = "booking",
    ) -> Booking:
        """The booking's outcome: confirmed (with `orders`, the vendor's ids; `last`, an order
        whose id is stored with it), failed or needs_review (with `reason`, and `answer`, the
        sentence the traveller was given). Raises StepLost if someone else moved it first."""
        check_transition(held.booking.status, target)
        values: dict[str, Any] = {"status": target, "settle_after": None}
        if target is BookingStatus.CONFIRMED:
            values |= {"confirmed_at": self._now(), "provider_order_id": ",".join(orders)[:255]}
        if reason is not None:
            values["failure_reason"] = reason[:500]
        if answer is not None:
            values["attributes"] = {**held.booking.attributes, "answer": answer}
        async with UnitOfWork(self._sessions, tenant_id=held.booking.tenant_id) as uow:
            moved = await _conditional(uow.session, held, values)
            if moved is None:
                raise StepLost
            if last is not None:
                await (await uow.session.connection()).execute(_order_id_of(*last))
            booking = Booking(**moved)
            extra = {"reason": reason} if reason else {}
            if settled_by != "booking":
                extra["settled_by"] = settled_by
            _event(uow.session, booking, target, **extra)
            await uow.session.flush()
            await uow.commit()
        metrics.booking_settled(target.value)
        return booking

    async def flag(self, booking: Booking, reason: str, *, answer: str) -> None:
        """failed -> needs_review: an order turned up after the booking failed and its vendor
        would not cancel it. Not fenced: a failed booking has no mover left to race."""
        check_transition(booking.status, BookingStatus.NEEDS_REVIEW)
        values = {
            "status": BookingStatus.NEEDS_REVIEW,
            "failure_reason": reason[:500],
            "attributes": {**booking.attributes, "answer": answer},
        }
        statement = (
            update(BOOKINGS)
            .where(BOOKINGS.c.id == booking.id, BOOKINGS.c.status == BookingStatus.FAILED.value)
            .values(**values)
            .returning(*BOOKINGS.c)
        )
        async with UnitOfWork(self._sessions, tenant_id=booking.tenant_id) as uow:
            row = (await (await uow.session.connection()).execute(statement)).first()
            if row is not None:
                _event(
                    uow.session, Booking(**row._mapping), BookingStatus.NEEDS_REVIEW, reason=reason
                )
                await uow.session.flush()
                await uow.commit()

    async def take_over(self, tenant_id: uuid.UUID, booking_id: uuid.UUID) -> Held | None:
        """Hold an unsettled booking whose time is up, or None if it is settled or its mover is
        still within its lease (or another reconciler got there first)."""
        now = self._now()
        statement = (
            update(BOOKINGS)
            .where(
                BOOKINGS.c.id == booking_id,
                BOOKINGS.c.status.in_([s.value for s in UNSETTLED]),
                BOOKINGS.c.settle_after <= now,
            )
            .values(settle_after=_renewed(now + self.lease))
            .returning(*BOOKINGS.c)
        )
        async with UnitOfWork(self._sessions, tenant_id=tenant_id) as uow:
            row = (await (await uow.session.connection()).execute(statement)).first()
            await uow.commit()
        if row is None:
            return None
        booking = Booking(**row._mapping)
        return Held(booking, _token(booking))

    async def orders(self, booking: Booking) -> list[PlannedOrder]:
        """The vendor orders `booking` makes, in order, with the ids of those placed."""
        assert booking.idempotency_key is not None  # every booking of this life cycle has one
        async with UnitOfWork(self._sessions, tenant_id=booking.tenant_id) as uow:
            found = (
                await uow.session.exec(
                    select(BookingItem, FlightBooking, HotelBooking)
                    .where(BookingItem.booking_id == booking.id)
                    .outerjoin(
                        FlightBooking, col(BookingItem.flight_booking_id) == FlightBooking.id
                    )
                    .outerjoin(HotelBooking, col(BookingItem.hotel_booking_id) == HotelBooking.id)
                    .order_by(col(BookingItem.position))
                )
            ).all()
        rows = [flight if flight is not None else hotel for _item, flight, hotel in found]
        assert None not in rows  # every item is a flight or a hotel (a CHECK says so)
        return plan(booking.idempotency_key, rows)

    async def due(self, how_many: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(tenant, booking) of every unsettled booking whose time is up, oldest first."""
        async with self._sessions() as session:
            rows = await (await session.connection()).execute(
                DUE, {"due": self._now(), "how_many": how_many}
            )
            return [(row.tenant_id, row.booking_id) for row in rows]

    async def _step(self, held: Held, values: dict[str, Any], *, also: Any = None) -> Held:
        target = values.get("status")
        if target is not None:
            check_transition(held.booking.status, target)
        values = {**values, "settle_after": _renewed(self._now() + self.lease)}
        async with UnitOfWork(self._sessions, tenant_id=held.booking.tenant_id) as uow:
            moved = await _conditional(uow.session, held, values)
            if moved is None:
                raise StepLost
            if also is not None:
                await (await uow.session.connection()).execute(also)
            await uow.commit()
        token = moved["settle_after"]
        if target is not None:
            held.booking.status = target  # the mover's own detached copy
        return Held(held.booking, token)


async def _conditional(
    session: AsyncSession, held: Held, values: dict[str, Any]
) -> dict[str, Any] | None:
    """Apply `values` if the booking is as `held` left it: the row as it is now (or None)."""
    statement = (
        update(BOOKINGS)
        .where(BOOKINGS.c.id == held.booking.id, BOOKINGS.c.settle_after == held.token)
        .values(**values)
        .returning(*BOOKINGS.c)
    )
    row = (await (await session.connection()).execute(statement)).first()
    return None if row is None else dict(row._mapping)


def _order_id_of(planned: PlannedOrder, placed: PlacedOrder) -> Any:
    """The UPDATE that stores a vendor's order id on the flight or hotel row it is for."""
    table = FlightBooking if planned.kind is ItemType.FLIGHT else HotelBooking
    return (
        update(table)
        .where(col(table.id) == planned.row_id)
        .values(provider_order_id=placed.order_id)
    )


def _renewed(deadline: datetime) -> Any:
    """`deadline`, or one tick past the current token if that is later: every write moves the
    token on, so a writer holding an older one always finds out."""
    return func.greatest(deadline, col(Booking.settle_after) + TICK)


def _token(booking: Booking) -> datetime:
    assert booking.settle_after is not None  # an unsettled booking always has one
    return booking.settle_after


def _event(session: AsyncSession, booking: Booking, status: BookingStatus, **extra: Any) -> None:
    session.add(
        AnalyticsEvent(
            tenant_id=booking.tenant_id,
            user_id=booking.user_id,
            session_id=booking.session_id,
            event_type=EVENT_OF[status],
            properties={
                "booking_id": str(booking.id),
                "reference": booking.booking_reference,
                "total_amount": str(booking.total_amount),
                "currency": booking.currency,
                **extra,
            },
        )
    )


async def _insert_unless_claimed(session: AsyncSession, booking: Booking) -> Booking | None:
    """INSERT ... ON CONFLICT (tenant_id, idempotency_key) DO NOTHING; the stored row or None."""
    values = booking.model_dump(exclude={"created_at", "updated_at"})
    statement = (
        insert(BOOKINGS)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"])
        .returning(*BOOKINGS.c)
    )
    inserted = (await (await session.connection()).execute(statement)).first()
    return None if inserted is None else Booking(**inserted._mapping)
