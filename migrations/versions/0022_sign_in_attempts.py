"""Failed sign-ins are counted where Redis is not: a table of failure times by hashed key.

Revision ID: 0022_sign_in_attempts
Revises: 0021_user_sessions
Create Date: 2026-12-14
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0022_sign_in_attempts"
down_revision: str | None = "0021_user_sessions"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
