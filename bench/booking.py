"""Bookings against a slow vendor: 50 travellers confirm at once, each order taking 2 s.

A booking holds a pooled connection only for its short steps, never across the vendor's 2 s,
so the vendor's time must add nothing to what the bookings wait for the app's pool (10
connections, as `serve` has). Each transaction's wait for its connection is timed (from its
session's first use to its connection's BEGIN, by SQLAlchemy's session events): with the 2 s
vendor, against the same 50 bookings at a vendor that answers at once (the baseline, same run).
A connection held across the vendor call would make it seconds: five waves of ten, 2 s each.
While all 50 orders are with the vendor, the connections checked out are counted and a
request's wait for one is timed: 0 held and no wait is what "no connection across a vendor
call" means.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session, SessionTransaction

from accounts.directory import account_by_email
from agent.customers import customer_of
from bench.common import percentile, scratch_database, write_results
from db.engine import create_app_engine
from db.models import Booking
from db.unit_of_work import TenantSession, tenant_sessionmaker
from tools.booking import BookingRequest, BookingService, Customer
from tools.offers import FlightOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.places import gazetteer
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders
from tools.queries import FlightQuery

VENDOR_SECONDS = 2.0
BASELINE_VENDOR_SECONDS = 0.0
POOL_SIZE = 10  # Settings.db_pool_max_size's default
NOW = datetime.now(UTC)


class SlowVendor(OfflineOrders):
    """A remote vendor's shape: the price check answers at once (it costs this process
    nothing), an order takes `seconds`. `all_out` is set while `expected` orders are with it."""

    seconds = VENDOR_SECONDS
    expected = 0
    out = 0
    all_out = asyncio.Event()

    async def reprice_flight(self, offer: FlightOffer) -> FlightOffer | None:
        return offer

    async def order_flight(
        self,
        offer: FlightOffer,
        *,
        travellers: list[Passenger],
        contact: Contact,
        idempotency_key: str,
    ) -> PlacedOrder:
        del offer, travellers, contact
        self.out += 1
        if self.out == self.expected:
            self.all_out.set()
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.out -= 1
        return PlacedOrder(order_id=f"ord_{idempotency_key}")


class PoolWaits:
    """How long each transaction of the app's sessions waited for its pooled connection."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        event.listen(TenantSession, "after_transaction_create", self._asked)
        # First among the after_begin hooks: before the tenant's set_config round trip.
        event.listen(TenantSession, "after_begin", self._given, insert=True)

    def _asked(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            session.info["asked_at"] = time.perf_counter()

    def _given(self, session: Session, _transaction: SessionTransaction, _connection: Any) -> None:
        asked = session.info.pop("asked_at", None)
        if asked is not None:
            self.waits.append((time.perf_counter() - asked) * 1000)

    def take(self) -> list[float]:
        taken, self.waits = self.waits, []
        return taken


async def probe(engine: AsyncEngine, vendor: SlowVendor) -> tuple[int, float]:
    """While every order is with the vendor: (connections checked out, ms a request then
    waits for one)."""
    await vendor.all_out.wait()
    held = engine.pool.checkedout()  # type: ignore[attr-defined]
    started = time.perf_counter()
    async with engine.connect():
        waited = (time.perf_counter() - started) * 1000
    return held, waited


async def rush(
    service: BookingService, offer: FlightOffer, customers: list[Customer], first: int
) -> tuple[int, float]:
    """(bookings confirmed, seconds for all of them)."""
    started = time.perf_counter()
    made = await asyncio.gather(
        *(service.book(_request(offer, first + n), customer=c) for n, c in enumerate(customers)),
        return_exceptions=True,
    )
    wall = time.perf_counter() - started
    for failure in [b for b in made if not isinstance(b, Booking)][:3]:
        print(f"booking failed: {failure!r}")
    confirmed = sum(1 for b in made if isinstance(b, Booking) and b.status.value == "confirmed")
    return confirmed, wall


async def run(travellers: int) -> dict[str, Any]:
    pool = PoolWaits()
    with scratch_database() as (_owner, runtime):
        engine = create_app_engine(runtime, pool_size=POOL_SIZE)
        sessions = tenant_sessionmaker(engine)
        places = gazetteer()
        flights = OfflineFlights(places, now=lambda: NOW)
        vendor = SlowVendor(flights, OfflineHotels(places, now=lambda: NOW))
        service = BookingService(
            sessions=sessions,
            flight_orders={"offline": vendor},
            hotel_orders={"offline": vendor},
            now=lambda: NOW,
        )
        customers = [
            customer_of(
                await account_by_email(sessions, "default", f"t{n}@example.com", create=True)
            )
            for n in range(travellers)
        ]
        query = _query(date.today() + timedelta(days=40))
        offer = (await flights.search_flights(query))[0]
        offer = offer.model_copy(update={"search": query})
        await _warm(engine)  # a running app's pool is open already
        pool.take()

        vendor.seconds = BASELINE_VENDOR_SECONDS
        _, base_wall = await rush(service, offer, customers, 0)
        base_waits = pool.take()
        vendor.seconds, vendor.expected = VENDOR_SECONDS, travellers
        (confirmed, wall), (held, probe_ms) = await asyncio.gather(
            rush(service, offer, customers, travellers), probe(engine, vendor)
        )
        waits = pool.take()
        await engine.dispose()
    base_p99, p99 = percentile(base_waits, 0.99), percentile(waits, 0.99)
    print(
        f"booking: {confirmed}/{travellers} confirmed in {wall:.2f} s against a"
        f" {VENDOR_SECONDS:.0f} s vendor ({base_wall:.2f} s against an instant one)"
    )
    print(
        f"booking pool wait: p99 {p99:.1f} ms with the {VENDOR_SECONDS:.0f} s vendor"
        f" ({len(waits)} transactions), {base_p99:.1f} ms with an instant one"
        f" ({len(base_waits)}), ratio {p99 / base_p99:.2f}"
    )
    print(
        f"booking: while all {travellers} orders were with the vendor, {held} of {POOL_SIZE}"
        f" connections were held and a request waited {probe_ms:.2f} ms for one"
    )
    return {
        "booking_confirmed": confirmed,
        "booking_travellers": travellers,
        "booking_wall_seconds": round(wall, 3),
        "booking_pool_wait_p99_ms": round(p99, 3),
        "booking_pool_wait_baseline_p99_ms": round(base_p99, 3),
        "booking_pool_wait_ratio": round(p99 / base_p99, 3),
        "booking_connections_held_during_vendor": held,
        "booking_pool_wait_during_vendor_ms": round(probe_ms, 3),
    }


async def _warm(engine: AsyncEngine, size: int = POOL_SIZE) -> None:
    async def hold(opened: asyncio.Barrier) -> None:
        async with engine.connect():
            await opened.wait()

    barrier = asyncio.Barrier(size)
    await asyncio.gather(*(hold(barrier) for _ in range(size)))


def _query(day: date) -> FlightQuery:
    return FlightQuery(origin="LHR", destination="LIS", departure_date=day)


def _request(offer: FlightOffer, number: int) -> BookingRequest:
    return BookingRequest(
        offers=(offer,),
        contact=Contact(name=f"Traveller {number}", email=f"t{number}@example.com"),
        travellers=(Passenger(given_name="Traveller", family_name=str(number)),),
        idempotency_key=f"bench-{number}-{uuid.uuid4().hex}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    args = parser.parse_args()
    travellers = 20 if args.quick else 50
    figures = asyncio.run(run(travellers))
    write_results(figures, {"booking_travellers": travellers})


if __name__ == "__main__":
    main()
