"""/admin on a real PostgreSQL: a tenant's admin sees the tenant's figures per day (the daily
metrics as maintenance refreshed them, and the live counts), nothing of another tenant's; a
traveller gets 403 and one sentence; nobody goes to the sign-in page."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from accounts.directory import Account, account_by_email
from agent.bootstrap import Services
from db.tenant_metrics import daily_metrics
from tests.hostile.conftest import token_for
from tests.integration.agent_world import traveller
from tests.integration.conftest import router_client
from web.admin_page import NOT_AN_ADMIN, admin_router

pytestmark = pytest.mark.integration
SECRET = "admin-page-test-secret-" + "x" * 40


async def booked_conversation(services: Services, person: Account) -> None:
    thread = None
    for said in ["Flights from Paris to Rome in 3 weeks", "book the cheapest", "yes"]:
        thread = (await services.conversations.turn(person, said, thread_id=thread)).thread_id
    await services.chat_log.flushed()


def make_admin(owner: Any, email: str) -> None:
    owner.execute("UPDATE users SET role = 'admin' WHERE email = %s", (email,))


async def other_tenant(services: Services, owner: Any, email: str) -> Account:
    owner.execute("INSERT INTO tenants (slug, name) VALUES ('other', 'Other')")
    return await account_by_email(services.sessions, "other", email, create=True)


async def test_the_figures_are_the_tenants_own(services: Services, owner: Any) -> None:
    ada = await traveller(services)
    await booked_conversation(services, ada)
    await services.conversations.turn(await traveller(services, "bob@example.com"), "hello")
    carol = await other_tenant(services, owner, "carol@example.com")
    await booked_conversation(services, carol)
    owner.execute("REFRESH MATERIALIZED VIEW mv_tenant_daily_metrics")
    today = datetime.now(UTC).date()

    ours = await daily_metrics(services.sessions, ada.tenant_id, today=today, days=7)
    assert len(ours.days) == 7
    assert ours.days[-1] == today
    assert ours.conversations[-1] == 2  # Ada's and Bob's; not Carol's
    assert ours.bookings[-1] == 1
    assert ours.conversion[-1] == 50.0
    assert ours.searches[-1] == 1
    assert ours.tiers["provider"][-1] + ours.tiers["db"][-1] == 1
    assert ours.turn_ms["p50"][-1] is not None
    assert ours.turn_ms["p99"][-1] >= ours.turn_ms["p50"][-1]  # type: ignore[operator]
    (currency,) = ours.revenue  # one booking, one currency
    assert ours.booked[currency][-1] == 1
    (revenue,) = owner.execute(
        "SELECT total_amount FROM bookings WHERE tenant_id = %s", (ada.tenant_id,)
    ).fetchone()
    assert ours.revenue[currency][-1] == float(revenue)
    assert ours.conversations[:-1] == [0] * 6
    assert ours.revenue[currency][:-1] == [None] * 6

    theirs = await daily_metrics(services.sessions, carol.tenant_id, today=today, days=7)
    assert theirs.conversations[-1] == 1
    assert theirs.bookings[-1] == 1


def test_the_runtime_role_reads_no_tenants_figures_but_its_own(app_connection: Any) -> None:
    with app_connection.transaction():
        assert app_connection.execute(
            "SELECT count(*) FROM tenant_daily_metrics('2000-01-01')"
        ).fetchone() == (0,)  # no tenant set: no rows
    with pytest.raises(Exception, match="permission denied"), app_connection.transaction():
        app_connection.execute("SELECT * FROM mv_tenant_daily_metrics")


@pytest.fixture
async def client(
    installed_services: Services, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    del installed_services
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", SECRET)
    async with router_client(admin_router(chat_path="/chat")) as client:
        yield client


def charts_of(page: str) -> list[dict[str, Any]]:
    found = re.search(r'<script id="charts" type="application/json">(.*?)</script>', page, re.S)
    assert found is not None, page
    charts: list[dict[str, Any]] = json.loads(found.group(1))
    return charts


async def test_an_admin_gets_the_charts_a_traveller_403_nobody_the_sign_in(
    client: httpx.AsyncClient, services: Services, owner: Any, database: str
) -> None:
    ada = await traveller(services)
    await booked_conversation(services, ada)
    dora = await traveller(services, "dora@example.com")
    make_admin(owner, dora.email)

    page = await client.get(
        "/admin", headers={"Authorization": f"Bearer {token_for(dora, database)}"}
    )
    assert page.status_code == 200
    charts = charts_of(page.text)
    assert [c["title"] for c in charts] == [
        "Conversations, searches and bookings",
        "Conversion",
        "Revenue by currency",
        "Search cache tiers",
        "Turn latency",
    ]
    volume = charts[0]
    assert volume["names"] == ["conversations", "searches", "bookings"]
    assert [series[-1] for series in volume["data"][1:]] == [1, 1, 1]
    assert len(volume["data"][0]) == 30
    assert "ada@example.com" not in page.text  # figures, never people

    traveller_page = await client.get(
        "/admin", headers={"Authorization": f"Bearer {token_for(ada, database)}"}
    )
    assert traveller_page.status_code == 403
    assert NOT_AN_ADMIN in traveller_page.text
    assert 'id="charts"' not in traveller_page.text

    nobody = await client.get("/admin")
    assert nobody.status_code == 303
    assert nobody.headers["location"] == "/chat/login"
    forged = await client.get("/admin", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 303

    script = await client.get("/admin/static/uPlot.iife.min.js")
    assert script.status_code == 200
    assert script.text.startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    assert (await client.get("/admin/static/..%2F..%2Fapp.py")).status_code == 404
    assert (await client.get("/admin/static/package.json")).status_code == 404
