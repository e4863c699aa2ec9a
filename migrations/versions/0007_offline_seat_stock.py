"""The offline vendor's seat stock, shared by every process of the app.

Revision ID: 0007_offline_seat_stock
Revises: 0006_auth_lookups
Create Date: 2026-11-29
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0007_offline_seat_stock"
down_revision: str | None = "0006_auth_lookups"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
