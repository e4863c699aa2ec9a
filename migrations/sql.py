"""Runs the plain-SQL halves of a revision, kept beside it as `<revision>.up.sql` / `.down.sql`."""

from __future__ import annotations

from pathlib import Path

from alembic import op


def run_sql_file(revision_file: str, direction: str) -> None:
    """Execute `<revision_file stem>.<direction>.sql` on the migration's connection.

    The driver connection runs the file as one simple query: the DDL keeps its `%` and `:`
    characters (format strings, casts) and stays in Alembic's transaction.
    """
    path = Path(revision_file).with_suffix(f".{direction}.sql")
    run_sql(path.read_text(encoding="utf-8"))


def run_sql(statements: str) -> None:
    """Execute `statements` as one simple query on the migration's connection."""
    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    driver_connection.execute(statements.encode())
