"""The design's daily metrics per tenant and currency, for a tenant's admin to read (/admin).

Revision ID: 0023_tenant_daily_metrics
Revises: 0022_sign_in_attempts
Create Date: 2026-12-15
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0023_tenant_daily_metrics"
down_revision: str | None = "0022_sign_in_attempts"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
