"""Looking people up, always inside their tenant."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import User


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The live (not soft-deleted) user with this address in the session's tenant."""
    found = await session.exec(
        select(User).where(User.email == email.strip().lower(), col(User.deleted_at).is_(None))
    )
    return found.first()
