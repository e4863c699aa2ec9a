"""A `monitoring` schema in which the design's monitoring queries run unchanged.

Revision ID: 0004_monitoring
Revises: 0003_checkpoints
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0004_monitoring"
down_revision: str | None = "0003_checkpoints"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
