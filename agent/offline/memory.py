"""What the conversation so far tells the offline model: last searches and offers shown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

_TODAY = re.compile(r"Today is (\d{4}-\d{2}-\d{2})")
_CURRENCY = re.compile(r"Prices are in ([A-Z]{3})")
_DEFAULTS = re.compile(r"cabin (\w+), (\d) traveller")


@dataclass
class Memory:
    today: date
    currency: str = "EUR"
    cabin: str = "economy"
    """The traveller's default cabin (a chat setting)."""
    travellers: int = 1
    """How many travel by default (a chat setting)."""
    flight_search: dict[str, Any] | None = None
    hotel_search: dict[str, Any] | None = None
    last_kind: str | None = None
    """"flights" or "hotels": which results were shown last."""
    flights: list[dict[str, Any]] = field(default_factory=list)
    hotels: list[dict[str, Any]] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    """Booking references seen (booked, listed or shown), latest last."""
    pending_question: str | None = None
    """The agent's clarifying question, when its last turn asked one."""
    repriced: list[str] | None = None
    """The offers of a booking that stopped at a moved price, when the traveller's latest
    message answers "Shall I book it at the new price?"."""


def recall(messages: list[BaseMessage]) -> Memory:
    memory = Memory(today=date.today())
    for message in messages:
        if isinstance(message, SystemMessage):
            if match := _TODAY.search(str(message.content)):
                memory.today = date.fromisoformat(match.group(1))
            if match := _CURRENCY.search(str(message.content)):
                memory.currency = match.group(1)
            if match := _DEFAULTS.search(str(message.content)):
                memory.cabin, memory.travellers = match.group(1), int(match.group(2))
    answers = 0  # the traveller's messages since a booking stopped at a moved price
    for message in messages:
        if isinstance(message, HumanMessage):
            answers += 1
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call["name"] == "search_flights":
                    memory.flight_search = dict(call["args"])
                elif call["name"] == "search_hotels":
                    memory.hotel_search = dict(call["args"])
            memory.pending_question = (
                str(message.content)
                if not message.tool_calls and "?" in str(message.content)
                else None
            )
        if isinstance(message, ToolMessage) and isinstance(message.artifact, dict):
            artifact = message.artifact
            kind = artifact.get("kind")
            if kind == "flights":
                memory.flights, memory.last_kind = list(artifact.get("offers", [])), "flights"
            elif kind == "hotels":
                memory.hotels, memory.last_kind = list(artifact.get("offers", [])), "hotels"
            elif kind in ("booking", "cancellation") and artifact.get("reference"):
                memory.references.append(artifact["reference"])
            elif kind == "bookings":
                memory.references.extend(artifact.get("references", []))
            elif kind == "repriced":
                memory.repriced, answers = list(artifact.get("offer_ids", [])), 0
    if answers != 1:
        memory.repriced = None  # only the very next message answers the question
    return memory
