"""Search queries: what a provider is asked (and the cache keyed on), and how results are cut."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from db.models.enums import Board, Cabin
from tools.errors import InvalidSearch

MAX_TRAVELLERS = 9
MAX_FLEX_DAYS = 3
MAX_NIGHTS = 30


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _upper_code(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


Code = Annotated[str, BeforeValidator(_upper_code), Field(pattern=r"^[A-Z]{3}$")]
"""A three-letter code (IATA, ISO 4217), accepted in any case and stored upper-case."""


class FlightQuery(_Frozen):
    """One flight search as a provider receives it. Places are resolved IATA codes (airport,
    or city such as LON for every London airport); every field is explicit, so two queries
    that mean the same thing are equal and hash alike."""

    origin: Code
    destination: Code
    departure_date: date
    return_date: date | None = None
    adults: int = 1
    children: int = 0
    infants: int = 0
    cabin: Cabin = Cabin.ECONOMY
    currency: Code = "EUR"

    @model_validator(mode="after")
    def _makes_sense(self) -> Self:
        if self.origin == self.destination:
            raise InvalidSearch(f"The origin and the destination are both {self.origin}.")
        if self.return_date is not None and self.return_date < self.departure_date:
            raise InvalidSearch(
                f"The return date {self.return_date:%d %b %Y} is before the departure date"
                f" {self.departure_date:%d %b %Y}."
            )
        check_party(self.adults, self.children, self.infants)
        return self

    @property
    def passengers(self) -> int:
        return self.adults + self.children + self.infants


class FlightFilters(_Frozen):
    """How the provider's offers are cut and ordered for the traveller (not part of the key)."""

    nonstop: bool = False
    max_price: Decimal | None = Field(default=None, gt=0)
    sort: Literal["price", "duration", "departure"] = "price"
    flex_days: int = Field(default=0, ge=0, le=MAX_FLEX_DAYS)


class HotelQuery(_Frozen):
    """One hotel search as a provider receives it: a city (IATA city code) or a point."""

    city_code: Code | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    radius_km: int = Field(default=5, ge=1, le=50)
    check_in: date
    check_out: date
    guests: int = 1
    rooms: int = 1
    currency: Code = "EUR"

    @model_validator(mode="after")
    def _makes_sense(self) -> Self:
        has_point = self.latitude is not None and self.longitude is not None
        if self.city_code is None and not has_point:
            raise InvalidSearch("Tell me a city, or a latitude and longitude, to search hotels.")
        if self.check_out <= self.check_in:
            raise InvalidSearch(
                f"The check-out date {self.check_out:%d %b %Y} must be after the check-in date"
                f" {self.check_in:%d %b %Y}."
            )
        if (self.check_out - self.check_in).days > MAX_NIGHTS:
            raise InvalidSearch(f"A stay can be at most {MAX_NIGHTS} nights.")
        if not 1 <= self.guests <= MAX_TRAVELLERS:
            raise InvalidSearch(f"A hotel search is for 1 to {MAX_TRAVELLERS} guests.")
        if not 1 <= self.rooms <= self.guests:
            raise InvalidSearch("Ask for at least one room, and no more rooms than guests.")
        return self

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


class HotelFilters(_Frozen):
    min_stars: int | None = Field(default=None, ge=1, le=5)
    max_price: Decimal | None = Field(default=None, gt=0, description="Per night.")
    board: Board | None = None
    free_cancellation_only: bool = False
    sort: Literal["price", "distance", "stars"] = "price"


def check_party(adults: int, children: int, infants: int) -> None:
    """Raise InvalidSearch unless the party is 1-9 people with an adult per infant."""
    if min(adults, children, infants) < 0:
        raise InvalidSearch("The number of travellers cannot be negative.")
    total = adults + children + infants
    if total == 0:
        raise InvalidSearch("A search needs at least one traveller.")
    if total > MAX_TRAVELLERS:
        raise InvalidSearch(
            f"I can search for at most {MAX_TRAVELLERS} travellers at once, not {total}."
        )
    if adults == 0:
        raise InvalidSearch("At least one adult must travel.")
    if infants > adults:
        raise InvalidSearch(
            f"Each infant travels on an adult's lap: {infants} infants need {infants} adults."
        )
