"""The offline vendor's books: each flight's capacity and the seats sold on it, and its orders
(flight and hotel alike), which it can be asked about by id as a real vendor can."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Any, Protocol

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from db.urls import libpq_url
from tools.errors import ProviderUnavailable
from tools.offers import Segment

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 5
POOL_WAIT_SECONDS = 5.0
"""How long an order or a search waits for a connection before the vendor counts as down."""

# Seats on board by the aircraft the inventory flies; one pool per flight, every cabin alike.
AIRCRAFT_SEATS: dict[str, int] = {"Airbus A320neo": 180, "Boeing 787-9": 290}
DEFAULT_SEATS = 180


def flight_key(segment: Segment) -> str:
    """The identity of a flight (not of an offer): number, leg and departure in UTC."""
    leg = f"{segment.origin}-{segment.destination}"
    return f"{segment.flight_number} {leg} {segment.departure.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def capacity_of(segment: Segment) -> int:
    """Seats the vendor sells on a flight it has not sold any of yet."""
    return AIRCRAFT_SEATS.get(segment.aircraft or "", DEFAULT_SEATS)


class NotEnoughSeats(Exception):
    """The vendor refused an order: `flight` has `left` seats, fewer than asked."""

    def __init__(self, flight: str, left: int) -> None:
        super().__init__(f"{flight}: {left} seat(s) left")
        self.flight = flight
        self.left = left


class SeatStock(Protocol):
    """Where the offline vendor counts seats. `capacities` maps each flight's key to the
    capacity it starts with, used the first time the stock hears of that flight."""

    async def seats_left(self, capacities: Mapping[str, int]) -> dict[str, int]:
        """Seats still for sale on each flight."""
        ...

    async def take(self, order_id: str, capacities: Mapping[str, int], seats: int) -> None:
        """Sell `seats` on every flight to `order_id`, all or none; taking again for the same
        live order is a no-op, for a released one takes them anew. Raises NotEnoughSeats,
        having sold nothing, when one is short."""
        ...

    async def release(self, order_id: str) -> None:
        """Give back the seats of `order_id`; releasing twice (or an unknown order) is a no-op."""
        ...

    async def holds(self, order_id: str) -> bool:
        """Whether `order_id` is a live (placed, not cancelled) flight order."""
        ...

    async def reserve_room(self, order_id: str, offer_id: str) -> None:
        """Record a hotel order; again for a live one is a no-op, for a cancelled one reopens it."""
        ...

    async def release_room(self, order_id: str) -> None:
        """Cancel a hotel order; twice (or an unknown order) is a no-op."""
        ...

    async def holds_room(self, order_id: str) -> bool:
        """Whether `order_id` is a live hotel order."""
        ...


class MemorySeatStock:
    """A stock held by this process: the fake for unit tests and offline evaluations.

    Two processes (web workers, or `travelhub chat` run once per turn) each keep their own,
    so together they could sell a flight twice over: the app uses PostgresSeatStock.
    """

    def __init__(self, capacities: Mapping[str, int] | None = None) -> None:
        """`capacities`: flights whose capacity differs from what searches say (a test's
        nearly full aircraft)."""
        # A thread lock, not an asyncio one: nothing awaits inside, and it holds across loops.
        self._lock = threading.Lock()
        self._capacity: dict[str, int] = dict(capacities or {})
        self._sold: dict[str, int] = {}
        self._orders: dict[str, tuple[tuple[str, ...], int]] = {}
        self._released: set[str] = set()
        self._rooms: dict[str, bool] = {}  # order id -> live

    def _left(self, flight: str, capacity: int) -> int:
        return self._capacity.setdefault(flight, capacity) - self._sold.get(flight, 0)

    async def seats_left(self, capacities: Mapping[str, int]) -> dict[str, int]:
        with self._lock:
            return {flight: self._left(flight, n) for flight, n in capacities.items()}

    async def take(self, order_id: str, capacities: Mapping[str, int], seats: int) -> None:
        with self._lock:
            if order_id in self._orders and order_id not in self._released:
                return
            for flight, capacity in sorted(capacities.items()):
                left = self._left(flight, capacity)
                if left < seats:
                    raise NotEnoughSeats(flight, left)
            for flight in capacities:
                self._sold[flight] = self._sold.get(flight, 0) + seats
            self._orders[order_id] = (tuple(capacities), seats)
            self._released.discard(order_id)

    async def release(self, order_id: str) -> None:
        with self._lock:
            if order_id not in self._orders or order_id in self._released:
                return
            flights, seats = self._orders[order_id]
            for flight in flights:
                self._sold[flight] -= seats
            self._released.add(order_id)

    async def holds(self, order_id: str) -> bool:
        with self._lock:
            return order_id in self._orders and order_id not in self._released

    async def reserve_room(self, order_id: str, offer_id: str) -> None:
        del offer_id
        with self._lock:
            self._rooms[order_id] = True

    async def release_room(self, order_id: str) -> None:
        with self._lock:
            if order_id in self._rooms:
                self._rooms[order_id] = False

    async def holds_room(self, order_id: str) -> bool:
        with self._lock:
            return self._rooms.get(order_id, False)


class PostgresSeatStock:
    """The stock in PostgreSQL (schema `offline_vendor`, migration 0007): one for every process
    of the app, kept across restarts, as a real airline's reservation system would be.

    Its own small pool, not the app's: the vendor stands for a remote system, and a booking
    already holds an app connection while it orders; borrowing a second from the same bounded
    pool would let a burst of bookings wait on each other until the pool times out. The pool
    opens on first use and is closed by `aclose`.
    """

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = MAX_CONNECTIONS,
        wait_seconds: float = POOL_WAIT_SECONDS,
    ) -> None:
        # prepare_threshold=None: PgBouncer (transaction mode) may sit in front.
        self._pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            libpq_url(url),
            min_size=0,
            max_size=max_connections,
            kwargs={"prepare_threshold": None},
            check=AsyncConnectionPool.check_connection,
            timeout=wait_seconds,
            open=False,
        )
        self._opened = False
        self._opening = asyncio.Lock()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if not self._opened:
            async with self._opening:
                if not self._opened:
                    await self._pool.open()
                    self._opened = True
        try:
            # The pool's connection commits when the block ends, rolls back if it raises.
            async with self._pool.connection() as connection:
                yield connection
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise ProviderUnavailable(
                "The flight inventory is not answering; please try again in a little while."
            ) from error

    async def aclose(self) -> None:
        if self._opened:
            await self._pool.close()

    async def seats_left(self, capacities: Mapping[str, int]) -> dict[str, int]:
        if not capacities:
            return {}
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT flight, capacity - sold FROM offline_vendor.flight_seats"
                " WHERE flight = ANY(%s)",
                (list(capacities),),
            )
            known = dict(await cursor.fetchall())
        return {flight: known.get(flight, capacity) for flight, capacity in capacities.items()}

    async def take(self, order_id: str, capacities: Mapping[str, int], seats: int) -> None:
        async with self._transaction() as db:
            # The order row first: a second take for the same order waits here for the first
            # to end, then finds the order made (or, if it was refused, makes it itself). A
            # cancelled order placed again (a booking retried after its compensation) reopens.
            cursor = await db.execute(
                "INSERT INTO offline_vendor.flight_orders AS o (order_id, flights, seats)"
                " VALUES (%s, %s, %s) ON CONFLICT (order_id) DO UPDATE"
                " SET flights = excluded.flights, seats = excluded.seats, cancelled_at = NULL"
                " WHERE o.cancelled_at IS NOT NULL RETURNING order_id",
                (order_id, sorted(capacities), seats),
            )
            if await cursor.fetchone() is None:
                return
            # Flights in one order: no two orders lock the same flights in opposite orders.
            for flight, capacity in sorted(capacities.items()):
                await db.execute(
                    "INSERT INTO offline_vendor.flight_seats (flight, capacity) VALUES (%s, %s)"
                    " ON CONFLICT (flight) DO NOTHING",
                    (flight, capacity),
                )
                # Conditional and row-locked: concurrent orders queue on the flight's row and
                # each re-checks the seats left after the one before it.
                cursor = await db.execute(
                    "UPDATE offline_vendor.flight_seats SET sold = sold + %(seats)s"
                    " WHERE flight = %(flight)s AND sold + %(seats)s <= capacity"
                    " RETURNING flight",
                    {"seats": seats, "flight": flight},
                )
                if await cursor.fetchone() is None:
                    cursor = await db.execute(
                        "SELECT capacity - sold FROM offline_vendor.flight_seats WHERE flight = %s",
                        (flight,),
                    )
                    row = await cursor.fetchone()
                    # Leaving the block by an exception rolls back every seat taken above.
                    raise NotEnoughSeats(flight, int(row[0]) if row else 0)

    async def release(self, order_id: str) -> None:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE offline_vendor.flight_orders SET cancelled_at = now()"
                " WHERE order_id = %s AND cancelled_at IS NULL RETURNING flights, seats",
                (order_id,),
            )
            row = await cursor.fetchone()
            if row is None:
                return
            flights, seats = row
            for flight in sorted(flights):
                await db.execute(
                    "UPDATE offline_vendor.flight_seats SET sold = sold - %s WHERE flight = %s",
                    (seats, flight),
                )

    async def holds(self, order_id: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT 1 FROM offline_vendor.flight_orders"
                " WHERE order_id = %s AND cancelled_at IS NULL",
                (order_id,),
            )
            return await cursor.fetchone() is not None

    async def reserve_room(self, order_id: str, offer_id: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO offline_vendor.hotel_orders AS o (order_id, offer_id) VALUES (%s, %s)"
                " ON CONFLICT (order_id) DO UPDATE SET cancelled_at = NULL"
                " WHERE o.cancelled_at IS NOT NULL",
                (order_id, offer_id),
            )

    async def release_room(self, order_id: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE offline_vendor.hotel_orders SET cancelled_at = now()"
                " WHERE order_id = %s AND cancelled_at IS NULL",
                (order_id,),
            )

    async def holds_room(self, order_id: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT 1 FROM offline_vendor.hotel_orders"
                " WHERE order_id = %s AND cancelled_at IS NULL",
                (order_id,),
            )
            return await cursor.fetchone() is not None
