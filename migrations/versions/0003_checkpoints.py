"""LangGraph's checkpoint tables, made here once rather than at every start of the app.

LangGraph keeps its own migration list (`checkpoint_migrations`); this revision runs it with
the library's own `setup()`, outside a transaction because it builds indexes CONCURRENTLY.
A later LangGraph release that adds checkpoint migrations needs a new revision calling it again.

Revision ID: 0003_checkpoints
Revises: 0002_runtime_role
Create Date: 2026-11-28
"""

from __future__ import annotations

from typing import Any

from alembic import op
from langgraph.checkpoint.postgres import PostgresSaver

revision: str = "0003_checkpoints"
down_revision: str | None = "0002_runtime_role"
branch_labels: str | None = None
depends_on: str | None = None

CHECKPOINT_TABLES = (
    "checkpoints",
    "checkpoint_blobs",
    "checkpoint_writes",
    "checkpoint_migrations",
)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        connection: Any = op.get_bind().connection.driver_connection
        PostgresSaver(connection).setup()
    op.execute(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON checkpoints, checkpoint_blobs, checkpoint_writes"
        " TO travelhub_app"
    )
    op.execute("GRANT SELECT ON checkpoint_migrations TO travelhub_app")


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {', '.join(CHECKPOINT_TABLES)}")
