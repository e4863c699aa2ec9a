"""Opening a chat session in one statement: the first thing every turn does.

Revision ID: 0008_open_chat_session
Revises: 0007_offline_seat_stock
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0008_open_chat_session"
down_revision: str | None = "0007_offline_seat_stock"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
