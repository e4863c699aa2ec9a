"""Opening a chat session reads it before it writes anything.

Revision ID: 0016_open_session_reads_first
Revises: 0015_chat_log_checkpoints
Create Date: 2026-11-28
"""

from __future__ import annotations

from pathlib import Path

from migrations.sql import run_sql_file

revision: str = "0016_open_session_reads_first"
down_revision: str | None = "0015_chat_log_checkpoints"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    # 0013's file defines the function this one replaces (same arguments, same answers).
    run_sql_file(str(Path(__file__).with_name("0013_session_checkpoint_id.py")), "up")
