"""/admin: a tenant's figures per day, drawn as charts, for the tenant's admins.

Nobody signed in goes to the sign-in page; a traveller (or anyone whose account is no admin,
as the database has it now, whatever the token says) gets 403 and one sentence. Server-rendered
(Jinja2); the charts are uPlot, vendored in web/static/admin (see its package.json)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from accounts.directory import find_account
from db.tenant_metrics import DailyMetrics, daily_metrics
from web import runtime
from web.session_guard import decoded, request_token

ADMIN_PATH = "/admin"
DAYS = 30
NOT_AN_ADMIN = "This page is for the administrators of your organisation only."
STATIC = Path(__file__).resolve().parent / "static" / "admin"
VENDORED = {"uPlot.iife.min.js": "text/javascript", "uPlot.min.css": "text/css"}
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def charts(metrics: DailyMetrics) -> list[dict[str, Any]]:
    """Each chart as uPlot draws it: a title, a unit, series names, and x (epoch seconds) first."""
    x = [int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) for d in metrics.days]

    def chart(title: str, unit: str, series: dict[str, list[Any]]) -> dict[str, Any]:
        return {"title": title, "unit": unit, "names": list(series), "data": [x, *series.values()]}

    return [
        chart(
            "Conversations, searches and bookings",
            "per day",
            {
                "conversations": metrics.conversations,
                "searches": metrics.searches,
                "bookings": metrics.bookings,
            },
        ),
        chart("Conversion", "% of conversations that booked", {"conversion": metrics.conversion}),
        chart("Revenue by currency", "as of the last maintenance run", metrics.revenue),
        chart("Search cache tiers", "searches per day", metrics.tiers),
        chart("Turn latency", "ms", metrics.turn_ms),
    ]


def admin_router(*, chat_path: str) -> APIRouter:
    """GET /admin (the page) and its two vendored files."""
    router = APIRouter(include_in_schema=False)

    @router.get(f"{ADMIN_PATH}/static/{{name}}")
    async def vendored(name: str) -> FileResponse:
        if name not in VENDORED:
            raise HTTPException(status_code=404, detail="There is no such file.")
        return FileResponse(STATIC / name, media_type=VENDORED[name])

    @router.get(ADMIN_PATH)
    async def admin(request: Request) -> Response:
        claims = decoded(request_token(request.headers.get("Authorization", ""), request.cookies))
        if claims is None:  # SessionGuard has refused an ended session already
            return RedirectResponse(f"{chat_path}/login", status_code=303)
        services = runtime.services()
        account = await find_account(services.sessions, str(claims["identifier"]))
        if account is None or str(account.user_id) != str(claims.get("user_id")):
            return RedirectResponse(f"{chat_path}/login", status_code=303)
        context: dict[str, Any] = {"chat": chat_path, "problem": NOT_AN_ADMIN}
        if not account.is_admin:
            return templates.TemplateResponse(request, "admin.html", context, status_code=403)
        metrics = await daily_metrics(
            services.sessions, account.tenant_id, today=datetime.now(UTC).date(), days=DAYS
        )
        context.update(problem=None, charts=charts(metrics), days=DAYS, static=ADMIN_PATH)
        context["totals"] = {
            "Conversations": sum(metrics.conversations),
            "Searches": sum(metrics.searches),
            "Bookings": sum(metrics.bookings),
        }
        return templates.TemplateResponse(request, "admin.html", context)

    return router
