"""An edited message replaces its branch: the rows after it are kept, marked superseded.

Revision ID: 0020_superseded_messages
Revises: 0019_booking_steps
Create Date: 2026-12-12
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0020_superseded_messages"
down_revision: str | None = "0019_booking_steps"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
