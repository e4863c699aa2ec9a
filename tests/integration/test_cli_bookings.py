"""`travelhub bookings` from a terminal, on bookings made through the real services."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from agent.bootstrap import DatabaseUrls, build_services
from agent.settings import Settings
from tests import factories
from tests.integration.test_cli import environment, run
from tools.booking import BookingRequest, Customer
from tools.money import format_money
from tools.orders import Contact
from tools.queries import FlightFilters, FlightQuery, HotelFilters, HotelQuery
from tools.search import Searcher

pytestmark = pytest.mark.integration

DEPART = date.today() + timedelta(days=45)


@pytest.fixture
async def booked(database: str, runtime_database: str, owner: Any) -> dict[str, str]:
    """A flight + hotel booking of ada@example.com in the default tenant."""
    tenant = owner.execute("SELECT id FROM tenants WHERE slug = 'default'").fetchone()[0]
    user = factories.user(owner, tenant, email="ada@example.com")
    factories.user(owner, tenant, email="bob@example.com")
    services = await build_services(
        Settings(TRAVELHUB_ENV="test", REDIS_URL=None), DatabaseUrls(database, runtime_database)
    )
    try:
        searcher = Searcher(tenant_id=tenant, user_id=user)
        flights = await services.search.search_flights(
            FlightQuery(origin="LON", destination="BCN", departure_date=DEPART),
            FlightFilters(),
            searcher=searcher,
        )
        hotels = await services.search.search_hotels(
            HotelQuery(city_code="BCN", check_in=DEPART, check_out=DEPART + timedelta(days=2)),
            HotelFilters(),
            searcher=searcher,
        )
        booking = await services.bookings.book(
            BookingRequest(
                offers=(flights.offers[0], hotels.offers[0]),
                contact=Contact(name="Ada Lovelace", email="ada@example.com"),
                idempotency_key=uuid.uuid4().hex,
            ),
            customer=Customer(tenant_id=tenant, user_id=user),
        )
    finally:
        await services.aclose()
    return {"reference": booking.booking_reference, "database": database}


def test_list_show_cancel(booked: dict[str, str]) -> None:
    env = environment(DATABASE_URL=booked["database"], REDIS_URL=None, COLUMNS="160")
    reference = booked["reference"]

    listed = json.loads(
        run("bookings", "list", "--user", "ADA@example.com", "--json", env=env).stdout
    )
    assert [b["reference"] for b in listed] == [reference]
    assert [item["kind"] for item in listed[0]["items"]] == ["flight", "hotel"]

    table = run("bookings", "list", "--user", "ada@example.com", env=env)
    assert reference in table.stdout
    assert "confirmed" in table.stdout
    total = format_money(Decimal(listed[0]["total_amount"]), "EUR")
    assert total.startswith("€")
    assert total in table.stdout

    shown = run("bookings", "show", reference.lower(), env=env)  # customer service view
    assert shown.returncode == 0, shown.stderr
    assert f"Booking {reference} - confirmed" in shown.stdout
    assert "2 night(s)" in shown.stdout
    assert "(local times)" in shown.stdout
    assert f"Total {total}" in shown.stdout
    for item in listed[0]["items"]:
        assert format_money(Decimal(item["amount"]), item["currency"]) in shown.stdout

    refused = run("bookings", "cancel", reference, "--user", "bob@example.com", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"travelhub: I found no booking {reference} of yours."

    cancelled = run("bookings", "cancel", reference, "--user", "ada@example.com", env=env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.startswith(f"Booking {reference} is cancelled. Refund: ")
    again = run("bookings", "cancel", reference, "--user", "ada@example.com", env=env)
    assert again.stdout.startswith(f"Booking {reference} was already cancelled")


def test_unknown_people_and_references(booked: dict[str, str]) -> None:
    env = environment(DATABASE_URL=booked["database"], REDIS_URL=None)
    nobody = run("bookings", "list", "--user", "nobody@example.com", env=env)
    assert nobody.returncode == 1
    assert (
        nobody.stderr.strip()
        == "travelhub: No traveller has the email address 'nobody@example.com'."
    )
    missing = run("bookings", "show", "ZZZZ99", env=env)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "travelhub: I found no booking ZZZZ99 of yours."
    no_tenant = run("bookings", "show", booked["reference"], "--tenant", "acme", env=env)
    assert no_tenant.stderr.strip() == "travelhub: There is no tenant called 'acme'."
