"""The Chainlit user an account signs in as: the one shape every session token carries, with
the id of the server-side session (accounts/user_sessions.py) that keeps the token alive."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.directory import Account
from accounts.user_sessions import start_session

if TYPE_CHECKING:
    from chainlit.user import User
    from fastapi import Request, Response


def chat_user(traveller: Account, *, session_id: uuid.UUID) -> User:
    """Who Chainlit's session says is signed in: the email, the name, tenant, id and role,
    and the sign-in session the token belongs to."""
    # Imported here: chainlit reads its configuration from the working directory on import,
    # which web/app.py sets first.
    from chainlit.user import User

    return User(
        identifier=traveller.email,
        display_name=traveller.name,
        metadata={"tenant_id": str(traveller.tenant_id), "user_id": str(traveller.user_id),
                  "role": "admin" if traveller.is_admin else "user",
                  "session_id": str(session_id)},
    )  # fmt: skip


async def new_session_user(sessions: async_sessionmaker[AsyncSession], traveller: Account) -> User:
    """`chat_user` of a new sign-in session, lasting as long as Chainlit's token does."""
    from chainlit.config import config

    lifetime = timedelta(seconds=config.project.user_session_timeout)
    return chat_user(
        traveller, session_id=await start_session(sessions, traveller, lifetime=lifetime)
    )


async def sign_in(
    sessions: async_sessionmaker[AsyncSession],
    request: Request,
    response: Response,
    traveller: Account,
) -> None:
    """Sign `traveller` in on `response` as Chainlit's own login does: a new session, its
    token, its cookie."""
    from chainlit.auth import create_jwt
    from chainlit.auth.cookie import set_auth_cookie

    set_auth_cookie(request, response, create_jwt(await new_session_user(sessions, traveller)))
