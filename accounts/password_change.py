"""Changing a password: the new hash stored and every other sign-in of the account ended, in
one transaction, so a stolen session does not outlive the password it was opened with."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.directory import Account, find_account
from accounts.passwords import checked_off_loop, hashed_off_loop, password_problem
from accounts.user_sessions import revoke_sessions
from db.models import User
from db.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
WRONG_CURRENT = "That is not your current password."
NO_PASSWORD = "Your account signs in through your provider: it has no password to change."
DIFFERENT = "The two new passwords differ: type the same one twice."


@dataclass(frozen=True)
class PasswordChange:
    """What the signed-in traveller typed into the change-password form."""

    current: str
    new: str
    repeated: str
    """The new password typed a second time."""


class PasswordChangeRefused(ValueError):
    """Nothing changed; `problems` holds one sentence per wrong field."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = problems


async def change_password(
    sessions: async_sessionmaker[AsyncSession],
    traveller: Account,
    form: PasswordChange,
    *,
    keep: uuid.UUID,
) -> list[uuid.UUID]:
    """The traveller's new password, their current one proved first; every session but
    `keep` (the one asking) ended. The ids ended; PasswordChangeRefused changes nothing."""
    if problem := password_problem(form.new):
        raise PasswordChangeRefused({"new": problem})
    if form.repeated != form.new:
        raise PasswordChangeRefused({"repeated": DIFFERENT})
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        user = await uow.session.get(User, traveller.user_id)
    hashed = user.hashed_password if user is not None else None
    # Checked even without a hash (same cost): the answer's timing tells nothing.
    verdict = await checked_off_loop(hashed, form.current)
    if hashed is None and user is not None:
        raise PasswordChangeRefused({"current": NO_PASSWORD})
    if not verdict.matches:
        raise PasswordChangeRefused({"current": WRONG_CURRENT})
    return await _store(sessions, traveller, await hashed_off_loop(form.new), keep=keep)


async def set_password(
    sessions: async_sessionmaker[AsyncSession], email: str, password: str
) -> tuple[Account, list[uuid.UUID]]:
    """An operator's reset: `password` becomes the account's, and every session of it ends.
    LookupError for an unknown address, ValueError for an unusable password."""
    if problem := password_problem(password):
        raise ValueError(problem)
    traveller = await find_account(sessions, email)
    if traveller is None:
        raise LookupError(f"No account has the email address {email.strip()!r}.")
    ended = await _store(sessions, traveller, await hashed_off_loop(password), keep=None)
    return traveller, ended


async def _store(
    sessions: async_sessionmaker[AsyncSession],
    traveller: Account,
    hashed: str,
    *,
    keep: uuid.UUID | None,
) -> list[uuid.UUID]:
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        connection = await uow.session.connection()
        await connection.execute(
            text("UPDATE users SET hashed_password = :hashed WHERE id = :id"),
            {"hashed": hashed, "id": traveller.user_id},
        )
        ended = await revoke_sessions(connection, user_id=traveller.user_id, keep=keep)
        await uow.commit()
    log.info("password changed for user %s; %d other sessions ended", traveller.user_id, len(ended))
    return ended
