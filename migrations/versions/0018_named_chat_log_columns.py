"""The chat log's write takes its parameters by name; the checkpoint tables' default to none.

Revision ID: 0018_named_chat_log_columns
Revises: 0017_lz4_checkpoint_blobs
Create Date: 2026-12-04
"""

from __future__ import annotations

from pathlib import Path

from migrations.sql import run_sql, run_sql_file

revision: str = "0018_named_chat_log_columns"
down_revision: str | None = "0017_lz4_checkpoint_blobs"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")  # drops this revision's function
    # and brings back 0015's, from the one file that defines it (past its drop of 0011's).
    defined = Path(__file__).with_name("0015_chat_log_checkpoints.up.sql").read_text("utf-8")
    run_sql(defined[defined.index("CREATE FUNCTION chat_log_write(") :])
