"""Message counts kept by looking sessions up by key, not by reading the tenant's sessions.

Revision ID: 0014_message_counts_by_key
Revises: 0013_session_checkpoint_id
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0014_message_counts_by_key"
down_revision: str | None = "0013_session_checkpoint_id"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
