"""The composition root: the one place that turns settings into connected services."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.attempt_limits import REDIS_PREFIX, AttemptLimits, AttemptRule, RedisWindows
from accounts.token_cipher import InvalidTokenKeys, TokenCipher
from agent.conversation.admission import Admission
from agent.conversation.chat_sessions import ChatSessions
from agent.conversation.checkpointer import (
    PooledPostgresSaver,
    applied_checkpoint_migration,
    check_checkpoint_schema,
)
from agent.conversation.store import TurnStore
from agent.conversation.turns import Conversations
from agent.graph import build_graph
from agent.models import build_model, model_name
from agent.secret_files import kept_secret
from agent.settings import Settings, SettingsError
from db.chat_log import ChatLog
from db.embedded import start_embedded_postgres
from db.engine import create_app_engine, create_checkpoint_pool
from db.figures import refresh_forever
from db.maintenance import run_maintenance
from db.unit_of_work import tenant_sessionmaker
from db.urls import runtime_url
from ops import metrics
from ops.live import unwatch, watch_pools
from ops.tracing import install_tracing
from tools.booking import BookingService
from tools.cache import SearchCache
from tools.cancellation import CancellationService
from tools.desk import TravelDesk
from tools.itinerary import Itineraries
from tools.money import use_locale
from tools.places import gazetteer
from tools.providers.amadeus import AmadeusProvider
from tools.providers.base import FlightOrders, FlightProvider, HotelOrders, HotelProvider
from tools.providers.duffel import DuffelProvider
from tools.providers.http import Resilience
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders
from tools.providers.offline_stock import PostgresSeatStock, SeatStock
from tools.search import SearchService, local_today
from tools.single_flight import lease_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str
    """Schema owner: migrations and maintenance."""
    runtime: str
    """The row-level-security role every request runs as."""


def resolve_database(settings: Settings) -> DatabaseUrls:
    """The configured database, or an embedded one started under `settings.data_dir`."""
    if settings.database_url is not None:
        owner = settings.database_url.get_secret_value()
    else:
        owner = start_embedded_postgres(settings.data_dir)
    if settings.app_database_url is not None:
        runtime = settings.app_database_url.get_secret_value()
    else:
        password = settings.app_db_password.get_secret_value() if settings.app_db_password else None
        runtime = runtime_url(owner, password=password)
    return DatabaseUrls(owner=owner, runtime=runtime)


HIT_FLUSH_SECONDS = 5.0
REDIS_CONNECTIONS = 64
SEARCH_LOCK_CONNECTIONS = 4
"""The search cache's own pool for advisory locks when Redis is down: a slow provider parks a
connection here, never in the app's pool."""
SEARCH_LOCK_WAIT_SECONDS = 0.25
"""How long a search waits for one of those before it runs without the cross-process lock:
the pool bounds the connections parked on locks, not how many distinct searches run at once."""


@dataclass
class Services:
    """Everything a running process holds open; built by `build_services`, closed by `aclose`."""

    settings: Settings
    urls: DatabaseUrls
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    search_locks: AsyncEngine
    """The search cache's few connections for advisory locks (tools/single_flight.py)."""
    checkpoint_pool: AsyncConnectionPool[Any]
    redis: Redis | None
    http: httpx.AsyncClient
    cache: SearchCache
    search: SearchService
    bookings: BookingService
    cancellations: CancellationService
    itineraries: Itineraries
    desk: TravelDesk
    checkpointer: AsyncPostgresSaver
    chat_log: ChatLog
    seats: PostgresSeatStock
    conversations: Conversations
    chat_sessions: ChatSessions
    sign_in_limits: AttemptLimits
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    def start_background(self) -> None:
        """Periodic upkeep of a long-running process (the web app)."""
        self._background.append(asyncio.create_task(self._flush_hits_forever()))
        if self.settings.reconcile_interval_seconds > 0:
            self._background.append(asyncio.create_task(self._reconcile_forever()))
        if self.settings.maintenance_interval_seconds > 0:
            self._background.append(asyncio.create_task(self._maintain_forever()))
        if self.settings.metrics:
            self._watch_for_metrics()

    def _watch_for_metrics(self) -> None:
        watch_pools(
            engines={"app": self.engine, "search_locks": self.search_locks},
            pools={"checkpoint": self.checkpoint_pool},
        )
        if self.settings.metrics_interval_seconds > 0:
            analytics = self.settings.analytics_database_url
            refresher = refresh_forever(
                self.settings.metrics_interval_seconds,
                owner_url=self.urls.owner,
                analytics_url=analytics.get_secret_value() if analytics else None,
                redis=self.redis,
            )
            self._background.append(asyncio.create_task(refresher))

    async def _maintain_forever(self) -> None:
        # The advisory lock makes the instances of a cluster take turns, not repeat the work.
        while True:
            try:
                report = await asyncio.to_thread(
                    run_maintenance,
                    self.urls.owner,
                    retention_months=self.settings.partition_retention_months,
                    archive_grace_days=self.settings.archive_grace_days,
                )
                for line in report.done:
                    log.info("maintenance: %s", line)
            except Exception:
                log.exception("maintenance failed; it will run again")
            await asyncio.sleep(self.settings.maintenance_interval_seconds)

    async def _reconcile_forever(self) -> None:
        # The first pass at start-up: bookings a killed process left behind settle now.
        while True:
            try:
                await self.bookings.reconciler.settle_due()
            except Exception:
                log.exception("settling interrupted bookings failed; it will run again")
            await asyncio.sleep(self.settings.reconcile_interval_seconds)

    async def _flush_hits_forever(self) -> None:
        while True:
            await asyncio.sleep(HIT_FLUSH_SECONDS)
            try:
                await self.cache.hits.flush(self.sessions)
            except Exception:
                log.exception("could not record search-cache hits; will retry")

    async def aclose(self) -> None:
        # Turns in flight finish first (their deadline bounds the wait): a reply already
        # streamed to a traveller is recorded before the pools close under it.
        deadline = self.settings.turn_deadline_seconds
        if not await self.conversations.admission.wait_until_idle(deadline):
            log.warning("closing with turns still running after %g s", deadline)
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.settings.metrics:
            unwatch()
        try:
            await self.chat_log.aclose()
            await self.cache.hits.flush(self.sessions)
        finally:
            await self.http.aclose()
            await self.seats.aclose()
            await self.checkpoint_pool.close()
            await self.engine.dispose()
            await self.search_locks.dispose()
            if self.redis is not None:
                await self.redis.aclose()


