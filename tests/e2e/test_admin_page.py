"""/admin in Chromium: for the tenant's admin the charts draw, with the day's booked
conversation in them; a traveller gets 403 and its sentence."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from accounts.passwords import hash_password
from db.urls import libpq_url
from tests.conftest import app_url
from tests.e2e.conftest import PASSWORD, Server, screenshot
from tests.e2e.test_browser import log_in
from tests.integration.agent_world import stack, traveller
from web.admin_page import NOT_AN_ADMIN

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
TIMEOUT = 30_000

# Each chart's series with at least one point, and how many of its canvas pixels are drawn.
DRAWN = """() => window.adminCharts.map(chart => {
    const canvas = chart.root.querySelector("canvas");
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
    return {
        series: chart.series.slice(1).map(s => s.label),
        points: chart.data.slice(1).map(values => values.filter(v => v !== null).length),
        last: chart.data.slice(1).map(values => values[values.length - 1]),
        inked,
    };
})"""


async def _booked(database: str) -> None:
    async with stack(database, app_url(database)) as services:
        ada = await traveller(services, "ada@example.com")
        thread = None
        for said in ["Flights from Madrid to Lisbon in 3 weeks", "book the cheapest", "yes"]:
            thread = (await services.conversations.turn(ada, said, thread_id=thread)).thread_id
        await services.chat_log.flushed()


def test_the_admin_sees_the_charts_drawn_and_a_traveller_is_refused(
    browser: Any, server: Server, e2e_database: str
) -> None:
    with psycopg.connect(libpq_url(e2e_database), autocommit=True) as owner:
        owner.execute(
            "INSERT INTO users (tenant_id, email, full_name, hashed_password, role,"
            " data_processing_consent, consent_granted_at) SELECT id, 'adam@example.com',"
            " 'Adam', %s, 'admin', true, now() FROM tenants WHERE slug = 'default'",
            (hash_password(PASSWORD),),
        )
    # Playwright's sync API runs an event loop on this thread: the turns run on another.
    with ThreadPoolExecutor(1) as worker:
        worker.submit(asyncio.run, _booked(e2e_database)).result()
    with psycopg.connect(libpq_url(e2e_database), autocommit=True) as owner:
        owner.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY mv_tenant_daily_metrics")

    page = log_in(browser, server, "adam@example.com")
    try:
        answer = page.goto(f"{server.base}/admin")
        assert answer is not None
        assert answer.status == 200
        page.wait_for_function("() => (window.adminCharts || []).length === 5", timeout=TIMEOUT)
        charts = page.evaluate(DRAWN)
        screenshot(page, "admin-charts")
        assert [c["series"] for c in charts] == [
            ["conversations", "searches", "bookings"],
            ["conversion"],
            ["EUR"],
            ["redis", "db", "provider"],
            ["p50", "p99"],
        ]
        assert charts[0]["last"] == [1, 1, 1]  # today's conversation, its search, its booking
        assert charts[1]["last"] == [100]
        assert charts[2]["last"][0] > 0  # the booking's revenue
        assert sum(charts[3]["last"]) == 1
        assert charts[0]["points"] == [30, 30, 30]  # a point a day, none missing
        for chart in charts:  # every canvas has axes, grid and lines drawn on it
            assert chart["inked"] > 1000, chart
    finally:
        page.close()

    page = log_in(browser, server, "ada@example.com")
    try:
        answer = page.goto(f"{server.base}/admin")
        assert answer is not None
        assert answer.status == 403
        assert page.locator("[role=alert]").inner_text() == NOT_AN_ADMIN
        assert page.evaluate("() => window.adminCharts === undefined")
    finally:
        page.close()
