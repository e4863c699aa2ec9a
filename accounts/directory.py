"""Accounts: found, created, signed in with a password or OAuth, inside their tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.passwords import checked_off_loop, hashed_off_loop
from accounts.token_cipher import TokenCipher
from db.analytics import event_row, record_events
from db.chat_log import EventRow
from db.ids import new_id
from db.models import User
from db.models.enums import EventType, UserRole
from db.text import storable
from db.unit_of_work import UnitOfWork, resolve_tenant
from db.users import find_user_by_email


@dataclass(frozen=True)
class Account:
    """A signed-in person: who they are and in which tenant."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    phone: str | None
    is_admin: bool


async def account_by_email(
    sessions: async_sessionmaker[AsyncSession], tenant_slug: str, email: str, *, create: bool
) -> Account:
    """The traveller with `email` in the tenant; created (consent not yet given) if asked."""
    address = email.strip().lower()
    if create:  # nothing written for what cannot be an address
        try:
            TypeAdapter(EmailStr).validate_python(address)
        except ValidationError:
            raise LookupError(f"{email!r} is not an email address.") from None
    tenant_id = await resolve_tenant(sessions, tenant_slug)
    async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
        user = await find_user_by_email(uow.session, address)
        if user is None and create:
            connection = await uow.session.connection()
            await connection.execute(
                text(
                    "INSERT INTO users (id, tenant_id, email) VALUES (:id, :tenant, :email)"
                    " ON CONFLICT (email) WHERE deleted_at IS NULL DO NOTHING"
                ),
                {"id": new_id(), "tenant": tenant_id, "email": address},
            )
            await uow.commit()
            user = await find_user_by_email(uow.session, address)
    if user is None:
        raise LookupError(f"No traveller has the email address {address!r}.")
    return Account(
        tenant_id=tenant_id,
        user_id=user.id,
        email=user.email,
        name=user.full_name or user.email.split("@")[0],
        phone=user.phone,
        is_admin=user.role is UserRole.ADMIN,
    )


