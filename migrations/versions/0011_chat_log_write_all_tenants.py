"""The chat log writes every tenant's rows of a group commit in one statement.

Revision ID: 0011_chat_log_write_all_tenants
Revises: 0010_log_keys_with_tenant
Create Date: 2026-11-28
"""

from __future__ import annotations

from pathlib import Path

from migrations.sql import run_sql_file

revision: str = "0011_chat_log_write_all_tenants"
down_revision: str | None = "0010_log_keys_with_tenant"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")  # drops this revision's function
    # and brings back 0009's, from the one file that defines it.
    run_sql_file(str(Path(__file__).with_name("0009_chat_log_write.py")), "up")
