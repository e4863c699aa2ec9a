"""Every setting of the product, read once from the environment (and `.env`)."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tools.booking import LEASE
from tools.money import DEFAULT_LOCALE, UnknownLocale, locale_named


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message is one sentence for the operator."""


DEFAULT_PORTS = {"http": 80, "https": 443}


def web_origin(text: str) -> str:
    """`text` as a browser writes an Origin header ("https://travel.example.com", lower case,
    no default port), else ValueError saying what it lacks."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a URL") from None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{text.strip()!r} is not an http(s)://host origin")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text.strip()!r} has more than a scheme, host and port")
    scheme, host = parts.scheme.lower(), parts.hostname
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    shown_port = "" if port in {None, DEFAULT_PORTS[scheme]} else f":{port}"
    return f"{scheme}://{host}{shown_port}"


class Settings(BaseSettings):
    """Configuration of one Global Travel Hub process."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "test", "production"] = Field(
        default="development", validation_alias="TRAVELHUB_ENV"
    )
    """`production` refuses to start with missing or default secrets."""

    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    """Owner connection (migrations, maintenance). Unset: an embedded PostgreSQL is started."""

    app_database_url: SecretStr | None = Field(default=None, validation_alias="APP_DATABASE_URL")
    """Runtime connection as the row-level-security role. Unset: derived from `database_url`."""

    app_db_password: SecretStr | None = Field(
        default=None, validation_alias="TRAVELHUB_APP_DB_PASSWORD"
    )
    """Password of the runtime role `travelhub_app` when `APP_DATABASE_URL` is derived."""

    data_dir: Path = Field(default=Path(".travelhub"), validation_alias="TRAVELHUB_DATA_DIR")
    """Where the embedded PostgreSQL keeps its data."""

    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")
    """Hot cache tier; unset means the database tier alone serves cached searches."""

    db_pool_min_size: int = Field(default=1, ge=0, validation_alias="TRAVELHUB_DB_POOL_MIN")
    db_pool_max_size: int = Field(default=10, ge=1, validation_alias="TRAVELHUB_DB_POOL_MAX")
    remembered_threads: int = Field(
        default=1000, ge=0, validation_alias="TRAVELHUB_REMEMBERED_THREADS"
    )
    """Recently active conversations whose latest checkpoint this process keeps in memory, so
    their next turn need not load it (0: none; each holds one encoded conversation state)."""

    default_tenant_slug: str = Field(
        default="default", max_length=63, validation_alias="TRAVELHUB_DEFAULT_TENANT"
    )
    """Tenant that users created without an explicit tenant belong to."""

    signup: bool = Field(default=True, validation_alias="TRAVELHUB_SIGNUP")
    """Whether newcomers may create their own account at /signup (off: only operators make
    accounts, with `travelhub users create`)."""

    sign_in_account_limit: int = Field(
        default=10, ge=0, validation_alias="TRAVELHUB_SIGN_IN_ACCOUNT_LIMIT"
    )
    """Failed password sign-ins to one account within the window, after which every attempt
    at it is refused (429) until the oldest leaves the window (0: no limit)."""
    sign_in_address_limit: int = Field(
        default=100, ge=0, validation_alias="TRAVELHUB_SIGN_IN_ADDRESS_LIMIT"
    )
    """Failed password sign-ins from one client address within the window (offices share an
    address, so it is higher than the account's; 0: no limit)."""
    sign_in_window_seconds: int = Field(
        default=900, ge=1, le=86_400, validation_alias="TRAVELHUB_SIGN_IN_WINDOW"
    )
    """The sliding window the failures are counted in, in seconds (at most a day)."""
    trusted_proxies: str = Field(default="", validation_alias="TRAVELHUB_TRUSTED_PROXIES")
    """Comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For is
    believed; empty: none, the client address is the socket's peer."""
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias="TRAVELHUB_ALLOWED_ORIGINS"
    )
    """Web origins besides the app's own whose pages may call it and open its chat socket,
    comma-separated ("https://partner.example,https://intranet.example:8443"); empty (the
    default): pages the app serves itself only."""

    metrics: bool = Field(default=True, validation_alias="TRAVELHUB_METRICS")
    """Whether this process records Prometheus metrics and serves them at /metrics."""
    metrics_token: SecretStr | None = Field(
        default=None, validation_alias="TRAVELHUB_METRICS_TOKEN"
    )
    """Bearer token that lets a scraper on another machine read /metrics (unset: only this
    machine may read it)."""
    metrics_interval_seconds: float = Field(
        default=30.0, ge=0, le=3600, validation_alias="TRAVELHUB_METRICS_INTERVAL"
    )
    """How often the database figures and Redis's health are read for /metrics; 0: never."""

    host: str = Field(default="127.0.0.1", validation_alias="TRAVELHUB_HOST")
    port: int = Field(default=8000, ge=1, le=65535, validation_alias="TRAVELHUB_PORT")

    auth_secret: SecretStr | None = Field(default=None, validation_alias="CHAINLIT_AUTH_SECRET")
    """Signs Chainlit session tokens."""

    token_encryption_keys: SecretStr | None = Field(
        default=None, validation_alias="TRAVELHUB_TOKEN_KEYS"
    )
    """Comma-separated Fernet keys (newest first) encrypting OAuth tokens at rest."""

    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    model_name: str = Field(default="gpt-4o-mini", validation_alias="TRAVELHUB_MODEL")

    travel_provider: Literal["offline", "duffel", "amadeus"] = Field(
        default="offline", validation_alias="TRAVEL_PROVIDER"
    )
    """Where flights come from. Hotels come from Amadeus when it is chosen, else offline."""

    search_cache_ttl_seconds: int = Field(
        default=600, ge=0, le=86_400, validation_alias="TRAVELHUB_SEARCH_CACHE_TTL"
    )
    """How long the database tier keeps a search (Redis keeps it 5 minutes)."""

    duffel_access_token: SecretStr | None = Field(
        default=None, validation_alias="DUFFEL_ACCESS_TOKEN"
    )
    duffel_base_url: str = Field(
        default="https://api.duffel.com", validation_alias="DUFFEL_BASE_URL"
    )
    amadeus_client_id: SecretStr | None = Field(default=None, validation_alias="AMADEUS_CLIENT_ID")
    amadeus_client_secret: SecretStr | None = Field(
        default=None, validation_alias="AMADEUS_CLIENT_SECRET"
    )
    amadeus_base_url: str = Field(
        default="https://test.api.amadeus.com", validation_alias="AMADEUS_BASE_URL"
    )
    provider_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, validation_alias="TRAVELHUB_PROVIDER_TIMEOUT"
    )
    """Seconds one provider request attempt may take."""
    provider_budget_seconds: float = Field(
        default=20.0, gt=0, le=600, validation_alias="TRAVELHUB_PROVIDER_BUDGET"
    )
    """Seconds one provider request may take in all, its retries and waits included."""
    provider_cooldown_seconds: float = Field(
        default=30.0, ge=0, le=3600, validation_alias="TRAVELHUB_PROVIDER_COOLDOWN"
    )
    """Seconds a provider that kept failing is left alone before one trial request."""
    turn_deadline_seconds: float = Field(
        default=60.0, gt=0, le=600, validation_alias="TURN_DEADLINE_SECONDS"
    )
    """Seconds a turn may take before it is stopped and the traveller told so."""
    max_concurrent_turns: int = Field(default=20, ge=1, validation_alias="TRAVELHUB_MAX_TURNS")
    """Turns this process runs at once; more wait their turn before they start (holding
    nothing), within their deadline."""

    booking_lease_seconds: float = Field(
        default=LEASE.total_seconds(), gt=0, le=3600, validation_alias="TRAVELHUB_BOOKING_LEASE"
    )
    """Seconds one step of a booking (a vendor call) may take before the reconciler may settle
    it from the vendor's books; longer than TRAVELHUB_PROVIDER_BUDGET, and short enough that a
    traveller confirming again after a crash hears the outcome within a turn."""
    reconcile_interval_seconds: float = Field(
        default=30.0, ge=0, validation_alias="TRAVELHUB_RECONCILE_INTERVAL"
    )
    """How often `serve` settles bookings left unsettled past their lease; 0 switches it off."""

    maintenance_interval_seconds: int = Field(
        default=3600, ge=0, validation_alias="TRAVELHUB_MAINTENANCE_INTERVAL"
    )
    """How often `serve` runs `maintain`; 0 switches it off."""

    partition_retention_months: int = Field(
        default=24, ge=1, le=240, validation_alias="TRAVELHUB_PARTITION_RETENTION_MONTHS"
    )
    """Monthly partitions older than this are detached and kept as archive tables."""

    archive_grace_days: int = Field(
        default=30, ge=0, validation_alias="TRAVELHUB_ARCHIVE_GRACE_DAYS"
    )
    """Detached archive tables are dropped this long after they were detached."""

    locale: str = Field(default=DEFAULT_LOCALE, validation_alias="TRAVELHUB_LOCALE")
    """How prices are written in replies and tables: "en_GB" gives €1,234.50 and JP¥16,200,
    "de_DE" 1.234,50 €. Each currency keeps its own decimals (none for JPY, three for BHD)."""

    analytics_database_url: SecretStr | None = Field(
        default=None, validation_alias="ANALYTICS_DATABASE_URL"
    )
    """A streaming replica for analytics reads (stats, daily metrics, exports)."""

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, name: str) -> str:
        try:
            return locale_named(name)
        except UnknownLocale as unknown:
            raise SettingsError(f"TRAVELHUB_LOCALE: {unknown}") from None

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in filter(None, (item.strip() for item in value.split(","))):
            try:
                ip_network(part, strict=False)
            except ValueError:
                raise SettingsError(
                    f"TRAVELHUB_TRUSTED_PROXIES: {part!r} is not an address or network."
                ) from None
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _web_origins(cls, value: Any) -> tuple[str, ...]:
        listed = value.split(",") if isinstance(value, str) else list(value)
        try:
            return tuple(dict.fromkeys(web_origin(item) for item in listed if item.strip()))
        except ValueError as error:
            raise SettingsError(
                f"TRAVELHUB_ALLOWED_ORIGINS: {error}; write origins such as"
                " https://travel.example.com, comma-separated."
            ) from None

    @model_validator(mode="after")
    def _provider_credentials(self) -> Settings:
        needs = {
            "duffel": [("DUFFEL_ACCESS_TOKEN", self.duffel_access_token)],
            "amadeus": [
                ("AMADEUS_CLIENT_ID", self.amadeus_client_id),
                ("AMADEUS_CLIENT_SECRET", self.amadeus_client_secret),
            ],
        }.get(self.travel_provider, [])
        missing = [name for name, value in needs if value is None]
        if missing:
            raise SettingsError(
                f"TRAVEL_PROVIDER={self.travel_provider} needs {' and '.join(missing)}."
            )
        return self

    @model_validator(mode="after")
    def _provider_gives_up_before_the_turn(self) -> Settings:
        # Otherwise a failing provider is cut off by the deadline, without its own sentence.
        if self.provider_budget_seconds >= self.turn_deadline_seconds:
            raise SettingsError(
                f"TRAVELHUB_PROVIDER_BUDGET ({self.provider_budget_seconds:g} s) must be shorter"
                f" than TURN_DEADLINE_SECONDS ({self.turn_deadline_seconds:g} s)."
            )
        return self

    @model_validator(mode="after")
    def _vendor_answers_within_the_lease(self) -> Settings:
        # Otherwise the reconciler could settle a booking whose order is still on its way.
        if self.booking_lease_seconds <= self.provider_budget_seconds:
            raise SettingsError(
                f"TRAVELHUB_BOOKING_LEASE ({self.booking_lease_seconds:g} s) must be longer"
                f" than TRAVELHUB_PROVIDER_BUDGET ({self.provider_budget_seconds:g} s)."
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment != "production":
            return self
        missing = [
            name
            for name, value in (
                ("DATABASE_URL", self.database_url),
                ("CHAINLIT_AUTH_SECRET", self.auth_secret),
                ("TRAVELHUB_TOKEN_KEYS", self.token_encryption_keys),
            )
            if value is None or not value.get_secret_value().strip()
        ]
        if missing:
            raise SettingsError(
                f"Production needs these settings, which are unset: {', '.join(missing)}."
            )
        return self
