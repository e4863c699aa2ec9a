"""Tenants, managed by operators on the owner's connection."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg.rows import dict_row

from db.ids import new_id
from db.urls import libpq_url

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class TenantError(ValueError):
    """A tenant request that cannot be done; the message says why."""


def create_tenant(owner_url: str, slug: str, name: str) -> dict[str, Any]:
    if not SLUG.fullmatch(slug):
        raise TenantError(
            f"{slug!r} is not a tenant slug: lower-case letters, digits and dashes, 1-63 long."
        )
    with psycopg.connect(libpq_url(owner_url), row_factory=dict_row, prepare_threshold=None) as db:
        row = db.execute(
            "INSERT INTO tenants (id, slug, name) VALUES (%s, %s, %s)"
            " ON CONFLICT (slug) DO NOTHING RETURNING id, slug, name, status, created_at",
            (new_id(), slug, name),
        ).fetchone()
        db.commit()
    if row is None:
        raise TenantError(f"There is already a tenant called {slug!r}.")
    return row


def list_tenants(owner_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(libpq_url(owner_url), row_factory=dict_row, prepare_threshold=None) as db:
        return db.execute(
            "SELECT t.id, t.slug, t.name, t.status, t.created_at,"
            " (SELECT count(*) FROM users u WHERE u.tenant_id = t.id AND u.deleted_at IS NULL)"
            " AS users FROM tenants t ORDER BY t.created_at"
        ).fetchall()


def set_tenant_status(owner_url: str, slug: str, status: str) -> None:
    with psycopg.connect(libpq_url(owner_url), prepare_threshold=None) as db:
        changed = db.execute(
            "UPDATE tenants SET status = %s WHERE slug = %s", (status, slug)
        ).rowcount
        db.commit()
    if not changed:
        raise TenantError(f"There is no tenant called {slug!r}.")
