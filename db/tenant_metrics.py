"""A tenant's figures per day for its admins (/admin): the design's daily metrics per currency
(`tenant_daily_metrics()`, refreshed by maintenance) beside live counts read under the tenant's
row-level security (conversations, searches and their cache tiers, bookings, turn latency)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.unit_of_work import UnitOfWork

TIERS = ("redis", "db", "provider")

# Each: (day, key, figure) rows since :since; DATE(created_at) as the design's view has it.
LIVE: dict[str, str] = {
    "conversations": (
        "SELECT DATE(created_at), '', count(*) FROM chat_sessions"
        " WHERE created_at >= :since GROUP BY 1"
    ),
    "searches": (
        "SELECT DATE(created_at), coalesce(properties->>'tier', ''), count(*)"
        " FROM analytics_events WHERE event_type = 'search_performed' AND created_at >= :since"
        " GROUP BY 1, 2"
    ),
    "bookings": (
        "SELECT DATE(created_at), '', count(*) FROM bookings"
        " WHERE status = 'confirmed' AND created_at >= :since GROUP BY 1"
    ),
    "turn_ms": (
        "SELECT DATE(created_at), q.name, percentile_cont(q.at) WITHIN GROUP"
        " (ORDER BY (properties->>'latency_ms')::float8)"
        " FROM analytics_events, (VALUES ('p50', 0.5::float8), ('p99', 0.99::float8)) q(name, at)"
        " WHERE event_type = 'turn_completed' AND created_at >= :since"
        " AND properties ? 'latency_ms' GROUP BY 1, 2, q.at"
    ),
    "revenue": "SELECT date, currency, revenue FROM tenant_daily_metrics(:since)",
    "booked": "SELECT date, currency, bookings FROM tenant_daily_metrics(:since)",
}


@dataclass
class DailyMetrics:
    """A tenant's figures, one value per day of `days` (None: nothing that day)."""

    days: list[date]
    conversations: list[int] = field(default_factory=list)
    searches: list[int] = field(default_factory=list)
    bookings: list[int] = field(default_factory=list)
    """Confirmed bookings made that day (live)."""
    conversion: list[float | None] = field(default_factory=list)
    """Confirmed bookings per conversation started that day, in percent."""
    tiers: dict[str, list[int]] = field(default_factory=dict)
    """Searches answered by each cache tier."""
    turn_ms: dict[str, list[float | None]] = field(default_factory=dict)
    """Turn latency percentiles (p50, p99) in milliseconds."""
    revenue: dict[str, list[float | None]] = field(default_factory=dict)
    """Confirmed revenue by currency (the refreshed daily metrics)."""
    booked: dict[str, list[int]] = field(default_factory=dict)
    """Confirmed bookings by currency (the refreshed daily metrics)."""


async def daily_metrics(
    sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, *, today: date, days: int
) -> DailyMetrics:
    """The last `days` days up to `today` of the tenant's figures, read as that tenant."""
    since = today - timedelta(days=days - 1)
    every = [since + timedelta(days=n) for n in range(days)]
    read: dict[str, dict[str, dict[date, Any]]] = {}
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        connection = await uow.session.connection()
        for name, sql in LIVE.items():
            rows = (await connection.execute(text(sql), {"since": since})).all()
            by_key: dict[str, dict[date, Any]] = read.setdefault(name, {})
            for day, key, figure in rows:
                by_key.setdefault(str(key).strip(), {})[day] = figure
    return _shaped(every, read)


def _shaped(every: list[date], read: dict[str, dict[str, dict[date, Any]]]) -> DailyMetrics:
    def counts(values: dict[date, Any]) -> list[int]:
        return [int(values.get(day, 0)) for day in every]

    def amounts(values: dict[date, Any]) -> list[float | None]:
        return [_number(values.get(day)) for day in every]

    searches = read["searches"]
    conversations = counts(read["conversations"].get("", {}))
    bookings = counts(read["bookings"].get("", {}))
    return DailyMetrics(
        days=every,
        conversations=conversations,
        searches=[sum(n) for n in zip(*(counts(v) for v in searches.values()), strict=True)]
        if searches
        else [0] * len(every),
        bookings=bookings,
        conversion=[
            round(100 * booked / started, 1) if started else None
            for booked, started in zip(bookings, conversations, strict=True)
        ],
        tiers={tier: counts(searches.get(tier, {})) for tier in TIERS},
        turn_ms={q: amounts(read["turn_ms"].get(q, {})) for q in ("p50", "p99")},
        revenue={c: amounts(v) for c, v in sorted(read["revenue"].items())},
        booked={c: counts(v) for c, v in sorted(read["booked"].items())},
    )


def _number(value: Any) -> float | None:
    if value is None:
        return None
    return round(float(value), 2) if isinstance(value, Decimal | float | int) else None
