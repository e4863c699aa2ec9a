"""Chainlit handlers: thin, they hand the conversation to the agent and render its answer."""

from __future__ import annotations

import uuid
from typing import Any

import chainlit as cl
from chainlit.data import get_data_layer
from chainlit.oauth_providers import get_configured_oauth_providers

from accounts.attempt_limits import SignInLimited
from accounts.directory import (
    Account,
    OAuthIdentity,
    authenticate,
    has_consented,
    record_consent,
    sign_in_with,
)
from accounts.oauth_profiles import vouched_email
from agent.bootstrap import cipher_from
from db.text import storable
from web import runtime
from web.chat_rendering import (
    LATEST_OFFERS,
    STALE_OFFER,
    ChatListener,
    is_stale,
    latest_offers_of,
    settle,
    show,
)
from web.chat_settings import settings_panel, valid_settings
from web.chat_user import new_session_user
from web.client_address import client_address
from web.data_layer import TravelDataLayer
from web.sign_in_refusal import refuse


@cl.data_layer
def data_layer() -> TravelDataLayer:
    return TravelDataLayer(runtime.services)


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
    services = runtime.services()

    async def check() -> Account | None:
        if storable(username) != username:  # a NUL or a lone surrogate: no such account
            return None
        return await authenticate(services.sessions, username, password)

    try:
        traveller = await services.sign_in_limits.attempt(username, client_address(), check)
    except SignInLimited as limited:
        refuse(limited)  # answered 429 with its sentence, where Chainlit would say 401
        return None
    return await new_session_user(services.sessions, traveller) if traveller else None


async def oauth_login(
    provider_id: str,
    token: str,
    raw_user_data: dict[str, Any],
    default_user: cl.User,
    id_token: str | None = None,
) -> cl.User | None:
    del id_token
    vouched = vouched_email(provider_id, raw_user_data)
    if vouched is None:  # no address the provider stands behind: nobody to sign in
        return None
    services = runtime.services()
    identity = OAuthIdentity(
        provider=provider_id,
        account_id=str(
            raw_user_data.get("sub") or raw_user_data.get("id") or default_user.identifier
        ),
        email=vouched[0],
        email_verified=vouched[1],
        name=raw_user_data.get("name"),
        access_token=token,
    )
    traveller = await sign_in_with(
        services.sessions, cipher_from(services.settings), identity,
        default_tenant=services.settings.default_tenant_slug,
    )  # fmt: skip
    return await new_session_user(services.sessions, traveller) if traveller else None


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


CONSENT_QUESTION = (
    "Before we start: may we process your travel data (what you search for and book, and the"
    " travellers' details) to search and book for you?"
)
DECLINED = (
    "Without your consent I cannot search or book for you; start a new chat when you change"
    " your mind."
)


@cl.on_chat_start
async def start() -> None:
    settings = valid_settings(None)
    cl.user_session.set("settings", settings)
    await settings_panel(settings).send()
    services = runtime.services()
    traveller = _traveller()
    consented = await has_consented(services.sessions, traveller)
    cl.user_session.set("consented", consented or await _ask_consent(traveller))


async def _ask_consent(traveller: Account) -> bool:
    """Ask for consent (once per account: it is stored); the question goes once answered, so
    that the starters show (Chainlit shows them while a chat has no message)."""
    session = cl.context.session
    # Answering is not the conversation's first interaction, which opens and names the thread:
    # the traveller's first message does.
    session.has_first_interaction = True
    question = cl.AskActionMessage(
        content=CONSENT_QUESTION,
        actions=[
            cl.Action(name="consent", payload={"consent": True, "marketing": False},
                      label="I agree"),
            cl.Action(name="consent", payload={"consent": True, "marketing": True},
                      label="I agree, and send me offers"),
            cl.Action(name="consent", payload={"consent": False, "marketing": False},
                      label="No, thanks"),
        ],
        timeout=3600,
    )  # fmt: skip
    try:
        answer = await question.send()
    finally:
        session.has_first_interaction = False
    await question.remove()
    if answer is None or answer["payload"].get("consent") is not True:
        await cl.Message(DECLINED).send()
        return False
    services = runtime.services()
    marketing = answer["payload"].get("marketing") is True
    await record_consent(services.sessions, traveller, marketing=marketing)
    return True


@cl.on_settings_update
async def settings_changed(settings: dict[str, object]) -> None:
    chosen = valid_settings(settings)
    cl.user_session.set("settings", chosen)
    session = cl.context.session
    session.chat_settings = chosen
    if session.has_first_interaction and (layer := get_data_layer()):
        # Kept with the thread now, not only when the browser disconnects.
        await layer.update_thread(session.thread_id, metadata={"chat_settings": chosen})


@cl.on_chat_resume
async def resume(thread: cl.types.ThreadDict) -> None:
    """The LangGraph thread has the same id: the next turn carries on from it, with the chat
    settings the thread was left with, and its latest search's cards the ones that book."""
    settings = valid_settings((thread.get("metadata") or {}).get("chat_settings"))
    cl.user_session.set("settings", settings)
    cl.user_session.set(LATEST_OFFERS, latest_offers_of(dict(thread)))
    await settings_panel(settings).send()
    services = runtime.services()
    cl.user_session.set("consented", await has_consented(services.sessions, _traveller()))


@cl.on_message
async def on_message(message: cl.Message | None) -> None:
    # An edited message keeps its id: the turn finds the message it replaces by it.
    if message is None:  # Chainlit's edit of a message its session no longer holds
        await cl.Message("I could not find that message to edit; please send it again.").send()
        return
    await respond(message.content, message.id)


@cl.action_callback("book_option")
@cl.action_callback("answer")
async def on_action(action: cl.Action) -> None:
    """A Book button (on an offer's card) or Confirm / Decline: the first choice closes the
    answer's others, then the traveller says what the button says; a Book button of an earlier
    search than the latest is refused (the agent books from the latest one only)."""
    if is_stale(action):
        await settle(action, refused=True)
        await cl.Message(STALE_OFFER).send()
        return
    await settle(action)
    said = str(action.payload["say"])
    sent = await cl.Message(content=said, author=_traveller().email, type="user_message").send()
    await respond(said, sent.id)


def _reply_ids(listener: ChatListener) -> list[str]:
    """Chainlit rates a reply by its own id or by the id of the run that made it."""
    run = cl.context.current_run
    return [listener.reply_id, *([run.id] if run else [])]


async def respond(text: str, message_id: str) -> None:
    services = runtime.services()
    if not cl.user_session.get("consented"):
        await cl.Message(DECLINED).send()
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
        ui_id=message_id,
    )
    await show(result, listener)
