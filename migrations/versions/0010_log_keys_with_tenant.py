"""Log rows reference their session and user with their tenant: composite foreign keys.

Revision ID: 0010_log_keys_with_tenant
Revises: 0009_chat_log_write
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0010_log_keys_with_tenant"
down_revision: str | None = "0009_chat_log_write"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
