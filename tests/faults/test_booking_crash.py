"""A booking survives its process being killed at any await point of the confirm path.

Each run confirms one booking in a child process that SIGKILLs itself at one point (before or
after a re-price, an order or a commit), over the offline vendor (its books in PostgreSQL) or a
local Duffel-protocol order desk. Then, as a restarted app would, the reconciler settles what
was left, and the traveller repeats the same confirmation. After every run: no vendor order
without a booking, no confirmed booking without its vendor orders, no order placed twice, and
the repeat gets the same booking (or, if nothing was claimed before the kill, books it once).
"""

from __future__ import annotations

import multiprocessing
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from db.engine import create_app_engine
from db.models.enums import BookingStatus
from db.unit_of_work import tenant_sessionmaker
from tests import factories
from tests.support.crashing_booking import LEASE, CrashPoint, Vendor, book_and_die, desk_of
from tests.support.duffel_orders import DuffelOrderDesk
from tools.booking import BookingRequest, BookingService, Customer
from tools.errors import BookingError
from tools.offers import FlightOffer, HotelOffer
from tools.orders import Contact, Passenger
from tools.queries import FlightQuery, HotelQuery

pytestmark = pytest.mark.faults

RUNS = 100
OFFLINE_NOW = datetime.now(UTC).replace(microsecond=0)
DUFFEL_NOW = datetime(2020, 1, 17, 10, 30, tzinfo=UTC)  # the recorded offer expires at 10:42
DAY = OFFLINE_NOW.date() + timedelta(days=45)
TRIP = FlightQuery(origin="LHR", destination="LIS", departure_date=DAY)
STAY = HotelQuery(city_code="LIS", check_in=DAY, check_out=DAY + timedelta(days=3))
DUFFEL_SEARCH = FlightQuery(origin="LHR", destination="JFK", departure_date=date(2020, 6, 13))
AMELIA = Passenger(given_name="Amelia", family_name="Earhart", born_on=date(1987, 7, 24))
CONTACT = Contact(name="Amelia Earhart", email="amelia@example.com", phone="+44 20 8016 0508")


def points(orders: int) -> list[CrashPoint]:
    """Every await point of the confirm path, in order, each before and after: the claim
    (pending), each re-price, `ordering`, each vendor order with its id stored after it (the
    last one's with the outcome)."""
    path = [("commit", 1)] + [("reprice", n) for n in range(1, orders + 1)] + [("commit", 2)]
    for n in range(1, orders + 1):
        path += [("order", n), ("commit", 2 + n)]
    return [CrashPoint(what, nth, when) for what, nth in path for when in ("before", "after")]


@dataclass(frozen=True)
class Scenario:
    vendor: str
    shape: str  # "flight" or "flight+hotel"
    point: CrashPoint

    @property
    def step(self) -> str:
        """The point in the booking's own words: which commit stores what."""
        orders = self.shape.count("+") + 1
        what, nth = self.point.what, self.point.nth
        if what == "reprice":
            return f"re-price of offer {nth}" if orders > 1 else "re-price"
        if what == "order":
            return f"vendor order {nth}" if orders > 1 else "vendor order"
        stored = {1: "pending", 2: "ordering", orders + 2: "the outcome"}.get(nth)
        return f"commit of {stored or f'order {nth - 2} id'}"

    def __str__(self) -> str:
        return f"{self.vendor} {self.shape}, {self.point.when} {self.step}"


SCENARIOS = (
    [Scenario("offline", "flight", p) for p in points(1)]
    + [Scenario("offline", "flight+hotel", p) for p in points(2)]
    + [Scenario("duffel", "flight", p) for p in points(1)]
)


