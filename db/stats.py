"""The monitoring figures of the design's section 7, each judged against its thresholds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

import psycopg

from db.maintenance import month_start
from db.models import PARTITIONED_TABLES
from db.monitoring import MONITORING_SEARCH_PATH
from db.urls import libpq_url

Level = Literal["ok", "warning", "critical", "info"]


@dataclass(frozen=True)
class Figure:
    name: str
    value: Any
    level: Level
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _above(value: float, warning: float, critical: float) -> Level:
    return "critical" if value > critical else "warning" if value > warning else "ok"


def _below(value: float, warning: float, critical: float) -> Level:
    return "critical" if value < critical else "warning" if value < warning else "ok"


def _connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(libpq_url(url), autocommit=True, prepare_threshold=None)


def collect(owner_url: str, *, analytics_url: str | None = None) -> list[Figure]:
    """Every figure; analytics reads (cache hit rates) go to the replica when there is one."""
    figures: list[Figure] = []
    with _connect(owner_url) as db:
        db.execute(MONITORING_SEARCH_PATH)
        (connections,) = db.execute("SELECT count(*) FROM pg_stat_activity").fetchone() or (0,)
        figures.append(
            Figure(
                "connections",
                connections,
                _above(connections, 150, 190),
                "warning > 150, critical > 190",
            )
        )
        hit, total = db.execute(
            "SELECT sum(heap_blks_hit), sum(heap_blks_hit + heap_blks_read)"
            " FROM pg_statio_user_tables"
        ).fetchone() or (None, None)
        if total:
            ratio = float(hit) / float(total)
            figures.append(
                Figure(
                    "buffer_cache_hit_ratio",
                    round(ratio, 4),
                    _below(ratio, 0.98, 0.95),
                    "warning < 98%, critical < 95%",
                )
            )
        else:
            figures.append(
                Figure("buffer_cache_hit_ratio", None, "info", "no table has been read yet")
            )
        (longest,) = db.execute(
            "SELECT coalesce(max(extract(epoch FROM now() - query_start)), 0) FROM pg_stat_activity"
            " WHERE state = 'active' AND now() - query_start > interval '30 seconds'"
        ).fetchone() or (0,)
        figures.append(
            Figure(
                "longest_query_seconds",
                round(float(longest), 1),
                _above(float(longest), 30, 300) if longest else "ok",
                "warning > 30 s, critical > 5 min",
            )
        )
        (dead,) = db.execute(
            "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables"
        ).fetchone() or (0,)
        figures.append(Figure("dead_tuples", int(dead), "info", "autovacuum reclaims them"))
        sizes = db.execute(
            "SELECT tablename, pg_total_relation_size(schemaname||'.'||tablename) FROM pg_tables"
            " WHERE schemaname = 'public' ORDER BY 2 DESC LIMIT 10"
        ).fetchall()
        figures.append(Figure("largest_tables_bytes", dict(sizes), "info"))
        unused = db.execute(
            "SELECT indexname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes"
            " WHERE idx_scan = 0 AND indexrelname NOT LIKE 'pg_toast%' ORDER BY 2 DESC LIMIT 10"
        ).fetchall()
        figures.append(
            Figure(
                "unused_indexes", [name for name, _size in unused], "info", "candidates for removal"
            )
        )
        for parent in PARTITIONED_TABLES:
            (stray,) = db.execute(f"SELECT count(*) FROM {parent}_default").fetchone() or (0,)
            figures.append(
                Figure(
                    f"{parent}_default_rows",
                    stray,
                    "warning" if stray else "ok",
                    "maintenance keeps DEFAULT empty",
                )
            )
            months = db.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = %s::regclass AND c.relname ~ '_y[0-9]{4}m[0-9]{2}$'",
                (parent,),
            ).fetchall()
            # Consecutive months covered from next month on: a far-future partition made for a
            # stray row does not protect next month's writes.
            have = {date(int(name[-7:-3]), int(name[-2:]), 1) for (name,) in months}
            ahead = 0
            while month_start(date.today(), ahead + 1) in have:
                ahead += 1
            figures.append(
                Figure(
                    f"{parent}_months_ahead",
                    ahead,
                    _below(ahead, 3, 1),
                    "warning < 3, critical < 1",
                )
            )
    with _connect(analytics_url or owner_url) as reads:
        if analytics_url:
            (lag,) = reads.execute(
                "SELECT coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)"
            ).fetchone() or (0,)
            (in_recovery,) = reads.execute("SELECT pg_is_in_recovery()").fetchone() or (False,)
            figures.append(
                Figure(
                    "replication_lag_seconds",
                    round(float(lag), 2),
                    _above(float(lag), 30, 300) if in_recovery else "warning",
                    "warning > 30 s, critical > 5 min"
                    if in_recovery
                    else "ANALYTICS_DATABASE_URL is not a replica",
                )
            )
        else:
            figures.append(Figure("replication_lag_seconds", None, "info", "no replica configured"))
        tiers = reads.execute(
            "SELECT properties->>'tier', count(*) FROM analytics_events"
            " WHERE event_type = 'search_performed' AND created_at > now() - interval '1 day'"
            " GROUP BY 1"
        ).fetchall()
        daily = reads.execute(
            "SELECT date::text, bookings, revenue::text FROM mv_daily_metrics"
            " WHERE date > current_date - 7 ORDER BY date"
        ).fetchall()
        figures.append(
            Figure(
                "daily_bookings_last_week",
                {day: {"bookings": n, "revenue": revenue} for day, n, revenue in daily},
                "info",
                "mv_daily_metrics, as of its last refresh",
            )
        )
        searches = sum(count for _tier, count in tiers)
        rates = {tier: round(count / searches, 4) for tier, count in tiers} if searches else {}
        figures.append(Figure("search_cache_tiers_last_day", rates, "info", f"{searches} searches"))
    return figures


def worst(figures: list[Figure]) -> Level:
    levels = {figure.level for figure in figures}
    return "critical" if "critical" in levels else "warning" if "warning" in levels else "ok"
