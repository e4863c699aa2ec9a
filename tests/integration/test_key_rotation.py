"""`travelhub keys rotate`: every stored OAuth token, in every tenant, encrypted again with the
newest key, after which the older key can go; a token no key opens is reported, not lost."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from accounts.directory import OAuthIdentity, sign_in_with
from accounts.token_cipher import TokenCipher
from db.tenants import create_tenant
from tests.integration.agent_world import stack
from tests.integration.test_cli import environment, run

pytestmark = pytest.mark.integration
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def identity(provider: str, email: str) -> OAuthIdentity:
    return OAuthIdentity(
        provider, f"{provider}-{email}", email, True, None, f"access-{email}", f"refresh-{email}"
    )


async def test_rotation_reseals_every_tenants_tokens_so_the_old_key_can_go(
    database: str, runtime_database: str, owner: Any
) -> None:
    create_tenant(database, "acme", "Acme Travel")
    async with stack(database, runtime_database) as services:
        for email, tenant in (("ann@example.com", "default"), ("ben@acme.example", "acme")):
            made = await sign_in_with(
                services.sessions, TokenCipher([OLD]), identity("google", email),
                default_tenant=tenant,
            )  # fmt: skip
            assert made is not None

    rotated = run("keys", "rotate", env=environment(DATABASE_URL=database,
                  TRAVELHUB_TOKEN_KEYS=f"{NEW},{OLD}"))  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == "Re-encrypted 4 tokens with the newest key."

    newest_only = TokenCipher([NEW])
    rows = owner.execute(
        "SELECT provider_email, access_token_encrypted, refresh_token_encrypted"
        " FROM oauth_accounts ORDER BY provider_email"
    ).fetchall()
    assert [(email, newest_only.decrypt(a), newest_only.decrypt(r)) for email, a, r in rows] == [
        ("ann@example.com", "access-ann@example.com", "refresh-ann@example.com"),
        ("ben@acme.example", "access-ben@acme.example", "refresh-ben@acme.example"),
    ]

    lost = run("keys", "rotate", env=environment(DATABASE_URL=database,
               TRAVELHUB_TOKEN_KEYS=Fernet.generate_key().decode()))  # fmt: skip
    assert lost.returncode != 0
    assert "4 tokens are opened by none of the configured keys" in lost.stderr
    assert "Traceback" not in lost.stderr
    still = owner.execute("SELECT access_token_encrypted FROM oauth_accounts").fetchall()
    assert all(newest_only.decrypt(sealed) for (sealed,) in still)  # nothing was overwritten
