"""The travel desk: every service the agent's tools use, handed over as one object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tools.booking import BookingService, Customer
from tools.cancellation import CancellationService
from tools.itinerary import Itineraries
from tools.orders import Contact
from tools.search import SearchService


@dataclass(frozen=True)
class TravelDesk:
    search: SearchService
    bookings: BookingService
    cancellations: CancellationService
    itineraries: Itineraries
    now: Callable[[], datetime]

    def today(self) -> date:
        return self.now().date()


@dataclass(frozen=True)
class ToolRecord:
    """What a tool answered in the original thread, replayed in a fork."""

    content: str
    artifact: Any


@dataclass(frozen=True)
class TravelContext:
    """Who the agent works for in this run; tools read it from the runtime, never the model."""

    desk: TravelDesk
    """The services."""
    customer: Customer
    """The signed-in traveller and their tenant."""
    contact: Contact
    """Their contact details, snapshotted on bookings."""
    thread_id: str
    """The conversation (LangGraph thread = chat_sessions.thread_id)."""
    currency: str = "EUR"
    """Prices are shown in this currency."""
    locale: str = "en"
    """The traveller's language and region."""
    default_cabin: str = "economy"
    """The cabin searched when the traveller names none (a chat setting)."""
    default_travellers: int = 1
    """How many travel when the traveller does not say (a chat setting)."""
    sandbox: bool = False
    """A replay fork: nothing is ever ordered or cancelled for real."""
    recorded: dict[str, ToolRecord] = field(default_factory=dict)
    """Tool answers of the original thread by call signature, replayed in a fork."""
