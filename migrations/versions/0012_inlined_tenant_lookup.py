"""current_tenant_id() inlined into every statement under row-level security.

Revision ID: 0012_inlined_tenant_lookup
Revises: 0011_chat_log_write_all_tenants
Create Date: 2026-11-28
"""

from __future__ import annotations

from migrations.sql import run_sql_file

revision: str = "0012_inlined_tenant_lookup"
down_revision: str | None = "0011_chat_log_write_all_tenants"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    run_sql_file(__file__, "up")


def downgrade() -> None:
    run_sql_file(__file__, "down")
