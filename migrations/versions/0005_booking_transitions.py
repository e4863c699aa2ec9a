"""Booking status changes only along the life cycle (a trigger).

Revision ID: 0005_booking_transitions
Revises: 0004_monitoring
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0005_booking_transitions"
down_revision: str | None = "0004_monitoring"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