@pytest.fixture(scope="module")
def children() -> Any:
    """A fork server with the app's modules loaded: each run's app process starts in
    milliseconds, without this test process's threads or sockets."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.support.crashing_booking"])
    return context


@pytest.fixture
def duffel_desk() -> Iterator[DuffelOrderDesk]:
    desk = DuffelOrderDesk()
    desk.start()
    try:
        yield desk
    finally:
        desk.stop()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Restarted:
    """The app after the crash: what a fresh process builds, with the clock past the lease."""

    service: BookingService
    clock: Clock
    offers: dict[str, list[FlightOffer | HotelOffer]]


@pytest.fixture
async def restarted(
    runtime_database: str, duffel_desk: DuffelOrderDesk
) -> AsyncIterator[Restarted]:
    engine = create_app_engine(runtime_database, pool_size=4)
    async with httpx.AsyncClient() as client:
        offline = desk_of(Vendor("offline", OFFLINE_NOW), runtime_database, client)
        duffel = desk_of(Vendor("duffel", DUFFEL_NOW, duffel_desk.url), runtime_database, client)
        later = LEASE + timedelta(seconds=1)
        # One clock for both vendors' offers: each scenario's moment plus the lease.
        clock = Clock(OFFLINE_NOW + later)
        service = BookingService(
            sessions=tenant_sessionmaker(engine),
            flight_orders={"offline": offline, "duffel": duffel},
            hotel_orders={"offline": offline},
            now=clock,
            lease=LEASE,
        )
        flight = next(o for o in await offline._flights.search_flights(TRIP) if o.stops == 0)
        hotel = (await offline._hotels.search_hotels(STAY))[0]
        (found,) = await duffel.search_flights(DUFFEL_SEARCH)
        offers: dict[str, list[FlightOffer | HotelOffer]] = {
            "offline flight": [flight.model_copy(update={"search": TRIP})],
            "offline flight+hotel": [
                flight.model_copy(update={"search": TRIP}),
                hotel.model_copy(update={"search": STAY}),
            ],
            "duffel flight": [found.model_copy(update={"search": DUFFEL_SEARCH})],
        }
        yield Restarted(service, clock, offers)
        await offline._books.aclose()
    await engine.dispose()


async def test_a_booking_killed_at_any_point_is_settled_and_never_doubled(
    children: Any,
    runtime_database: str,
    owner: Any,
    duffel_desk: DuffelOrderDesk,
    restarted: Restarted,
) -> None:
    tenant = factories.tenant(owner)
    customer = Customer(tenant_id=tenant, user_id=factories.user(owner, tenant))
    table: Counter[tuple[str, str, str]] = Counter()
    for run in range(RUNS):
        scenario = SCENARIOS[run % len(SCENARIOS)]
        moment = DUFFEL_NOW if scenario.vendor == "duffel" else OFFLINE_NOW
        request = BookingRequest(
            offers=tuple(restarted.offers[f"{scenario.vendor} {scenario.shape}"]),
            contact=CONTACT,
            travellers=(AMELIA,),
            idempotency_key=f"crash-{run}-{uuid.uuid4().hex[:8]}",
        )
        child = children.Process(
            target=book_and_die,
            args=(
                runtime_database,
                Vendor(scenario.vendor, moment, duffel_desk.url),
                request.model_dump_json(),
                customer,
                scenario.point,
            ),
        )
        child.start()
        child.join(60)
        assert child.exitcode == -signal.SIGKILL, f"{scenario}: exit {child.exitcode}"

        # The restart: the reconciler settles whatever the dead process left.
        restarted.clock.now = moment + LEASE + timedelta(seconds=1)
        await restarted.service.reconciler.settle_due()
        left = booking_of(owner, request.idempotency_key)
        assert left is None or left[1] in ("confirmed", "failed"), f"{scenario}: {left}"

        # The traveller confirms again: the same booking, or the same refusal; never a second.
        retried = await confirm_again(restarted.service, request, customer)
        if left is None:
            assert retried == "confirmed", scenario  # nothing was claimed: now it is, once
        else:
            expected = "confirmed" if left[1] == "confirmed" else "refused: nothing was booked"
            assert retried == expected, scenario
        assert owner.execute(
            "SELECT count(*) FROM bookings WHERE idempotency_key = %s", (request.idempotency_key,)
        ).fetchone() == (1,)

        assert_books_agree(owner, duffel_desk, scenario)
        table[(str(scenario), left[1] if left else "no booking", retried)] += 1

    print_crash_table(table)


async def confirm_again(
    service: BookingService, request: BookingRequest, customer: Customer
) -> str:
    try:
        await service.book(request, customer=customer)
    except BookingError as refusal:
        return (
            "refused: nothing was booked"
            if "nothing was booked" in refusal.message
            else refusal.message
        )
    return "confirmed"


def booking_of(owner: Any, key: str) -> tuple[uuid.UUID, str] | None:
    row = owner.execute(
        "SELECT id, status FROM bookings WHERE idempotency_key = %s", (key,)
    ).fetchone()
    return (row[0], row[1]) if row else None


def assert_books_agree(owner: Any, duffel: DuffelOrderDesk, scenario: Scenario) -> None:
    """Both sides' books, compared: every live vendor order is an item of a confirmed booking,
    every item of a confirmed booking a live vendor order, and no key ordered twice."""
    ours = {
        (provider, order_id)
        for provider, order_id in owner.execute(
            "SELECT r.provider, r.provider_order_id FROM bookings b"
            " JOIN booking_items i ON i.booking_id = b.id"
            " LEFT JOIN flight_bookings f ON f.id = i.flight_booking_id"
            " LEFT JOIN hotel_bookings h ON h.id = i.hotel_booking_id,"
            " LATERAL (SELECT coalesce(f.provider, h.provider) AS provider,"
            "          coalesce(f.provider_order_id, h.provider_order_id) AS provider_order_id) r"
            " WHERE b.status = 'confirmed'"
        )
    }
    theirs = {
        ("offline", order_id)
        for (order_id,) in owner.execute(
            "SELECT order_id FROM offline_vendor.flight_orders WHERE cancelled_at IS NULL"
            " UNION ALL"
            " SELECT order_id FROM offline_vendor.hotel_orders WHERE cancelled_at IS NULL"
        )
    } | {("duffel", order["id"]) for order in duffel.live()}
    assert theirs - ours == set(), f"{scenario}: vendor orders without a booking"
    assert ours - theirs == set(), f"{scenario}: bookings without a vendor order"
    keys = Counter(
        (order["metadata"] or {}).get("idempotency_key") for order in duffel.orders.values()
    )
    assert [key for key, n in keys.items() if n > 1] == [], f"{scenario}: ordered twice"
    sold, held = owner.execute(
        "SELECT (SELECT coalesce(sum(sold), 0) FROM offline_vendor.flight_seats),"
        " (SELECT coalesce(sum(seats * cardinality(flights)), 0)"
        "  FROM offline_vendor.flight_orders WHERE cancelled_at IS NULL)"
    ).fetchone()
    assert sold == held, f"{scenario}: seats sold {sold}, held by live orders {held}"
    unsettled = owner.execute(
        "SELECT count(*) FROM bookings WHERE status IN ('pending', 'ordering', 'needs_review')"
    ).fetchone()
    assert unsettled == (0,), scenario


def print_crash_table(table: Counter[tuple[str, str, str]]) -> None:
    print("\n| killed | runs | after restart and reconciliation | the same confirmation again |")
    print("|---|---:|---|---|")
    for (point, outcome, retried), runs in table.items():  # in the path's order
        print(f"| {point} | {runs} | {outcome} | {retried} |")
    assert sum(table.values()) == RUNS
    assert BookingStatus.CONFIRMED.value in {outcome for _, outcome, _ in table}
