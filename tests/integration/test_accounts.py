"""Logging in: passwords, OAuth identities linked by verified email, soft-deleted refused."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet

from accounts.directory import OAuthIdentity, authenticate, create_account, sign_in_with
from accounts.token_cipher import TokenCipher
from agent.bootstrap import Services

pytestmark = pytest.mark.integration
CIPHER = TokenCipher([Fernet.generate_key().decode()])


def identity(provider: str, account: str, email: str, *, verified: bool = True) -> OAuthIdentity:
    return OAuthIdentity(provider, account, email, verified, "Dana", f"token-{provider}-{account}")


async def test_password_login(services: Services, owner: Any) -> None:
    made = await create_account(
        services.sessions, tenant_slug="default", email="Dana@Example.com", password="s3cret-pass"
    )
    assert made.email == "dana@example.com"
    stored = owner.execute("SELECT hashed_password FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert "s3cret-pass" not in stored
    assert (await authenticate(services.sessions, "dana@example.com", "s3cret-pass")) == made
    assert await authenticate(services.sessions, "dana@example.com", "wrong-pass") is None
    assert await authenticate(services.sessions, "nobody@example.com", "s3cret-pass") is None
    with pytest.raises(ValueError, match=r"already an account for dana@example\.com"):
        await create_account(
            services.sessions,
            tenant_slug="default",
            email="dana@example.com",
            password="another-pass",
        )
    owner.execute("UPDATE users SET deleted_at = now()")
    assert await authenticate(services.sessions, "dana@example.com", "s3cret-pass") is None


async def test_oauth_creates_then_links_by_verified_email(services: Services, owner: Any) -> None:
    first = await sign_in_with(
        services.sessions,
        CIPHER,
        identity("github", "42", "dana@example.com"),
        default_tenant="default",
    )
    assert first is not None
    again = await sign_in_with(
        services.sessions,
        CIPHER,
        identity("github", "42", "dana@example.com"),
        default_tenant="default",
    )
    linked = await sign_in_with(
        services.sessions,
        CIPHER,
        identity("google", "g-7", "DANA@example.com"),
        default_tenant="default",
    )
    assert again == first
    assert linked is not None
    assert linked.user_id == first.user_id
    rows = owner.execute(
        "SELECT provider, access_token_encrypted FROM oauth_accounts ORDER BY provider"
    ).fetchall()
    assert [row[0] for row in rows] == ["github", "google"]
    assert all(row[1] != f"token-{row[0]}" for row in rows)
    assert CIPHER.decrypt(rows[0][1]) == "token-github-42"
    assert owner.execute("SELECT count(*) FROM users").fetchone() == (1,)


async def test_a_sign_in_upgrades_a_hash_made_with_older_parameters(
    services: Services, owner: Any
) -> None:
    await create_account(
        services.sessions, tenant_slug="default", email="gus@example.com", password="gus-password"
    )
    older = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("gus-password")
    owner.execute("UPDATE users SET hashed_password = %s", (older,))
    assert await authenticate(services.sessions, "gus@example.com", "wrong-password") is None
    assert owner.execute("SELECT hashed_password FROM users").fetchone() == (older,)
    assert await authenticate(services.sessions, "gus@example.com", "gus-password") is not None
    (upgraded,) = owner.execute("SELECT hashed_password FROM users").fetchone()
    assert upgraded != older
    assert not PasswordHasher().check_needs_rehash(upgraded)
    assert await authenticate(services.sessions, "gus@example.com", "gus-password") is not None


async def test_an_unverified_email_cannot_claim_an_account(services: Services) -> None:
    await create_account(
        services.sessions, tenant_slug="default", email="eve@example.com", password="eves-password"
    )
    claimed = await sign_in_with(
        services.sessions,
        CIPHER,
        identity("generic", "x", "eve@example.com", verified=False),
        default_tenant="default",
    )
    assert claimed is None


async def test_a_password_set_before_the_owner_arrived_opens_the_account_no_more(
    services: Services,
) -> None:
    """Someone signs up with another's address and a password of theirs; when the address's
    owner signs in with a provider that vouches for it, that password stops working."""
    squatted = await create_account(
        services.sessions, tenant_slug="default", email="fay@example.com", password="not-fays-pw"
    )
    owner_in = await sign_in_with(
        services.sessions, CIPHER, identity("google", "g-fay", "fay@example.com"),
        default_tenant="default",
    )  # fmt: skip
    assert owner_in is not None
    assert owner_in.user_id == squatted.user_id
    assert await authenticate(services.sessions, "fay@example.com", "not-fays-pw") is None


async def test_an_unverified_email_starts_no_account(services: Services, owner: Any) -> None:
    """Else a verified owner of the address would later be linked into the squatter's account."""
    started = await sign_in_with(
        services.sessions, CIPHER, identity("generic", "sq", "hal@example.com", verified=False),
        default_tenant="default",
    )  # fmt: skip
    assert started is None
    assert owner.execute("SELECT count(*) FROM users").fetchone() == (0,)


async def test_a_soft_deleted_user_cannot_sign_in(services: Services, owner: Any) -> None:
    await sign_in_with(
        services.sessions,
        CIPHER,
        identity("github", "9", "finn@example.com"),
        default_tenant="default",
    )
    owner.execute("UPDATE users SET deleted_at = now()")
    refused = await sign_in_with(
        services.sessions,
        CIPHER,
        identity("github", "9", "finn@example.com"),
        default_tenant="default",
    )
    assert refused is None
