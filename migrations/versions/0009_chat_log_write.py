"""Writing the chat log in one statement per tenant: every turn ends with it.

Revision ID: 0009_chat_log_write
Revises: 0008_open_chat_session
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0009_chat_log_write"
down_revision: str | None = "0008_open_chat_session"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
