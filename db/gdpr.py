"""The person's rights (design sections 2.6, 5.4, 5.5): everything we hold on them, as JSON;
and forgetting them everywhere, keeping only what accounting must keep, anonymised."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from db.ids import new_id
from db.urls import libpq_url

FREE_TEXT_PROPERTIES = ("comment", "query")
"""Analytics properties that may hold what a person typed: removed when they are forgotten."""


class PersonNotFound(LookupError):
    """No user has that email address or id."""


def _find(db: psycopg.Connection[dict[str, Any]], who: str) -> dict[str, Any]:
    try:
        by_id: uuid.UUID | None = uuid.UUID(who)
    except ValueError:
        by_id = None
    row = db.execute(
        "SELECT * FROM users WHERE id = %s OR email = lower(%s)"
        " ORDER BY deleted_at NULLS FIRST LIMIT 1",
        (by_id, who.strip()),
    ).fetchone()
    if row is None:
        raise PersonNotFound(f"No user has the email address or id {who!r}.")
    return row


def export_person(url: str, who: str) -> dict[str, Any]:
    """The design's export (5.4) extended: sessions with their messages, bookings with their
    items, analytics events, consents, linked OAuth providers (never their tokens)."""
    with psycopg.connect(libpq_url(url), row_factory=dict_row, prepare_threshold=None) as db:
        user = _find(db, who)
        person = user["id"]
        document = db.execute(
            "SELECT to_jsonb(u.*) - 'hashed_password' AS user FROM users u WHERE u.id = %s",
            (person,),
        ).fetchone()
        assert document is not None
        export: dict[str, Any] = {"user": document["user"]}
        export["consents"] = {
            key: user[key]
            for key in ("data_processing_consent", "consent_granted_at", "marketing_consent")
        }
        export["oauth_accounts"] = db.execute(
            "SELECT id, provider, provider_account_id, provider_email, created_at"
            " FROM oauth_accounts WHERE user_id = %s ORDER BY created_at",
            (person,),
        ).fetchall()
        export["chat_sessions"] = db.execute(
            "SELECT s.id, s.thread_id, s.title, s.status, s.created_at, s.deleted_at,"
            " coalesce(jsonb_agg(jsonb_build_object('created_at', m.created_at, 'role', m.role,"
            " 'content', m.content, 'tool_name', m.tool_name) ORDER BY m.created_at, m.id)"
            " FILTER (WHERE m.id IS NOT NULL), '[]') AS messages"
            " FROM chat_sessions s LEFT JOIN chat_messages m ON m.session_id = s.id"
            " WHERE s.user_id = %s GROUP BY s.id ORDER BY s.created_at",
            (person,),
        ).fetchall()
        export["bookings"] = db.execute(
            "SELECT b.booking_reference, b.status, b.total_amount, b.currency, b.contact_name,"
            " b.contact_email, b.contact_phone, b.travellers, b.created_at, b.cancelled_at,"
            " b.refund_amount, coalesce(jsonb_agg(jsonb_build_object('type', i.item_type,"
            " 'amount', i.amount, 'flight', to_jsonb(f.*) - 'tenant_id',"
            " 'hotel', to_jsonb(h.*) - 'tenant_id') ORDER BY i.position)"
            " FILTER (WHERE i.id IS NOT NULL), '[]') AS items"
            " FROM bookings b LEFT JOIN booking_items i ON i.booking_id = b.id"
            " LEFT JOIN flight_bookings f ON f.id = i.flight_booking_id"
            " LEFT JOIN hotel_bookings h ON h.id = i.hotel_booking_id"
            " WHERE b.user_id = %s GROUP BY b.id ORDER BY b.created_at",
            (person,),
        ).fetchall()
        export["analytics_events"] = db.execute(
            "SELECT event_type, created_at, properties FROM analytics_events"
            " WHERE user_id = %s ORDER BY created_at, id",
            (person,),
        ).fetchall()
    return export


def forget_person(url: str, who: str) -> dict[str, Any]:
    """Forget a person in one transaction: the design's anonymisation (5.5) of the user,
    their conversations scrubbed, analytics pseudonymised, OAuth links and checkpoints
    deleted, bookings kept for accounting with the contact snapshot anonymised."""
    with (
        psycopg.connect(libpq_url(url), row_factory=dict_row, prepare_threshold=None) as db,
        db.transaction(),
    ):
        user = _find(db, who)
        person, tenant = user["id"], user["tenant_id"]
        threads = [
            row["thread_id"]
            for row in db.execute(
                "SELECT thread_id::text FROM chat_sessions WHERE user_id = %s", (person,)
            ).fetchall()
        ]
        db.execute(
            "UPDATE users SET deleted_at = NOW(), email = 'deleted-' || id || '@deleted.com',"
            " full_name = NULL, phone = NULL, hashed_password = NULL, status = 'deleted',"
            " marketing_consent = false WHERE id = %s",
            (person,),
        )
        scrubbed = db.execute(
            "UPDATE chat_messages SET content = '[deleted]', tool_calls = NULL,"
            " attributes = '{}'::jsonb WHERE session_id IN"
            " (SELECT id FROM chat_sessions WHERE user_id = %s)",
            (person,),
        ).rowcount
        db.execute(
            "UPDATE chat_sessions SET title = NULL, context = '{}'::jsonb, status = 'deleted',"
            " deleted_at = coalesce(deleted_at, NOW()) WHERE user_id = %s",
            (person,),
        )
        pseudonymised = db.execute(
            "UPDATE analytics_events SET user_id = NULL,"
            " properties = (properties - %s::text[])"
            " || jsonb_build_object('subject', md5(%s::text))"
            " WHERE user_id = %s",
            (list(FREE_TEXT_PROPERTIES), str(person), person),
        ).rowcount
        unlinked = db.execute("DELETE FROM oauth_accounts WHERE user_id = %s", (person,)).rowcount
        kept = db.execute(
            "UPDATE bookings SET contact_name = NULL, contact_email = NULL, contact_phone = NULL,"
            " travellers = '[]'::jsonb WHERE user_id = %s",
            (person,),
        ).rowcount
        for table in ("checkpoint_writes", "checkpoint_blobs", "checkpoints"):
            db.execute(f"DELETE FROM {table} WHERE thread_id = ANY(%s)", (threads,))
        db.execute(
            "INSERT INTO analytics_events (id, tenant_id, event_type, properties)"
            " VALUES (%s, %s, 'user_forgotten', jsonb_build_object('subject', md5(%s::text)))",
            (new_id(), tenant, str(person)),
        )
    return {
        "user_id": str(person),
        "messages_scrubbed": scrubbed,
        "events_pseudonymised": pseudonymised,
        "oauth_accounts_deleted": unlinked,
        "bookings_anonymised": kept,
        "threads_forgotten": threads,
    }
