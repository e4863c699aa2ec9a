"""Stored OAuth tokens encrypted again with the newest key, tenant by tenant under each
tenant's row-level security, so that an older key can then be removed."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from accounts.token_cipher import TokenCipher
from db.urls import libpq_url


@dataclass(frozen=True)
class Rotation:
    rotated: int
    """Tokens now encrypted with the newest key."""
    unreadable: int
    """Tokens no configured key opens (left as they are: their key was removed already)."""


def rotate_stored_tokens(owner_url: str, cipher: TokenCipher) -> Rotation:
    """Encrypt every stored token again with `cipher`'s newest key, one transaction per tenant."""
    rotated = unreadable = 0
    with psycopg.connect(libpq_url(owner_url), prepare_threshold=None) as db:
        tenants = [row[0] for row in db.execute("SELECT id FROM tenants ORDER BY id")]
        db.commit()
        for tenant in tenants:
            with db.transaction():
                db.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(tenant),))
                rows = db.execute(
                    # The filter too: an owner that bypasses row-level security sees every tenant.
                    "SELECT id, access_token_encrypted, refresh_token_encrypted"
                    " FROM oauth_accounts WHERE tenant_id = %s FOR UPDATE",
                    (tenant,),
                ).fetchall()
                for account, *sealed in rows:
                    fresh = [None if s is None else cipher.rotate(s) for s in sealed]
                    unreadable += sum(1 for s, f in zip(sealed, fresh, strict=True) if s and not f)
                    rotated += sum(1 for f in fresh if f)
                    db.execute(
                        "UPDATE oauth_accounts SET access_token_encrypted = coalesce(%s,"
                        " access_token_encrypted), refresh_token_encrypted = coalesce(%s,"
                        " refresh_token_encrypted) WHERE id = %s",
                        (*fresh, account),
                    )
    return Rotation(rotated, unreadable)
