"""Opening a chat session also tells the thread's latest checkpoint id.

Revision ID: 0013_session_checkpoint_id
Revises: 0012_inlined_tenant_lookup
Create Date: 2026-11-28
"""

from __future__ import annotations

from pathlib import Path

from migrations.sql import run_sql_file

revision: str = "0013_session_checkpoint_id"
down_revision: str | None = "0012_inlined_tenant_lookup"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")  # drops this revision's function
    # and brings back 0008's, from the one file that defines it.
    run_sql_file(str(Path(__file__).with_name("0008_open_chat_session.py")), "up")
