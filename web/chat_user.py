"""The Chainlit user an account signs in as: the one shape every session token carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.directory import Account

if TYPE_CHECKING:
    from chainlit.user import User
    from fastapi import Request, Response


def chat_user(traveller: Account) -> User:
    """Who Chainlit's session says is signed in: the email, the name, tenant, id and role."""
    # Imported here: chainlit reads its configuration from the working directory on import,
    # which web/app.py sets first.
    from chainlit.user import User

    return User(
        identifier=traveller.email,
        display_name=traveller.name,
        metadata={"tenant_id": str(traveller.tenant_id), "user_id": str(traveller.user_id),
                  "role": "admin" if traveller.is_admin else "user"},
    )  # fmt: skip


def sign_in(request: Request, response: Response, traveller: Account) -> None:
    """Sign `traveller` in on `response` as Chainlit's own login does: its token, its cookie."""
    from chainlit.auth import create_jwt
    from chainlit.auth.cookie import set_auth_cookie

    set_auth_cookie(request, response, create_jwt(chat_user(traveller)))
