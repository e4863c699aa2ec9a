"""The runtime role `travelhub_app` and its grants (parents only, never partitions).

Revision ID: 0002_runtime_role
Revises: 0001_schema
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0002_runtime_role"
down_revision: str | None = "0001_schema"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
