"""Why the tenant is set per transaction: behind PgBouncer in transaction mode a session-level
SET stays on the server connection and reaches the next client; `set_config(..., true)` never
does. Runs when the suite goes through PgBouncer (TRAVELHUB_TEST_PGBOUNCER, as .ci/run does)."""

from __future__ import annotations

import psycopg
import pytest

from db.urls import libpq_url
from tests.conftest import PGBOUNCER

pytestmark = pytest.mark.integration


@pytest.fixture
def through_pgbouncer(runtime_database: str) -> str:
    if not PGBOUNCER:
        pytest.skip("the suite is not running through PgBouncer (TRAVELHUB_TEST_PGBOUNCER unset)")
    return libpq_url(runtime_database)


def _seen_by_next_client(url: str, setter: str) -> str | None:
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as first:
        if setter == "session":
            first.execute("SET app.current_tenant_id = 'tenant-leaked'")
        else:
            with first.transaction():
                first.execute("SELECT set_config('app.current_tenant_id', 'tenant-scoped', true)")
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as second:
        row = second.execute("SELECT current_setting('app.current_tenant_id', true)").fetchone()
    return row[0] if row else None


def test_a_session_level_set_leaks_and_set_config_local_does_not(through_pgbouncer: str) -> None:
    leaks = [_seen_by_next_client(through_pgbouncer, "session") for _ in range(10)]
    assert "tenant-leaked" in leaks  # the hazard is real here
    scoped = [_seen_by_next_client(through_pgbouncer, "local") for _ in range(20)]
    assert "tenant-scoped" not in scoped
