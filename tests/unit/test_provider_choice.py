"""TRAVEL_PROVIDER picks the inventory; real providers need their credentials."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from agent.bootstrap import build_providers
from agent.settings import Settings
from tools.providers.amadeus import AmadeusProvider
from tools.providers.duffel import DuffelProvider
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "TRAVEL_PROVIDER",
        "DUFFEL_ACCESS_TOKEN",
        "AMADEUS_CLIENT_ID",
        "AMADEUS_CLIENT_SECRET",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir("/")


async def test_offline_by_default() -> None:
    async with httpx.AsyncClient() as http:
        inventory = build_providers(Settings(), http=http)
    assert isinstance(inventory.flights, OfflineFlights)
    assert isinstance(inventory.hotels, OfflineHotels)
    assert set(inventory.flight_orders) == set(inventory.hotel_orders) == {"offline"}


async def test_duffel_for_flights_offline_hotels() -> None:
    settings = Settings(TRAVEL_PROVIDER="duffel", DUFFEL_ACCESS_TOKEN="duffel_test_abc")
    async with httpx.AsyncClient() as http:
        inventory = build_providers(settings, http=http)
    assert isinstance(inventory.flights, DuffelProvider)
    assert isinstance(inventory.hotels, OfflineHotels)
    assert inventory.flight_orders["duffel"] is inventory.flights


async def test_amadeus_serves_both_with_one_token() -> None:
    settings = Settings(
        TRAVEL_PROVIDER="amadeus", AMADEUS_CLIENT_ID="id", AMADEUS_CLIENT_SECRET="secret"
    )
    async with httpx.AsyncClient() as http:
        inventory = build_providers(settings, http=http)
    assert isinstance(inventory.flights, AmadeusProvider)
    assert inventory.flights is inventory.hotels
    assert "amadeus" in inventory.flight_orders
    assert "amadeus" not in inventory.hotel_orders  # refused before any flight is ordered


@pytest.mark.parametrize(
    ("provider", "sentence"),
    [
        ("duffel", "TRAVEL_PROVIDER=duffel needs DUFFEL_ACCESS_TOKEN."),
        ("amadeus", "TRAVEL_PROVIDER=amadeus needs AMADEUS_CLIENT_ID and AMADEUS_CLIENT_SECRET."),
    ],
)
def test_missing_credentials_are_one_sentence(provider: str, sentence: str) -> None:
    with pytest.raises(ValidationError, match=sentence):
        Settings(TRAVEL_PROVIDER=provider)
