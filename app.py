"""Chainlit handlers: thin, they hand the conversation to the agent and render its answer."""

from __future__ import annotations

import chainlit as cl

from agent.bootstrap import Services, build_services
from agent.settings import Settings

GREETING = (
    "Hello, I am your Global Travel Hub assistant. Tell me where and when you want to go, "
    "and I will look for flights and hotels."
)

_services: Services | None = None


@cl.on_app_startup
async def start_services() -> None:
    global _services
    _services = await build_services(Settings())


@cl.on_app_shutdown
async def stop_services() -> None:
    global _services
    if _services is not None:
        await _services.aclose()
        _services = None


@cl.on_chat_start
async def greet() -> None:
    await cl.Message(content=GREETING).send()
