"""Chainlit handlers: thin, they hand the conversation to the agent and render its answer."""

from __future__ import annotations

import uuid

import chainlit as cl
from chainlit.input_widget import Select, Slider
from chainlit.oauth_providers import get_configured_oauth_providers

from accounts.directory import (
    Account,
    OAuthIdentity,
    authenticate,
    has_consented,
    record_consent,
    sign_in_with,
)
from agent.bootstrap import cipher_from
from db.text import storable
from web import runtime
from web.chat_rendering import ChatListener, settle, show
from web.data_layer import TravelDataLayer

CURRENCIES = ["EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD"]


@cl.data_layer
def data_layer() -> TravelDataLayer:
    return TravelDataLayer(runtime.services)


def _user(traveller: Account) -> cl.User:
    return cl.User(
        identifier=traveller.email,
        display_name=traveller.name,
        metadata={"tenant_id": str(traveller.tenant_id), "user_id": str(traveller.user_id),
                  "role": "admin" if traveller.is_admin else "user"},
    )  # fmt: skip


def _traveller() -> Account:
    user = cl.user_session.get("user")
    return Account(
        tenant_id=uuid.UUID(user.metadata["tenant_id"]),
        user_id=uuid.UUID(user.metadata["user_id"]),
        email=user.identifier,
        name=user.display_name or user.identifier,
        phone=None,
        is_admin=user.metadata.get("role") == "admin",
    )


@cl.password_auth_callback
async def password_login(username: str, password: str) -> cl.User | None:
    if storable(username) != username:  # a NUL or a lone surrogate: no such account, and no query
        return None
    traveller = await authenticate(runtime.services().sessions, username, password)
    return _user(traveller) if traveller else None


async def oauth_login(
    provider_id: str,
    token: str,
    raw_user_data: dict[str, str],
    default_user: cl.User,
    id_token: str | None = None,
) -> cl.User | None:
    del id_token
    services = runtime.services()
    identity = OAuthIdentity(
        provider=provider_id,
        account_id=str(
            raw_user_data.get("sub") or raw_user_data.get("id") or default_user.identifier
        ),
        email=str(raw_user_data.get("email") or default_user.identifier),
        email_verified=bool(raw_user_data.get("email_verified", provider_id == "github")),
        name=raw_user_data.get("name"),
        access_token=token,
    )
    traveller = await sign_in_with(
        services.sessions, cipher_from(services.settings), identity,
        default_tenant=services.settings.default_tenant_slug,
    )  # fmt: skip
    return _user(traveller) if traveller else None


# OAuth sign-in exists when an OAUTH_* provider is configured (GitHub, Google, generic OIDC).
if get_configured_oauth_providers():
    cl.oauth_callback(oauth_login)


@cl.set_starters
async def starters(user: cl.User | None = None) -> list[cl.Starter]:
    del user
    return [
        cl.Starter(label="Flights London to New York next Friday",
                   message="Flights from London to New York next Friday"),
        cl.Starter(label="A hotel in Paris for 3 nights",
                   message="A hotel in Paris for 3 nights in two weeks"),
        cl.Starter(label="My bookings", message="Show my bookings"),
    ]  # fmt: skip


@cl.on_chat_start
async def start() -> None:
    await cl.ChatSettings(
        [
            Select(id="currency", label="Currency", values=CURRENCIES, initial_value="EUR"),
            Select(id="cabin", label="Default cabin", initial_value="economy",
                   values=["economy", "premium_economy", "business", "first"]),
            Slider(id="travellers", label="Travellers", initial=1, min=1, max=9, step=1),
        ]
    ).send()  # fmt: skip
    services = runtime.services()
    traveller = _traveller()
    if await has_consented(services.sessions, traveller):
        cl.user_session.set("consented", True)
    else:
        answer = await cl.AskActionMessage(
            content="Before we start: may we process your travel data to search and book for you?",
            actions=[
                cl.Action(name="consent", payload={"marketing": False}, label="I agree"),
                cl.Action(name="consent", payload={"marketing": True},
                          label="I agree, and send me offers"),
            ],
            timeout=600,
        ).send()  # fmt: skip
        if answer is None:
            await cl.Message("Without your consent I cannot plan trips for you.").send()
            return
        await record_consent(
            services.sessions, traveller, marketing=bool(answer["payload"]["marketing"])
        )
        cl.user_session.set("consented", True)


@cl.on_settings_update
async def settings_changed(settings: dict[str, object]) -> None:
    cl.user_session.set("settings", settings)


@cl.on_chat_resume
async def resume(thread: cl.types.ThreadDict) -> None:
    del thread  # the LangGraph thread has the same id: the next turn carries on from it
    services = runtime.services()
    cl.user_session.set("consented", await has_consented(services.sessions, _traveller()))


@cl.on_message
async def on_message(message: cl.Message) -> None:
    await respond(message.content)


@cl.action_callback("book_option")
@cl.action_callback("answer")
async def on_action(action: cl.Action) -> None:
    """A Book button (on an offer's card) or Confirm / Decline: the first choice closes the
    answer's others, then the traveller says what the button says."""
    await settle(action)
    said = str(action.payload["say"])
    await cl.Message(content=said, author=_traveller().email, type="user_message").send()
    await respond(said)


def _reply_ids(listener: ChatListener) -> list[str]:
    """Chainlit rates a reply by its own id or by the id of the run that made it."""
    run = cl.context.current_run
    return [listener.reply_id, *([run.id] if run else [])]


async def respond(text: str) -> None:
    services = runtime.services()
    if not cl.user_session.get("consented"):
        await cl.Message("Please accept the data-processing terms first (start a new chat).").send()
        return
    settings = cl.user_session.get("settings") or {}
    listener = ChatListener()
    result = await services.conversations.turn(
        _traveller(),
        storable(text),  # what PostgreSQL cannot hold (NUL, lone surrogates) must not end a turn
        thread_id=cl.context.session.thread_id,
        listener=listener,
        reply_ui_ids=_reply_ids(listener),
        currency=str(settings.get("currency") or "EUR"),
        preferences=settings,
    )
    await show(result, listener)
