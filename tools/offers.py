"""Offers as the product knows them, whatever provider they came from."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from db.models.enums import Board, Cabin
from tools.queries import FlightQuery, HotelQuery


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Segment(_Frozen):
    """One flight: a take-off and a landing. Times are local to each airport."""

    carrier_code: str = Field(max_length=3)
    carrier_name: str = Field(max_length=100)
    flight_number: str = Field(max_length=10, description="Carrier code and number, e.g. TP1351.")
    origin: str = Field(min_length=3, max_length=3)
    destination: str = Field(min_length=3, max_length=3)
    departure: datetime = Field(description="Aware, in the origin airport's time zone.")
    arrival: datetime = Field(description="Aware, in the destination airport's time zone.")
    duration_minutes: int = Field(ge=1)
    aircraft: str | None = Field(default=None, max_length=100)


class Journey(_Frozen):
    """One direction of a trip: its segments in order (more than one means stops)."""

    segments: tuple[Segment, ...] = Field(min_length=1)
    duration_minutes: int = Field(ge=1, description="From first take-off to last landing.")

    @property
    def stops(self) -> int:
        return len(self.segments) - 1

    @property
    def departure(self) -> datetime:
        return self.segments[0].departure

    @property
    def arrival(self) -> datetime:
        return self.segments[-1].arrival

    @property
    def origin(self) -> str:
        return self.segments[0].origin

    @property
    def destination(self) -> str:
        return self.segments[-1].destination


class FareConditions(_Frozen):
    refundable: bool
    change_fee: Decimal | None = Field(default=None, description="None: changes not allowed.")
    cancellation_fee: Decimal | None = Field(
        default=None, description="Kept from the refund when cancelling a refundable fare."
    )


class FlightOffer(_Frozen):
    kind: Literal["flight"] = "flight"
    id: str = Field(max_length=255)
    provider: str = Field(max_length=20)
    journeys: tuple[Journey, ...] = Field(min_length=1, description="Outbound, then return.")
    cabin: Cabin
    passengers: int = Field(ge=1, le=9)
    total_price: Decimal = Field(ge=0, description="For all passengers, taxes included.")
    currency: str = Field(min_length=3, max_length=3)
    seats_left: int | None = Field(default=None, ge=0)
    conditions: FareConditions
    expires_at: datetime
    search: FlightQuery | None = Field(
        default=None, description="The search that found it: how the offer is priced again."
    )
    provider_data: dict[str, Any] = Field(
        default_factory=dict, description="What the provider needs back to order it (opaque)."
    )

    @property
    def duration_minutes(self) -> int:
        return sum(journey.duration_minutes for journey in self.journeys)

    @property
    def stops(self) -> int:
        return max(journey.stops for journey in self.journeys)

    @property
    def carriers(self) -> str:
        names = dict.fromkeys(s.carrier_name for j in self.journeys for s in j.segments)
        return ", ".join(names)


class HotelOffer(_Frozen):
    kind: Literal["hotel"] = "hotel"
    id: str = Field(max_length=255)
    provider: str = Field(max_length=20)
    hotel_id: str = Field(max_length=100)
    name: str = Field(max_length=255)
    stars: int | None = Field(default=None, ge=1, le=5)
    address: str | None = Field(default=None, max_length=500)
    city: str = Field(max_length=100)
    latitude: float | None = None
    longitude: float | None = None
    distance_km: float | None = Field(default=None, ge=0, description="To the city centre.")
    room_type: str = Field(max_length=100)
    board: Board
    check_in: date
    check_out: date
    rooms: int = Field(ge=1, le=9)
    guests: int = Field(ge=1, le=9)
    nightly_price: Decimal = Field(ge=0)
    total_price: Decimal = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    free_cancellation_until: datetime | None = None
    expires_at: datetime
    search: HotelQuery | None = Field(
        default=None, description="The search that found it: how the offer is priced again."
    )
    provider_data: dict[str, Any] = Field(
        default_factory=dict, description="What the provider needs back to order it (opaque)."
    )

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


Offer = FlightOffer | HotelOffer
