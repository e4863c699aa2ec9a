"""Operator lookups across tenants (replay by thread id), on the owner's connection."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from db.urls import libpq_url


def thread_owner(owner_url: str, thread_id: uuid.UUID) -> dict[str, Any] | None:
    """Who a conversation belongs to: tenant, user and their details, or None.

    Runs as the schema owner because an operator replays threads of every tenant; the
    rest of the replay then runs under that user's tenant as the runtime role.
    """
    with psycopg.connect(libpq_url(owner_url), prepare_threshold=None) as connection:
        row = connection.execute(
            "SELECT s.tenant_id, s.user_id, u.email, u.full_name, u.phone, u.role"
            " FROM chat_sessions s JOIN users u ON u.id = s.user_id WHERE s.thread_id = %s",
            (thread_id,),
        ).fetchone()
    if row is None:
        return None
    keys = ("tenant_id", "user_id", "email", "full_name", "phone", "role")
    return dict(zip(keys, row, strict=True))