def cipher_from(settings: Settings) -> TokenCipher:
    """The configured keys (newest first); in development, a key kept in the data folder."""
    if settings.token_encryption_keys is not None:
        try:
            return TokenCipher(settings.token_encryption_keys.get_secret_value().split(","))
        except InvalidTokenKeys as error:
            raise SettingsError(str(error)) from None
    if settings.environment == "production":
        raise SettingsError("Production needs TRAVELHUB_TOKEN_KEYS to encrypt OAuth tokens.")
    path = Path(settings.data_dir) / "token.key"
    key, made = kept_secret(path, lambda: Fernet.generate_key().decode())
    if made:
        log.info("made a development token key in %s", path)
    try:
        return TokenCipher([key])
    except InvalidTokenKeys:
        raise SettingsError(f"{path} holds no Fernet key: delete it to make a new one.") from None


def sign_in_limits_from(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis | None,
    events: ChatLog | None,
    redis_prefix: str = REDIS_PREFIX,
) -> AttemptLimits:
    """The attempt limits the settings describe, counted in Redis when there is one."""
    # Keyed with the secret that signs sessions: every process of a deployment shares it.
    secret = settings.auth_secret.get_secret_value() if settings.auth_secret else "development"
    windows = None if redis is None else RedisWindows(redis, prefix=redis_prefix)
    return AttemptLimits(
        AttemptRule(
            per_account=settings.sign_in_account_limit,
            per_address=settings.sign_in_address_limit,
            window_seconds=settings.sign_in_window_seconds,
        ),
        sessions=sessions,
        secret=secret,
        redis=windows,
        events=events,
        default_tenant=settings.default_tenant_slug,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Inventory:
    """Where searches go, and which order desks take orders (by provider name)."""

    flights: FlightProvider
    hotels: HotelProvider
    flight_orders: dict[str, FlightOrders]
    hotel_orders: dict[str, HotelOrders]


def build_providers(
    settings: Settings, *, http: httpx.AsyncClient, seats: SeatStock | None = None
) -> Inventory:
    """The inventory `TRAVEL_PROVIDER` names; the offline order desk is always open.

    `seats`: where the offline vendor counts seats sold (by default, in this process only).
    """
    places = gazetteer()
    offline_flights = OfflineFlights(places, now=utc_now, stock=seats)
    offline_hotels = OfflineHotels(places, now=utc_now)
    offline = OfflineOrders(offline_flights, offline_hotels)
    flight_orders: dict[str, FlightOrders] = {offline.name: offline}
    hotel_orders: dict[str, HotelOrders] = {offline.name: offline}
    patience = Resilience(
        timeout=settings.provider_timeout_seconds,
        budget=settings.provider_budget_seconds,
        cooldown=settings.provider_cooldown_seconds,
    )
    if settings.travel_provider == "duffel" and settings.duffel_access_token is not None:
        duffel = DuffelProvider(
            access_token=settings.duffel_access_token.get_secret_value(),
            base_url=settings.duffel_base_url,
            client=http,
            resilience=patience,
        )
        flight_orders[duffel.name] = duffel
        return Inventory(duffel, offline_hotels, flight_orders, hotel_orders)
    if (
        settings.travel_provider == "amadeus"
        and settings.amadeus_client_id is not None
        and settings.amadeus_client_secret is not None
    ):
        # One provider for both, so flights and hotels share one OAuth token. Its hotel
        # orders are not open (no recorded booking API to build them on): a hotel found there
        # is refused before anything is ordered, rather than a flight ordered then undone.
        amadeus = AmadeusProvider(
            client_id=settings.amadeus_client_id.get_secret_value(),
            client_secret=settings.amadeus_client_secret.get_secret_value(),
            base_url=settings.amadeus_base_url,
            client=http,
            resilience=patience,
        )
        flight_orders[amadeus.name] = amadeus
        return Inventory(amadeus, amadeus, flight_orders, hotel_orders)
    return Inventory(offline_flights, offline_hotels, flight_orders, hotel_orders)


async def build_services(settings: Settings, urls: DatabaseUrls | None = None) -> Services:
    """Connect to PostgreSQL (as the runtime role) and, when configured, Redis."""
    use_locale(settings.locale)  # how every reply and table of this process writes money
    metrics.enable(settings.metrics)
    install_tracing()  # spans exported when OTEL_EXPORTER_OTLP_ENDPOINT is set, else no-ops
    urls = urls or resolve_database(settings)
    engine = create_app_engine(urls.runtime, pool_size=settings.db_pool_max_size)
    search_locks = create_app_engine(
        urls.runtime, pool_size=SEARCH_LOCK_CONNECTIONS, pool_timeout=SEARCH_LOCK_WAIT_SECONDS
    )
    pool = create_checkpoint_pool(
        urls.runtime, min_size=settings.db_pool_min_size, max_size=settings.db_pool_max_size
    )
    await pool.open(wait=True)
    try:
        async with pool.connection() as connection:
            applied = await applied_checkpoint_migration(connection)
        check_checkpoint_schema(applied)
    except BaseException:
        await pool.close()
        raise
    redis = (
        # Short timeouts: a Redis that does not answer must cost a search milliseconds. A
        # blocking pool: a burst of searches waits briefly for a connection, where the default
        # pool raises "Too many connections" and the cache would take Redis for down.
        Redis.from_pool(  # from_pool: closing the client closes the pool too
            BlockingConnectionPool.from_url(
                settings.redis_url.get_secret_value(),
                max_connections=REDIS_CONNECTIONS,
                timeout=0.5,
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
        )
        if settings.redis_url is not None
        else None
    )
    sessions = tenant_sessionmaker(engine)
    http = httpx.AsyncClient(timeout=settings.provider_timeout_seconds)
    # The offline vendor's seats in PostgreSQL: every process sells from the same stock.
    seats = PostgresSeatStock(urls.runtime)
    inventory = build_providers(settings, http=http, seats=seats)
    # Orders go to the desk of the provider an offer came from.
    flight_orders, hotel_orders = inventory.flight_orders, inventory.hotel_orders
    cache = SearchCache(
        sessions=sessions,
        redis=redis,
        locks=search_locks,
        lease=lease_for(settings.provider_budget_seconds),
        db_ttl=timedelta(seconds=settings.search_cache_ttl_seconds),
    )
    # Chat messages and analytics share the checkpointer's pool: one more connection at most.
    chat_log = ChatLog(pool)
    search = SearchService(
        flights=inventory.flights,
        hotels=inventory.hotels,
        cache=cache,
        gazetteer=gazetteer(),
        today=partial(local_today, now=utc_now),
        analytics=chat_log,
    )
    bookings = BookingService(
        sessions=sessions,
        flight_orders=flight_orders,
        hotel_orders=hotel_orders,
        now=utc_now,
        lease=timedelta(seconds=settings.booking_lease_seconds),
    )
    cancellations = CancellationService(
        sessions=sessions, flight_orders=flight_orders, hotel_orders=hotel_orders, now=utc_now
    )
    itineraries = Itineraries(sessions)
    desk = TravelDesk(
        search=search,
        bookings=bookings,
        cancellations=cancellations,
        itineraries=itineraries,
        now=utc_now,
    )
    # The saver runs on our own pool (autocommit, dict rows, no prepared statements); its
    # tables were made by the migrations, so no setup() here.
    checkpointer = PooledPostgresSaver(pool, remembered_threads=settings.remembered_threads)
    chat_sessions = ChatSessions(sessions)
    sign_in_limits = sign_in_limits_from(settings, sessions=sessions, redis=redis, events=chat_log)
    model = build_model(settings)
    conversations = Conversations(
        graph=build_graph(model).compile(checkpointer=checkpointer),
        store=TurnStore(chat_log, checkpointer, chat_sessions),
        desk=desk,
        model_name=model_name(model),
        admission=Admission(settings.turn_deadline_seconds, settings.max_concurrent_turns),
    )
    return Services(
        settings=settings,
        urls=urls,
        engine=engine,
        sessions=sessions,
        search_locks=search_locks,
        checkpoint_pool=pool,
        redis=redis,
        http=http,
        cache=cache,
        search=search,
        bookings=bookings,
        cancellations=cancellations,
        itineraries=itineraries,
        desk=desk,
        checkpointer=checkpointer,
        chat_log=chat_log,
        seats=seats,
        conversations=conversations,
        chat_sessions=chat_sessions,
        sign_in_limits=sign_in_limits,
    )
