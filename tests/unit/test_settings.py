"""Settings: defaults that run offline, and a production that refuses unsafe configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "TRAVELHUB_ENV", "TRAVEL_PROVIDER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir("/")  # no .env file


def test_defaults_run_offline_on_an_embedded_database() -> None:
    settings = Settings()
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.openai_api_key is None
    assert settings.travel_provider == "offline"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://owner:hunter2@db/travel")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-abc")
    shown = repr(Settings())
    assert "hunter2" not in shown
    assert "sk-live-abc" not in shown


def test_production_refuses_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever the surrounding process exports (a web app made in-process sets one).
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    monkeypatch.delenv("TRAVELHUB_TOKEN_KEYS", raising=False)
    with pytest.raises(ValidationError, match="unset: CHAINLIT_AUTH_SECRET, TRAVELHUB_TOKEN_KEYS"):
        Settings(TRAVELHUB_ENV="production", DATABASE_URL="postgresql://db/travel")


def test_production_starts_with_its_secrets() -> None:
    settings = Settings(
        TRAVELHUB_ENV="production",
        DATABASE_URL="postgresql://db/travel",
        CHAINLIT_AUTH_SECRET="x" * 32,
        TRAVELHUB_TOKEN_KEYS="k" * 44,
    )
    assert settings.environment == "production"


def test_a_booking_lease_shorter_than_a_vendor_call_is_refused() -> None:
    # The reconciler would settle bookings whose order is still on its way to the vendor.
    with pytest.raises(ValidationError, match=r"TRAVELHUB_BOOKING_LEASE \(15 s\) must be longer"):
        Settings(TRAVELHUB_BOOKING_LEASE=15, TRAVELHUB_PROVIDER_BUDGET=20)
    assert Settings().booking_lease_seconds > Settings().provider_budget_seconds


def test_allowed_origins_are_written_as_a_browser_sends_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().allowed_origins == ()  # the app's own origin only
    monkeypatch.setenv(
        "TRAVELHUB_ALLOWED_ORIGINS", " https://Partner.example:443/, http://[::1]:8080,,"
    )
    assert Settings().allowed_origins == ("https://partner.example", "http://[::1]:8080")


@pytest.mark.parametrize(
    "value", ["*", "partner.example", "ftp://partner.example", "https://partner.example/chat"]
)
def test_an_allowed_origin_that_is_not_one_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match=r"TRAVELHUB_ALLOWED_ORIGINS: .* write origins such"):
        Settings(TRAVELHUB_ALLOWED_ORIGINS=value)
