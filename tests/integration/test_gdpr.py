"""GDPR: the export holds everything about the person; after forgetting, nothing does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from chainlit.types import Feedback
from cryptography.fernet import Fernet
from psycopg import sql

from accounts.directory import OAuthIdentity, sign_in_with
from accounts.token_cipher import TokenCipher
from agent.bootstrap import Services
from db.gdpr import PersonNotFound, export_person, forget_person
from db.urls import libpq_url
from tests.integration.agent_world import stack
from web import runtime
from web.data_layer import TravelDataLayer

pytestmark = pytest.mark.integration
EMAIL, NAME, PHONE = "grace.hopper@example.com", "Grace Hopper", "+15551234567"


@pytest.fixture
async def grace(database: str, runtime_database: str, owner: Any) -> AsyncIterator[Services]:
    """A traveller with an OAuth link, two conversations, a booking, feedback."""
    async with stack(database, runtime_database) as services:
        runtime.install(services)
        person = await sign_in_with(
            services.sessions, TokenCipher([Fernet.generate_key().decode()]),
            OAuthIdentity("github", "77", EMAIL, True, NAME, "gho_secret_token"),
            default_tenant="default",
        )  # fmt: skip
        assert person is not None
        owner.execute("UPDATE users SET full_name = %s, phone = %s", (NAME, PHONE))
        person = await sign_in_with(
            services.sessions, TokenCipher([Fernet.generate_key().decode()]),
            OAuthIdentity("github", "77", EMAIL, True, NAME, "gho_secret_token"),
            default_tenant="default",
        )  # fmt: skip
        assert person is not None
        thread = None
        for said in (
            f"Hi, I am {NAME}",
            "hotel in Lisbon from 2031-03-01 to 2031-03-04",
            "book option 1",
            "yes",
        ):
            thread = (
                await services.conversations.turn(
                    person, said, thread_id=thread, reply_ui_ids=["r1"] if said == "yes" else None
                )
            ).thread_id
        await TravelDataLayer(runtime.services).upsert_feedback(
            Feedback(forId="r1", value=1, comment=f"thanks from {NAME}, call {PHONE}")
        )
        await services.conversations.turn(person, "Flights from Rome to Paris in 30 days")
        yield services
        runtime.install(None)


async def test_the_export_holds_everything(grace: Services, database: str) -> None:
    del grace
    export = export_person(database, EMAIL)
    assert export["user"]["email"] == EMAIL
    assert "hashed_password" not in export["user"]
    assert export["consents"]["data_processing_consent"] is False
    assert [a["provider"] for a in export["oauth_accounts"]] == ["github"]
    assert "access_token_encrypted" not in export["oauth_accounts"][0]
    assert len(export["chat_sessions"]) == 2
    assert export["chat_sessions"][0]["messages"][0]["content"] == f"Hi, I am {NAME}"
    [booking] = export["bookings"]
    assert booking["status"] == "confirmed"
    assert booking["items"][0]["type"] == "hotel"
    assert booking["items"][0]["hotel"]["city"] == "Lisbon"
    kinds = {event["event_type"] for event in export["analytics_events"]}
    assert {"user_signed_up", "message_sent", "booking_confirmed", "feedback_given"} <= kinds
    with pytest.raises(PersonNotFound):
        export_person(database, "nobody@example.com")


def _traces(owner: Any, needles: list[str]) -> list[str]:
    """Every text, varchar and JSON column of every table, and the checkpoint blobs, searched."""
    found = []
    columns = owner.execute(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN pg_class t ON t.relname = c.table_name"
        " WHERE c.table_schema = 'public' AND t.relkind IN ('r', 'p') AND NOT t.relispartition"
        " AND c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'bytea')"
    ).fetchall()
    for table, column, kind in columns:
        for needle in needles:
            if kind == "bytea":
                condition = sql.SQL("position(convert_to({}, 'UTF8') IN {}) > 0").format(
                    sql.Literal(needle), sql.Identifier(column)
                )
            else:
                condition = sql.SQL("{}::text ILIKE {}").format(
                    sql.Identifier(column), sql.Literal(f"%{needle}%")
                )
            query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
                sql.Identifier(table), condition
            )
            if owner.execute(query).fetchone()[0]:
                found.append(f"{table}.{column} holds {needle!r}")
    return found


async def test_forgetting_leaves_no_trace(grace: Services, database: str, owner: Any) -> None:
    del grace
    needles = [EMAIL, NAME, PHONE, "Grace", "gho_secret_token"]
    assert _traces(owner, needles)  # the scan does find them before
    done = forget_person(database, EMAIL)
    assert done["oauth_accounts_deleted"] == 1
    assert done["bookings_anonymised"] == 1
    assert _traces(owner, needles) == []
    assert owner.execute("SELECT status, total_amount IS NOT NULL FROM bookings").fetchone() == (
        "confirmed",
        True,
    )
    assert owner.execute("SELECT count(*) FROM checkpoints").fetchone() == (0,)
    assert owner.execute(
        "SELECT count(*) FROM analytics_events WHERE event_type = 'user_forgotten'"
    ).fetchone() == (1,)
    with psycopg.connect(libpq_url_of(database)) as again:
        assert again.execute(
            "SELECT count(*) FROM users WHERE deleted_at IS NOT NULL"
        ).fetchone() == (1,)


def libpq_url_of(url: str) -> str:

    return libpq_url(url)
