"""An app process that confirms one booking and is killed (SIGKILL, by itself) at a chosen await
point of the confirm path: before or after a vendor call, or before or after a commit.

Run in a child process (see tests/faults/test_booking_crash.py): nothing after the kill runs,
no `finally`, no rollback sent; PostgreSQL and the vendor see a client vanish mid-step.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.orm import Session

from db.engine import create_app_engine
from db.unit_of_work import TenantSession, tenant_sessionmaker
from tools.booking import BookingRequest, BookingService, Customer
from tools.places import gazetteer
from tools.providers.duffel import DuffelProvider
from tools.providers.http import Resilience
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders
from tools.providers.offline_stock import PostgresSeatStock

LEASE = timedelta(seconds=60)
WATCHED = (
    ("reprice", "reprice_flight"),
    ("reprice", "reprice_hotel"),
    ("order", "order_flight"),
    ("order", "order_hotel"),
)


@dataclass(frozen=True)
class CrashPoint:
    """Where to die: `when` ("before"/"after") the `nth` (from 1) `what` ("reprice", "order",
    "commit") of the confirm path."""

    what: str
    nth: int
    when: str

    def __str__(self) -> str:
        return f"{self.when} {self.what} {self.nth}"


@dataclass(frozen=True)
class Vendor:
    """Which vendor the booking goes to, and the moment its offers are current at."""

    name: str  # "offline" or "duffel"
    now: datetime
    duffel_url: str = ""


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Tripwire:
    """Counts the confirm path's steps and kills the process at the chosen one."""

    def __init__(self, point: CrashPoint) -> None:
        self.point = point
        self.seen: dict[str, int] = {}

    def step(self, what: str, when: str) -> None:
        if when == "before":
            self.seen[what] = self.seen.get(what, 0) + 1
        if (what, self.seen.get(what), when) == (self.point.what, self.point.nth, self.point.when):
            die()

    def commit_hook(self, when: str) -> Callable[[Session], None]:
        """A session event hook counting transactions committed (not savepoints released)."""

        def hook(session: Session) -> None:
            if not session.in_nested_transaction():
                self.step("commit", when)

        return hook

    def around(self, what: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.step(what, "before")
            result = await call(*args, **kwargs)
            self.step(what, "after")
            return result

        return wrapped


def desk_of(vendor: Vendor, runtime_url: str, client: httpx.AsyncClient) -> Any:
    """The order desk the app books `vendor`'s offers at, built as the app builds it."""
    if vendor.name == "duffel":
        return DuffelProvider(
            access_token="duffel_test_crash",
            client=client,
            base_url=vendor.duffel_url,
            resilience=Resilience(timeout=10.0, max_attempts=2, backoff_initial=0.01),
            now=lambda: vendor.now,
        )
    places = gazetteer()
    return OfflineOrders(
        OfflineFlights(places, now=lambda: vendor.now, stock=PostgresSeatStock(runtime_url)),
        OfflineHotels(places, now=lambda: vendor.now),
    )


def book_and_die(
    runtime_url: str, vendor: Vendor, request_json: str, customer: Customer, point: CrashPoint
) -> None:
    """The child's work: confirm the booking; the tripwire ends the process on the way."""
    asyncio.run(_book(runtime_url, vendor, request_json, customer, point))


async def _book(
    runtime_url: str, vendor: Vendor, request_json: str, customer: Customer, point: CrashPoint
) -> None:
    tripwire = Tripwire(point)
    for when in ("before", "after"):
        event.listen(TenantSession, f"{when}_commit", tripwire.commit_hook(when))
    engine = create_app_engine(runtime_url, pool_size=2)
    async with httpx.AsyncClient() as client:
        desk = desk_of(vendor, runtime_url, client)
        for what, method in WATCHED:
            if hasattr(desk, method):  # Duffel's desk has flights only
                setattr(desk, method, tripwire.around(what, getattr(desk, method)))
        service = BookingService(
            sessions=tenant_sessionmaker(engine),
            flight_orders={desk.name: desk},
            hotel_orders={desk.name: desk},
            now=lambda: vendor.now,
            lease=LEASE,
        )
        await service.book(BookingRequest.model_validate_json(request_json), customer=customer)
    # The crash point lay past the end of this booking's path: say so by the exit code.
    os._exit(3)
