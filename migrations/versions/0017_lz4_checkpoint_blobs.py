"""Checkpoint blobs compressed with lz4 where the server has it.

Revision ID: 0017_lz4_checkpoint_blobs
Revises: 0016_open_session_reads_first
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0017_lz4_checkpoint_blobs"
down_revision: str | None = "0016_open_session_reads_first"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
