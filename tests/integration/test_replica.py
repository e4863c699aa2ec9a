"""Analytics reads on a real streaming replica: a second cluster made with pg_basebackup -R
from the test's own primary; stats report its lag, exports read from it, nothing writes there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from db import migrate
from db.gdpr import export_person
from db.stats import collect
from tests import factories
from tests.integration.test_cli import environment, run
from tests.support.redis_server import free_port

pytestmark = pytest.mark.integration


def _binaries() -> Path | None:
    for version in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (version / "pg_basebackup").exists() and (version / "initdb").exists():
            return version
    return None


def _as_postgres(*command: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def primary_and_replica() -> Iterator[tuple[str, str]]:
    binaries = _binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_basebackup) are not installed")
    base = Path(tempfile.mkdtemp(prefix="th-replica-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    primary, replica = base / "primary", base / "replica"
    primary_port, replica_port = free_port(), free_port()
    _as_postgres(str(binaries / "initdb"), "-D", str(primary), "--auth=trust", "-U", "postgres")
    settings = (
        f"\nport = {primary_port}\nlisten_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{base}'\nwal_level = replica\nmax_wal_senders = 4\n"
    )
    _as_postgres("sh", "-c", f'printf %s "{settings}" >> {primary}/postgresql.conf')
    _as_postgres(
        str(binaries / "pg_ctl"), "-D", str(primary), "-l", f"{base}/primary.log", "-w", "start"
    )
    try:
        _as_postgres(
            str(binaries / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port),
            "-U", "postgres", "-D", str(replica), "-R", "-X", "stream",
        )  # fmt: skip
        _as_postgres("sh", "-c", f"echo 'port = {replica_port}' >> {replica}/postgresql.conf")
        _as_postgres(
            str(binaries / "pg_ctl"), "-D", str(replica), "-l", f"{base}/replica.log", "-w", "start"
        )
        yield (
            f"postgresql://postgres@127.0.0.1:{primary_port}/postgres",
            f"postgresql://postgres@127.0.0.1:{replica_port}/postgres",
        )
    finally:
        for cluster in (replica, primary):
            if cluster.exists():
                subprocess.run(
                    [*(["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []),
                     str(binaries / "pg_ctl"), "-D", str(cluster), "-m", "fast", "stop"],
                    capture_output=True, check=False,
                )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def _wait_for(replica: str, email: str) -> None:
    deadline = time.monotonic() + 30
    with psycopg.connect(replica, autocommit=True) as standby:
        while time.monotonic() < deadline:
            if standby.execute("SELECT 1 FROM users WHERE email = %s", (email,)).fetchone():
                return
            time.sleep(0.2)
    pytest.fail("the replica did not catch up within 30 s")


def test_analytics_reads_come_from_the_replica(primary_and_replica: tuple[str, str]) -> None:
    primary, replica = primary_and_replica
    migrate.upgrade(primary)
    with psycopg.connect(primary, autocommit=True) as owner:
        tenant = factories.tenant(owner)
        user = factories.user(owner, tenant, email="ida@example.com")
        session = factories.chat_session(owner, tenant, user)
        factories.chat_message(owner, tenant, session, content="Flights to Oslo")
        factories.analytics_event(owner, tenant, user, kind="search_performed")
    _wait_for(replica, "ida@example.com")

    with psycopg.connect(replica, autocommit=True) as standby:
        assert standby.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            standby.execute("INSERT INTO tenants (slug, name) VALUES ('nope', 'Nope')")

    figures = {figure.name: figure for figure in collect(primary, analytics_url=replica)}
    lag = figures["replication_lag_seconds"]
    assert lag.level in ("ok", "warning")
    assert isinstance(lag.value, float)
    assert lag.detail == "warning > 30 s, critical > 5 min"

    exported = export_person(replica, "ida@example.com")
    assert exported["chat_sessions"][0]["messages"][0]["content"] == "Flights to Oslo"

    env = environment(DATABASE_URL=primary, REDIS_URL=None, ANALYTICS_DATABASE_URL=replica)
    stats = run("stats", "--json", env=env)
    assert stats.returncode in (0, 2), stats.stderr
    lag_figure = next(
        f for f in json.loads(stats.stdout)["figures"] if f["name"] == "replication_lag_seconds"
    )
    assert lag_figure["detail"] == "warning > 30 s, critical > 5 min"
    exported_cli = json.loads(run("gdpr", "export", "ida@example.com", env=env).stdout)
    assert exported_cli["user"]["email"] == "ida@example.com"
