"""The chat log's write also stores the turns' checkpoints.

Revision ID: 0015_chat_log_checkpoints
Revises: 0014_message_counts_by_key
Create Date: 2026-11-28
"""

from __future__ import annotations

from pathlib import Path

from migrations.sql import run_sql_file

revision: str = "0015_chat_log_checkpoints"
down_revision: str | None = "0014_message_counts_by_key"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")  # drops this revision's function
    # and brings back 0011's, from the one file that defines it; that file replaces 0009's
    # function, so 0009's is made first.
    for revision in ("0009_chat_log_write.py", "0011_chat_log_write_all_tenants.py"):
        run_sql_file(str(Path(__file__).with_name(revision)), "up")
