"""What a provider needs to place an order, and what it gives back."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class Passenger(BaseModel):
    """A person travelling, as named on their passport."""

    model_config = ConfigDict(frozen=True)

    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(default="", max_length=100)
    kind: Literal["adult", "child", "infant"] = "adult"
    born_on: date | None = None

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


class Contact(BaseModel):
    """Who the provider and we contact about the booking; snapshotted on the booking."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr = Field(max_length=255)
    phone: str | None = Field(default=None, max_length=32)


class PlacedOrder(BaseModel):
    """The provider's record of an order."""

    model_config = ConfigDict(frozen=True)

    order_id: str = Field(max_length=255)
    provider_reference: str | None = Field(default=None, max_length=50)