async def lookup_account(
    sessions: async_sessionmaker[AsyncSession], email: str
) -> dict[str, Any] | None:
    """The live account with this email, whatever its tenant (for logging in), or None."""
    if storable(email) != email:  # NUL and the like: no address holds them
        return None
    async with sessions() as session:
        connection = await session.connection()
        row = (
            (
                await connection.execute(
                    text("SELECT * FROM auth_user_by_email(:email)"), {"email": email.strip()}
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row is not None else None


async def find_account(sessions: async_sessionmaker[AsyncSession], email: str) -> Account | None:
    """The traveller with this email, whatever their tenant, or None."""
    row = await lookup_account(sessions, email)
    return None if row is None else _traveller(row)


def _traveller(row: dict[str, Any]) -> Account:
    return Account(
        tenant_id=row["tenant_id"],
        user_id=row["id"],
        email=row["email"],
        name=row["full_name"] or row["email"].split("@")[0],
        phone=row["phone"],
        is_admin=row["role"] == UserRole.ADMIN.value,
    )


async def authenticate(
    sessions: async_sessionmaker[AsyncSession], email: str, password: str
) -> Account | None:
    """The traveller whose email and password these are; None for anything else (a wrong
    password, an unknown address, a suspended or soft-deleted account alike)."""
    row = await lookup_account(sessions, email)
    hashed = row["hashed_password"] if row is not None and row["status"] == "active" else None
    # Every attempt checks a hash, an account's or nobody's: timing tells no address apart.
    verdict = await checked_off_loop(hashed, password)
    if row is None or not verdict.matches:
        return None
    traveller = _traveller(row)
    await _logged_in(sessions, traveller, method="password", rehashed=verdict.rehashed)
    return traveller


async def _logged_in(
    sessions: async_sessionmaker[AsyncSession],
    traveller: Account,
    *,
    method: str,
    rehashed: str | None = None,
) -> None:
    """Record a sign-in; `rehashed`: the password's hash under today's Argon2 parameters."""
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        connection = await uow.session.connection()
        await connection.execute(
            text(
                "UPDATE users SET last_login_at = now(),"
                " hashed_password = coalesce(:rehashed, hashed_password) WHERE id = :id"
            ),
            {"id": traveller.user_id, "rehashed": rehashed},
        )
        login = event_row(
            EventType.USER_LOGGED_IN,
            tenant=traveller.tenant_id,
            user=traveller.user_id,
            properties={"method": method},
        )
        await record_events(connection, [login])
        await uow.commit()


@dataclass(frozen=True)
class Consent:
    """Data processing agreed to (the only way to have one); marketing as chosen."""

    marketing: bool = False


class AccountExists(ValueError):
    """The email address already belongs to a live account."""


async def create_account(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tenant_slug: str,
    email: str,
    password: str | None,
    name: str | None = None,
    admin: bool = False,
    consent: Consent | None = None,
) -> Account:
    """A new traveller (or admin) in the tenant, with the consent they gave while signing up
    (in the same transaction); refuses an address already in use."""
    address = email.strip().lower()
    taken = AccountExists(f"There is already an account for {address}.")
    if await lookup_account(sessions, address) is not None:
        raise taken
    tenant_id = await resolve_tenant(sessions, tenant_slug)
    user_id = new_id()
    hashed = await hashed_off_loop(password) if password else None
    try:
        async with UnitOfWork(sessions, tenant_id=tenant_id) as uow:
            connection = await uow.session.connection()
            await connection.execute(
                text(
                    "INSERT INTO users (id, tenant_id, email, full_name, hashed_password, role,"
                    " data_processing_consent, consent_granted_at, marketing_consent)"
                    " VALUES (:id, :tenant, :email, :name, :hashed, :role, :consent,"
                    " CASE WHEN :consent THEN now() END, :marketing)"
                ),
                {"id": user_id, "tenant": tenant_id, "email": address, "name": name,
                 "hashed": hashed, "role": (UserRole.ADMIN if admin else UserRole.USER).value,
                 "consent": consent is not None,
                 "marketing": consent is not None and consent.marketing},
            )  # fmt: skip
            events = [event_row(EventType.USER_SIGNED_UP, tenant=tenant_id, user=user_id)]
            if consent is not None:
                events.append(_consent_event(tenant_id, user_id, marketing=consent.marketing))
            await record_events(connection, events)
            await uow.commit()
    except IntegrityError as error:  # the same address, created in the meantime
        if "ux_users_email_active" in str(error.orig):
            raise taken from None
        raise
    row = await lookup_account(sessions, address)
    assert row is not None
    return _traveller(row)


async def _drop_password(sessions: async_sessionmaker[AsyncSession], traveller: Account) -> None:
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        await (await uow.session.connection()).execute(
            text("UPDATE users SET hashed_password = NULL WHERE id = :id"),
            {"id": traveller.user_id},
        )
        await uow.commit()


@dataclass(frozen=True)
class OAuthIdentity:
    provider: str
    account_id: str
    email: str
    email_verified: bool
    name: str | None
    access_token: str | None
    refresh_token: str | None = None


async def sign_in_with(
    sessions: async_sessionmaker[AsyncSession],
    cipher: TokenCipher,
    identity: OAuthIdentity,
    *,
    default_tenant: str,
) -> Account | None:
    """The traveller behind an OAuth identity: linked before, or linked now to the account
    with the same verified email, or created. None for a soft-deleted or suspended account."""
    async with sessions() as session:
        connection = await session.connection()
        owner = (
            (
                await connection.execute(
                    text("SELECT * FROM oauth_owner(:provider, :account)"),
                    {"provider": identity.provider, "account": identity.account_id},
                )
            )
            .mappings()
            .first()
        )
    if owner is not None and owner["deleted"]:
        return None
    row = await lookup_account(sessions, identity.email)
    if owner is None and row is not None and row["status"] != "active":
        return None  # a suspended account (an imported thread's traveller) opens to nobody
    if owner is None and not identity.email_verified:
        # An address the provider did not verify neither claims an account nor starts one
        # (which a verified owner of the address would later be linked into).
        return None
    if owner is None and row is None:
        traveller = await create_account(
            sessions, tenant_slug=default_tenant, email=identity.email, password=None,
            name=identity.name,
        )  # fmt: skip
    elif owner is not None:
        async with UnitOfWork(sessions, tenant_id=owner["tenant_id"]) as uow:
            user = await uow.session.get(User, owner["user_id"])
        assert user is not None
        found = await lookup_account(sessions, user.email)
        if found is None or found["status"] != "active":
            return None
        traveller = _traveller(found)
    else:
        assert row is not None
        traveller = _traveller(row)
        # The provider vouches for the address; a password set before it did (perhaps by
        # someone else, at /signup, waiting for the owner to arrive) opens the account no more.
        await _drop_password(sessions, traveller)
    await _store_tokens(sessions, cipher, traveller, identity)
    await _logged_in(sessions, traveller, method=identity.provider)
    return traveller


async def _store_tokens(
    sessions: async_sessionmaker[AsyncSession],
    cipher: TokenCipher,
    traveller: Account,
    identity: OAuthIdentity,
) -> None:
    sealed_access = cipher.encrypt(identity.access_token) if identity.access_token else None
    sealed_refresh = cipher.encrypt(identity.refresh_token) if identity.refresh_token else None
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        connection = await uow.session.connection()
        await connection.execute(
            text(
                "INSERT INTO oauth_accounts (id, tenant_id, user_id, provider, provider_account_id,"
                " provider_email, access_token_encrypted, refresh_token_encrypted)"
                " VALUES (:id, :tenant, :user, :provider, :account, :email, :access, :refresh)"
                " ON CONFLICT (provider, provider_account_id) DO UPDATE SET"
                " access_token_encrypted = EXCLUDED.access_token_encrypted,"
                " refresh_token_encrypted = coalesce(EXCLUDED.refresh_token_encrypted,"
                " oauth_accounts.refresh_token_encrypted), provider_email = EXCLUDED.provider_email"
            ),
            {"id": new_id(), "tenant": traveller.tenant_id, "user": traveller.user_id,
             "provider": identity.provider, "account": identity.account_id,
             "email": identity.email.lower(), "access": sealed_access, "refresh": sealed_refresh},
        )  # fmt: skip
        await uow.commit()


async def has_consented(sessions: async_sessionmaker[AsyncSession], traveller: Account) -> bool:
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        user = await uow.session.get(User, traveller.user_id)
    return bool(user and user.data_processing_consent)


async def record_consent(
    sessions: async_sessionmaker[AsyncSession], traveller: Account, *, marketing: bool
) -> None:
    """Data-processing consent given now (with its time); marketing as chosen."""
    async with UnitOfWork(sessions, tenant_id=traveller.tenant_id) as uow:
        connection = await uow.session.connection()
        await connection.execute(
            text(
                "UPDATE users SET data_processing_consent = true, consent_granted_at = now(),"
                " marketing_consent = :marketing WHERE id = :id"
            ),
            {"id": traveller.user_id, "marketing": marketing},
        )
        consent = _consent_event(traveller.tenant_id, traveller.user_id, marketing=marketing)
        await record_events(connection, [consent])
        await uow.commit()


def _consent_event(tenant: uuid.UUID, user: uuid.UUID, *, marketing: bool) -> EventRow:
    return event_row(
        EventType.CONSENT_CHANGED,
        tenant=tenant,
        user=user,
        properties={"data_processing": True, "marketing": marketing},
    )
