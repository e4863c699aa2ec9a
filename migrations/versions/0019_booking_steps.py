"""A booking is stored at each step of its life: pending, ordering, then settled.

Revision ID: 0019_booking_steps
Revises: 0018_named_chat_log_columns
Create Date: 2026-12-05
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0019_booking_steps"
down_revision: str | None = "0018_named_chat_log_columns"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
