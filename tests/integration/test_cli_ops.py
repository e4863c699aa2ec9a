"""The operator commands as operators run them: real processes, exit codes, one sentence."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from db.maintenance import month_start
from tests import factories
from tests.integration.test_cli import environment, run

pytestmark = pytest.mark.integration


def test_stats_json_and_its_exit_code(database: str, owner: Any) -> None:
    env = environment(DATABASE_URL=database, REDIS_URL=None)
    result = run("stats", "--json", env=env)
    document = json.loads(result.stdout)
    # Exit 2 exactly when a figure is critical (a cold test database may have a low hit ratio).
    critical = any(figure["level"] == "critical" for figure in document["figures"])
    assert result.returncode == (2 if critical else 0), result.stderr
    names = {figure["name"] for figure in document["figures"]}
    assert {
        "connections", "buffer_cache_hit_ratio", "longest_query_seconds", "largest_tables_bytes",
        "unused_indexes", "chat_messages_default_rows", "chat_messages_months_ahead",
        "replication_lag_seconds", "search_cache_tiers_last_day", "daily_bookings_last_week",
    } <= names  # fmt: skip
    ids = factories.full_tenant(owner)
    factories.chat_message(
        owner, ids["tenant_id"], ids["chat_sessions"], created_at=datetime(2033, 1, 1, tzinfo=UTC)
    )
    owner.execute(f"DROP TABLE chat_messages_y{_month_after(1)}")
    owner.execute(f"DROP TABLE chat_messages_y{_month_after(2)}")
    owner.execute(f"DROP TABLE chat_messages_y{_month_after(3)}")
    alarmed = run("stats", "--json", env=env)
    assert alarmed.returncode == 2  # no month ahead left: critical
    figures = {f["name"]: f for f in json.loads(alarmed.stdout)["figures"]}
    assert figures["chat_messages_default_rows"]["level"] == "warning"
    assert figures["chat_messages_months_ahead"]["level"] == "critical"
    fixed = run("maintain", env=env)
    assert "create chat_messages_y2033m01 (rows moved out of DEFAULT)" in fixed.stdout
    after = {f["name"]: f for f in json.loads(run("stats", "--json", env=env).stdout)["figures"]}
    assert after["chat_messages_default_rows"]["level"] == "ok"
    assert after["chat_messages_months_ahead"] == {
        "name": "chat_messages_months_ahead", "value": 3, "level": "ok",
        "detail": "warning < 3, critical < 1",
    }  # fmt: skip


def _month_after(months: int) -> str:
    return f"{month_start(date.today(), months):%Ym%m}"


def test_tenants(database: str) -> None:
    env = environment(DATABASE_URL=database, REDIS_URL=None)
    assert run("tenants", "create", "acme-travel", "--name", "Acme Travel", env=env).returncode == 0
    again = run("tenants", "create", "acme-travel", "--name", "Acme", env=env)
    assert again.stderr.strip() == "travelhub: There is already a tenant called 'acme-travel'."
    bad = run("tenants", "create", "Acme Travel!", "--name", "Acme", env=env)
    assert "is not a tenant slug" in bad.stderr
    listed = json.loads(run("tenants", "list", "--json", env=env).stdout)
    assert [t["slug"] for t in listed] == ["default", "acme-travel"]
    assert (
        run("tenants", "suspend", "acme-travel", env=env).stdout.strip()
        == "Tenant acme-travel is suspended."
    )
    assert (
        run("tenants", "suspend", "nope", env=env).stderr.strip()
        == "travelhub: There is no tenant called 'nope'."
    )


def test_backup_then_restore_verify(database: str, owner: Any, tmp_path: Path) -> None:
    for _ in range(3):
        factories.full_tenant(owner)
    env = environment(DATABASE_URL=database, REDIS_URL=None)
    dump = tmp_path / "travelhub.dump"
    made = run("backup", str(dump), env=env)
    assert made.returncode == 0, made.stderr
    assert "Backed up" in made.stdout
    assert "public.users" in made.stderr  # progress
    manifest = json.loads((tmp_path / "travelhub.dump.manifest.json").read_text())
    assert manifest["counts"]["bookings"] == 3
    verified = run("restore", str(dump), "--verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert "Restore verified:" in verified.stdout
    leftovers = owner.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'th_restore_%%'")
    assert leftovers.fetchone() == (0,)
    missing = run("restore", str(tmp_path / "nope.dump"), "--verify", env=env)
    assert missing.stderr.strip() == f"travelhub: There is no backup file {tmp_path / 'nope.dump'}."


def test_gdpr_commands(database: str, owner: Any) -> None:
    tenant = factories.tenant(owner)
    factories.user(owner, tenant, email="hedy@example.com")
    env = environment(DATABASE_URL=database, REDIS_URL=None)
    exported = json.loads(run("gdpr", "export", "hedy@example.com", env=env).stdout)
    assert exported["user"]["email"] == "hedy@example.com"
    forgotten = run("gdpr", "forget", "hedy@example.com", env=env)
    assert forgotten.stdout.startswith("Forgotten ")
    unknown = run("gdpr", "export", "nobody@example.com", env=env)
    assert unknown.returncode == 1
    assert (
        unknown.stderr.strip()
        == "travelhub: No user has the email address or id 'nobody@example.com'."
    )
