"""Scenario evaluation, tau-bench style: multi-turn conversations on fresh travellers, judged
on what the database holds at the end, and on what the agent said on the way."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from re import Pattern
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accounts.directory import account_by_email
from agent.bootstrap import Services, utc_now
from agent.conversation.admission import Admission
from agent.conversation.offer_lines import OfferLines
from agent.conversation.turns import Conversations
from agent.customers import customer_of
from tools.booking import BookingService
from tools.cancellation import CancellationService
from tools.desk import TravelDesk
from tools.offers import FlightOffer, HotelOffer
from tools.places import gazetteer
from tools.providers.offline_flights import OfflineFlights
from tools.providers.offline_hotels import OfflineHotels
from tools.providers.offline_orders import OfflineOrders


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    say: str
    expect: list[str] = Field(default_factory=list)
    """Phrases the reply, or the offers shown beside it as cards, must contain."""
    reject: list[str] = Field(default_factory=list)
    """Phrases neither the reply nor the offers shown beside it may contain."""
    expect_pattern: list[Pattern[str]] = Field(default_factory=list)
    """Regular expressions the reply, or the offers shown beside it, must match (e.g. a price
    written as the locale does)."""
    reject_pattern: list[Pattern[str]] = Field(default_factory=list)
    """Regular expressions neither the reply nor the offers shown beside it may match (e.g.
    yen with decimals)."""
    awaiting_confirmation: bool | None = None
    then_prices_move_by: Decimal | None = None
    """After this turn, every offer costs this much more when booked."""
    then_minutes_pass: int | None = None
    """After this turn, the clock moves on (offers expire after 30 minutes)."""


class ExpectedBooking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    items: list[str]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    """The traveller's currency chat setting (unset: EUR)."""
    turns: list[Turn] = Field(min_length=1)
    bookings: list[ExpectedBooking] = Field(default_factory=list)
    """The traveller's bookings at the end (in any order)."""


@dataclass
class Verdict:
    scenario: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


class _Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utc_now() + self.offset


class _Desk(OfflineOrders):
    """The offline order desk whose prices can move, as a scenario asks."""

    def __init__(self) -> None:
        places = gazetteer()
        super().__init__(OfflineFlights(places, now=utc_now), OfflineHotels(places, now=utc_now))
        self.drift = Decimal("0")

    async def reprice_flight(self, offer: FlightOffer) -> FlightOffer | None:
        current = await super().reprice_flight(offer)
        return current and current.model_copy(
            update={"total_price": current.total_price + self.drift}
        )

    async def reprice_hotel(self, offer: HotelOffer) -> HotelOffer | None:
        current = await super().reprice_hotel(offer)
        return current and current.model_copy(
            update={"total_price": current.total_price + self.drift}
        )


class ScenarioError(ValueError):
    """A scenario file that cannot be read; the message names it and says why."""


def load(folder: Path) -> list[tuple[Path, Scenario]]:
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise ScenarioError(f"There are no scenario files (*.yaml) in {folder}.")
    scenarios = []
    for path in files:
        try:
            scenarios.append((path, Scenario.model_validate(yaml.safe_load(path.read_text()))))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ScenarioError(f"{path.name} is not valid YAML{where}.") from None
        except ValidationError as error:
            first = error.errors()[0]
            field_name = ".".join(str(part) for part in first["loc"]) or "the file"
            raise ScenarioError(f"{path.name}: {field_name}: {first['msg']}.") from None
    return scenarios


async def run_scenario(services: Services, scenario: Scenario) -> Verdict:
    """One scenario for a brand-new traveller, on the real agent and database."""
    verdict = Verdict(scenario.name)
    clock, desk = _Clock(), _Desk()
    orders = {"flight_orders": {desk.name: desk}, "hotel_orders": {desk.name: desk}}
    conversations = Conversations(
        graph=services.conversations.graph,
        store=services.conversations.store,
        admission=Admission(),
        desk=TravelDesk(
            search=services.search,
            bookings=BookingService(sessions=services.sessions, now=clock, **orders),  # type: ignore[arg-type]
            cancellations=CancellationService(sessions=services.sessions, now=clock, **orders),  # type: ignore[arg-type]
            itineraries=services.itineraries,
            now=clock,
        ),
        model_name=services.conversations.model_name,
    )
    email = f"eval-{uuid.uuid4().hex[:12]}@example.com"
    traveller = await account_by_email(
        services.sessions, services.settings.default_tenant_slug, email, create=True
    )
    thread: str | None = None
    for number, turn in enumerate(scenario.turns, start=1):
        shown = OfferLines()
        result = await conversations.turn(
            traveller, turn.say, thread_id=thread, listener=shown, currency=scenario.currency
        )
        thread = result.thread_id
        where = f"turn {number} ({turn.say!r})"
        seen = f"{result.reply}\n{shown.lines}".lower()
        for phrase in turn.expect:
            if phrase.lower() not in seen:
                verdict.failures.append(f"{where}: reply lacks {phrase!r}: {result.reply[:300]!r}")
        for phrase in turn.reject:
            if phrase.lower() in seen:
                verdict.failures.append(f"{where}: reply says {phrase!r}")
        for pattern in turn.expect_pattern:
            if not pattern.search(f"{result.reply}\n{shown.lines}"):
                verdict.failures.append(
                    f"{where}: reply does not match {pattern.pattern!r}: {result.reply[:300]!r}"
                )
        for pattern in turn.reject_pattern:
            if found := pattern.search(f"{result.reply}\n{shown.lines}"):
                verdict.failures.append(f"{where}: reply says {found.group(0)!r}")
        wanted = turn.awaiting_confirmation
        if wanted is not None and result.awaiting_confirmation != wanted:
            verdict.failures.append(
                f"{where}: awaiting confirmation is {result.awaiting_confirmation}"
            )
        if turn.then_prices_move_by is not None:
            desk.drift = turn.then_prices_move_by
        if turn.then_minutes_pass is not None:
            clock.offset += timedelta(minutes=turn.then_minutes_pass)
    held = await services.itineraries.list(customer_of(traveller))
    got = Counter((b.status.value, tuple(sorted(item.kind for item in b.items))) for b in held)
    expected = Counter((b.status, tuple(sorted(b.items))) for b in scenario.bookings)
    if got != expected:
        verdict.failures.append(
            f"bookings at the end: {sorted(got.elements())} != {sorted(expected.elements())}"
        )
    return verdict


async def evaluate(services: Services, folder: Path) -> list[tuple[Path, Verdict]]:
    return [(path, await run_scenario(services, scenario)) for path, scenario in load(folder)]


def scenario_schema() -> dict[str, Any]:
    return Scenario.model_json_schema()
