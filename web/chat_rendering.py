"""How a turn looks in the Chainlit chat: streamed words, a step per tool call, a Book button
per offer, Confirm / Decline for the agent's questions."""

from __future__ import annotations

import json
import uuid
from typing import Any

import chainlit as cl

from agent.conversation.turns import TurnResult

SHOWN_OFFERS = 5


def tool_step_name(tool: str) -> str:
    """The step a tool call shows as, live and in a resumed thread ("search flights")."""
    return tool.replace("_", " ")


class ChatListener:
    """Streams one turn into the chat as it happens."""

    def __init__(self) -> None:
        self.reply_id = str(uuid.uuid4())
        self._reply: cl.Message | None = None
        self.offers: dict[str, Any] | None = None
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


def offer_actions(results: dict[str, Any]) -> list[cl.Action]:
    """A Book button per offer shown: it says "book option N" for the traveller."""
    kind = "hotel" if results["kind"] == "hotels" else "flight"
    return [
        cl.Action(
            name="book_option",
            payload={"say": f"book {kind} option {number}"},
            label=f"Book {kind} #{number}",
            tooltip=f"{offer['total_price']} {offer['currency']}",
        )
        for number, offer in enumerate(results["offers"][:SHOWN_OFFERS], start=1)
    ]


def confirmation_actions() -> list[cl.Action]:
    return [
        cl.Action(name="answer", payload={"say": "yes"}, label="Confirm", icon="check"),
        cl.Action(name="answer", payload={"say": "no"}, label="Decline", icon="x"),
    ]


async def show(result: TurnResult, listener: ChatListener) -> None:
    """The turn's last word: the reply (already streamed) and the buttons it calls for."""
    reply = listener.reply
    if result.awaiting_confirmation:
        reply.content = result.reply
        reply.actions = confirmation_actions()
    else:
        reply.content = result.reply
        reply.actions = offer_actions(listener.offers) if listener.offers else []
    await reply.send()
