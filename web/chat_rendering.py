"""How a turn looks in the Chainlit chat: streamed words, a step per tool call, a card per
offer (with its Book button), an itinerary card after a booking, Confirm / Decline for the
agent's questions; and, once a choice is made in an answer, its other buttons gone."""

from __future__ import annotations

import json
import uuid
from typing import Any

import chainlit as cl
from chainlit.data import get_data_layer

from agent.conversation.turns import TurnResult
from db.ids import new_id
from tools.itinerary import BookingSummary
from web.offer_cards import OFFER_CARDS, chosen, itinerary_card, offer_cards

ANSWERS = "answers_with_choices"
"""The session's answers that still offer a choice: their buttons and cards, by reply id."""
LATEST_OFFERS = "latest_offers"
"""The reply whose offers "book option N" means: the agent remembers the latest search only."""
STALE_OFFER = "That offer is from an earlier search; book from the latest results, or search again."


def tool_step_name(tool: str) -> str:
    """The step a tool call shows as, live and in a resumed thread ("search flights")."""
    return tool.replace("_", " ")


class ChatListener:
    """Streams one turn into the chat as it happens."""

    def __init__(self) -> None:
        self.reply_id = str(uuid.uuid4())
        self._reply: cl.Message | None = None
        self.offers: dict[str, Any] | None = None
        self.booking: BookingSummary | None = None
        self._steps: list[cl.Step] = []

    @property
    def reply(self) -> cl.Message:
        """The reply, made when first needed so that it comes after the tool steps."""
        if self._reply is None:
            self._reply = cl.Message(content="", id=self.reply_id)
        return self._reply

    async def token(self, text: str) -> None:
        await self.reply.stream_token(text)

    async def tool_started(self, name: str, arguments: dict[str, Any]) -> None:
        step = cl.Step(name=tool_step_name(name), type="tool", show_input="json")
        step.input = json.dumps(arguments, indent=1, default=str)
        await step.send()
        self._steps.append(step)

    async def tool_finished(self, name: str, content: str, artifact: Any) -> None:
        del name  # steps finish in the order they started
        if self._steps:
            step = self._steps.pop(0)
            step.output = content
            await step.update()
        if isinstance(artifact, dict) and artifact.get("kind") in ("flights", "hotels"):
            self.offers = artifact if artifact.get("offers") else None
        if isinstance(artifact, dict) and artifact.get("itinerary"):
            self.booking = BookingSummary.model_validate(artifact["itinerary"])


def calendar_url(reference: str) -> str:
    """Where the booking's calendar file is downloaded (web/app.py, signed in)."""
    return f"/api/bookings/{reference}/calendar.ics"


def cards(listener: ChatListener) -> list[cl.CustomElement]:
    """A card per offer found (their Book buttons act as the book_option action) and the
    itinerary of a booking made or shown."""
    offers = offer_cards(listener.offers, listener.reply_id) if listener.offers else []
    # Time-ordered ids: a resumed thread shows the cards in the order they were made.
    found = [
        cl.CustomElement(id=str(new_id()), name=name, props=props, display="inline")
        for name, props in offers
    ]
    if listener.booking is not None:
        props = itinerary_card(listener.booking, calendar_url(listener.booking.reference))
        found.append(
            cl.CustomElement(id=str(new_id()), name="Itinerary", props=props, display="inline")
        )
    return found


def confirmation_actions() -> list[cl.Action]:
    return [
        cl.Action(name="answer", payload={"say": "yes"}, label="Confirm", icon="check"),
        cl.Action(name="answer", payload={"say": "no"}, label="Decline", icon="x"),
    ]


async def show(result: TurnResult, listener: ChatListener) -> None:
    """The turn's last word: the reply (already streamed) and the cards and buttons it calls
    for, remembered so that the first choice made in it closes the others."""
    reply = listener.reply
    reply.content = result.reply
    reply.actions = confirmation_actions() if result.awaiting_confirmation else []
    await reply.send()
    shown = cards(listener)
    for card in shown:  # one after the other: the cards keep the offers' order
        await card.send(for_id=reply.id)
    offers = [card for card in shown if card.name in OFFER_CARDS]
    answers: dict[str, tuple[list[cl.Action], list[Any]]] = cl.user_session.get(ANSWERS) or {}
    if offers:  # a new search: the cards of earlier ones no longer book what they show
        for _buttons, older in answers.values():
            for card in older:
                card.props = chosen(card.props, 0)
                await card.update()
        answers = {answer: (buttons, []) for answer, (buttons, _) in answers.items() if buttons}
        cl.user_session.set(LATEST_OFFERS, reply.id)
    if reply.actions or offers:
        answers[reply.id] = (reply.actions, offers)
    cl.user_session.set(ANSWERS, answers)


def latest_offers_of(thread: dict[str, Any]) -> str | None:
    """The reply of a stored thread whose offer cards came last (a resumed thread's latest
    search), or None."""
    replies = [e.get("forId") for e in thread.get("elements") or [] if e.get("name") in OFFER_CARDS]
    return replies[-1] if replies else None


def is_stale(action: cl.Action) -> bool:
    """A Book button on the cards of an earlier search than the latest one."""
    latest = cl.user_session.get(LATEST_OFFERS)
    answer = action.forId or str(action.payload.get("answer") or "")
    return action.name == "book_option" and latest is not None and answer != latest


async def _stored_cards(answer_id: str) -> list[cl.CustomElement]:
    """The cards of an answer from before this session (a resumed thread), as stored."""
    data_layer = get_data_layer()
    thread = await data_layer.get_thread(cl.context.session.thread_id) if data_layer else None
    return [
        cl.CustomElement(id=e["id"], name=e["name"], props=e.get("props") or {},
                         display=e.get("display") or "inline", for_id=answer_id)
        for e in (thread or {}).get("elements") or []
        if e.get("forId") == answer_id and e.get("name") in OFFER_CARDS
    ]  # fmt: skip


async def settle(action: cl.Action, *, refused: bool = False) -> None:
    """A choice was made in an answer: its buttons go, its offer cards show which was picked
    (none when the choice is `refused`), and are kept so for when the thread is resumed."""
    answer_id = action.forId or str(action.payload.get("answer") or "")
    answers: dict[str, tuple[list[cl.Action], list[Any]]] = cl.user_session.get(ANSWERS) or {}
    actions, offers = answers.pop(answer_id, ([], None))
    cl.user_session.set(ANSWERS, answers)
    for button in actions:
        await button.remove()
    if offers is None and "number" in action.payload:
        offers = await _stored_cards(answer_id)
    for card in offers or []:
        picked = 0 if refused else int(action.payload.get("number") or 0)
        card.props = chosen(card.props, picked)
        await card.update()
