"""Bookings against a slow vendor: 50 travellers confirm at once, each order taking 2 s.

A booking holds a pooled connection only for its short steps, never across the vendor's 2 s,
so the app's pool (10 connections, as `serve` has) must not make anyone wait meanwhile. A probe
borrows a connection every 20 ms while the bookings are in flight; its wait, against the same
probe on the idle pool just before (the baseline), is the pool wait another traveller feels.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import percentile, scratch_database, write_results
from db.engine import create_app_engine
from db.models import Booking
from db.unit_of_work import resolve_tenant, tenant_sessionmaker
from tools.booking import BookingRequest, BookingService, Customer
from tools.offers import FlightOffer
from tools.orders import Contact, Passenger, PlacedOrder
from tools.places import gazetteer
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders
from tools.queries import FlightQuery

VENDOR_SECONDS = 2.0
POOL_SIZE = 10  # Settings.db_pool_max_size's default
PROBE_EVERY = 0.02
NOW = datetime.now(UTC)


class SlowVendor(OfflineOrders):
    """The offline order desk behind a 2 s order call: a real airline's shape."""

    async def order_flight(self, offer: FlightOffer, **details: Any) -> PlacedOrder:
        await asyncio.sleep(VENDOR_SECONDS)
        return await super().order_flight(offer, **details)


async def probe(engine: AsyncEngine, until: asyncio.Event) -> list[float]:
    """Milliseconds each borrow of a pooled connection waited, every PROBE_EVERY seconds."""
    waits: list[float] = []
    while not until.is_set():
        started = time.perf_counter()
        async with engine.connect():
            waits.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(PROBE_EVERY)
    return waits


async def idle_probe(engine: AsyncEngine, seconds: float) -> list[float]:
    stop = asyncio.Event()
    task = asyncio.create_task(probe(engine, stop))
    await asyncio.sleep(seconds)
    stop.set()
    return await task


async def run(travellers: int) -> dict[str, Any]:
    with scratch_database() as (owner, runtime):
        del owner
        engine = create_app_engine(runtime, pool_size=POOL_SIZE)
        sessions = tenant_sessionmaker(engine)
        places = gazetteer()
        vendor = SlowVendor(
            OfflineFlights(places, now=lambda: NOW), OfflineHotels(places, now=lambda: NOW)
        )
        service = BookingService(
            sessions=sessions,
            flight_orders={"offline": vendor},
            hotel_orders={"offline": vendor},
            now=lambda: NOW,
        )
        tenant = await resolve_tenant(sessions, "default")
        customers = [await _traveller(engine, tenant, n) for n in range(travellers)]
        query_day = date.today() + timedelta(days=40)
        offers = await vendor._flights.search_flights(
            _query(query_day)  # one flight, plenty of seats: every booking can be confirmed
        )
        offer = offers[0].model_copy(update={"search": _query(query_day)})
        idle = await idle_probe(engine, VENDOR_SECONDS)

        stop = asyncio.Event()
        prober = asyncio.create_task(probe(engine, stop))
        started = time.perf_counter()
        made = await asyncio.gather(
            *(service.book(_request(offer, n), customer=c) for n, c in enumerate(customers)),
            return_exceptions=True,
        )
        wall = time.perf_counter() - started
        stop.set()
        busy = await prober
        await engine.dispose()
    confirmed = sum(1 for b in made if isinstance(b, Booking) and b.status.value == "confirmed")
    failures = [repr(b) for b in made if not isinstance(b, Booking)][:3]
    idle_p99, busy_p99 = percentile(idle, 0.99), percentile(busy, 0.99)
    print(
        f"booking: {confirmed}/{travellers} confirmed in {wall:.2f} s against a"
        f" {VENDOR_SECONDS:.0f} s vendor ({wall / VENDOR_SECONDS:.2f}x the vendor's time)"
    )
    print(
        f"booking pool wait: p99 {busy_p99:.3f} ms while booking (n={len(busy)}),"
        f" {idle_p99:.3f} ms idle (n={len(idle)}), ratio {busy_p99 / idle_p99:.2f}"
    )
    if failures:
        print(f"booking failures: {failures}")
    return {
        "booking_confirmed": confirmed,
        "booking_travellers": travellers,
        "booking_wall_seconds": round(wall, 3),
        "booking_pool_wait_p99_ms": round(busy_p99, 3),
        "booking_pool_wait_idle_p99_ms": round(idle_p99, 3),
    }


def _query(day: date) -> FlightQuery:
    return FlightQuery(origin="LHR", destination="LIS", departure_date=day)


def _request(offer: FlightOffer, number: int) -> BookingRequest:
    return BookingRequest(
        offers=(offer,),
        contact=Contact(name=f"Traveller {number}", email=f"t{number}@example.com"),
        travellers=(Passenger(given_name="Traveller", family_name=str(number)),),
        idempotency_key=f"bench-{number}-{uuid.uuid4().hex}",
    )


async def _traveller(engine: AsyncEngine, tenant: uuid.UUID, number: int) -> Customer:
    user = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text("SELECT set_config('app.current_tenant_id', :tenant, true)"),
            {"tenant": str(tenant)},
        )
        await connection.execute(
            text(
                "INSERT INTO users (id, tenant_id, email, full_name)"
                " VALUES (:id, :tenant, :email, :name)"
            ),
            {"id": user, "tenant": tenant, "email": f"t{number}@example.com", "name": "T"},
        )
    return Customer(tenant_id=tenant, user_id=user)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    args = parser.parse_args()
    travellers = 20 if args.quick else 50
    figures = asyncio.run(run(travellers))
    write_results(figures, {"booking_travellers": travellers})


if __name__ == "__main__":
    main()
