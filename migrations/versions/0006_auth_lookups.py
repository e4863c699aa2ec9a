"""Login and thread-owner lookups that work before a tenant is known.

Revision ID: 0006_auth_lookups
Revises: 0005_booking_transitions
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0006_auth_lookups"
down_revision: str | None = "0005_booking_transitions"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
