"""Operator commands: maintain, gdpr, tenants, stats, backup and restore."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from redis import Redis
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table

from accounts.directory import Account
from agent.bootstrap import DatabaseUrls, build_services
from agent.replay import replay
from agent.settings import Settings
from cli.support import fail, guarded, load_settings, open_services, owner_url
from db import migrate
from db.backup import BackupError, backup, drop_database, restore
from db.gdpr import PersonNotFound, export_person, forget_person
from db.maintenance import run_maintenance
from db.stats import collect, worst
from db.tenants import TenantError, create_tenant, list_tenants, set_tenant_status
from db.urls import libpq_url, runtime_url

gdpr_app = typer.Typer(help="A person's data: export it, or forget them.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants (organisations).", no_args_is_help=True)


def _ready(settings: Settings) -> str:
    url = owner_url(settings)
    guarded(lambda: migrate.ensure_current(url))
    return url


def maintain(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be done.")] = False,
) -> None:
    """Partitions, retention, cache TTL, daily metrics, checkpoint retention, GDPR purge, and
    bookings left unsettled by an interrupted process."""
    settings = load_settings()
    url = _ready(settings)
    settled = guarded(lambda: asyncio.run(_settle_bookings(settings, dry_run=dry_run)))
    report = guarded(
        lambda: run_maintenance(
            url,
            retention_months=settings.partition_retention_months,
            archive_grace_days=settings.archive_grace_days,
            dry_run=dry_run,
        )
    )
    for line in settled:
        typer.echo(line)
    if report.skipped:
        typer.echo(f"Skipped: {report.skipped}.")
        return
    for line in report.done or ([] if settled else ["nothing to do"]):
        typer.echo(line)


async def _settle_bookings(settings: Settings, *, dry_run: bool) -> list[str]:
    """One reconciler pass: each booking due, asked of its vendor and settled."""
    async with open_services(settings) as services:
        reconciler = services.bookings.reconciler
        if dry_run:
            due = await reconciler.due()
            return [f"would settle {len(due)} interrupted booking(s)"] if due else []
        return [settlement.line() for settlement in await reconciler.settle_due()]


@gdpr_app.command("export")
def gdpr_export(who: Annotated[str, typer.Argument(help="Email address or user id.")]) -> None:
    """Everything we hold on that person, as one JSON document."""
    settings = load_settings()
    url = _ready(settings)
    source = (
        settings.analytics_database_url.get_secret_value()
        if settings.analytics_database_url
        else url
    )
    try:
        document = guarded(lambda: export_person(source, who))
    except PersonNotFound as error:
        fail(str(error).strip("'\""))
    typer.echo(json.dumps(document, default=str, indent=1))


@gdpr_app.command("forget")
def gdpr_forget(who: Annotated[str, typer.Argument(help="Email address or user id.")]) -> None:
    """Forget that person everywhere; their bookings stay, anonymised, for the accounts."""
    settings = load_settings()
    url = _ready(settings)
    try:
        done = guarded(lambda: forget_person(url, who))
    except PersonNotFound as error:
        fail(str(error).strip("'\""))
    dropped = 0
    if settings.redis_url is not None:
        try:
            redis = Redis.from_url(settings.redis_url.get_secret_value(), socket_timeout=2)
            for key in redis.scan_iter(match=f"*{done['user_id']}*"):
                dropped += int(redis.delete(key))
        except RedisError as error:
            typer.echo(f"warning: Redis not reachable, no keys dropped ({error}).", err=True)
    typer.echo(
        f"Forgotten {done['user_id']}: {done['messages_scrubbed']} messages scrubbed,"
        f" {done['events_pseudonymised']} events pseudonymised, {done['oauth_accounts_deleted']}"
        f" OAuth links and {len(done['threads_forgotten'])} conversations' checkpoints deleted,"
        f" {done['bookings_anonymised']} bookings kept anonymised, {dropped} Redis keys dropped."
    )


@tenants_app.command("create")
def tenants_create(
    slug: Annotated[str, typer.Argument(help="Short lower-case name, e.g. acme-travel.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
) -> None:
    url = _ready(load_settings())
    try:
        made = guarded(lambda: create_tenant(url, slug, name))
    except TenantError as error:
        fail(str(error))
    typer.echo(f"Created tenant {made['slug']} ({made['id']}).")


@tenants_app.command("list")
def tenants_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    url = _ready(load_settings())
    rows = guarded(lambda: list_tenants(url))
    if as_json:
        typer.echo(json.dumps(rows, default=str))
        return
    table = Table(title="Tenants")
    for column in ("Slug", "Name", "Status", "Users", "Since"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["slug"],
            row["name"],
            row["status"],
            str(row["users"]),
            f"{row['created_at']:%Y-%m-%d}",
        )
    Console().print(table)


@tenants_app.command("suspend")
def tenants_suspend(slug: Annotated[str, typer.Argument()]) -> None:
    _set_status(slug, "suspended")


@tenants_app.command("activate")
def tenants_activate(slug: Annotated[str, typer.Argument()]) -> None:
    _set_status(slug, "active")


def _set_status(slug: str, status: str) -> None:
    url = _ready(load_settings())
    try:
        guarded(lambda: set_tenant_status(url, slug, status))
    except TenantError as error:
        fail(str(error))
    typer.echo(f"Tenant {slug} is {status}.")


def stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The monitoring figures; exit 2 when any is critical."""
    settings = load_settings()
    url = _ready(settings)
    replica = (
        settings.analytics_database_url.get_secret_value()
        if settings.analytics_database_url
        else None
    )
    figures = guarded(lambda: collect(url, analytics_url=replica))
    overall = worst(figures)
    if as_json:
        typer.echo(
            json.dumps({"status": overall, "figures": [f.as_dict() for f in figures]}, default=str)
        )
    else:
        table = Table(title=f"Global Travel Hub database: {overall}")
        for column in ("Figure", "Value", "Level", "Thresholds"):
            table.add_column(column)
        for figure in figures:
            table.add_row(
                figure.name, json.dumps(figure.value, default=str), figure.level, figure.detail
            )
        Console().print(table)
    if overall == "critical":
        raise typer.Exit(code=2)


def backup_command(file: Annotated[Path, typer.Argument(help="Where to write the dump.")]) -> None:
    """pg_dump (custom format) with progress, and a manifest of row counts beside it."""
    url = _ready(load_settings())
    try:
        counts = guarded(
            lambda: backup(url, file, progress=lambda line: typer.echo(line, err=True))
        )
    except BackupError as error:
        fail(str(error))
    typer.echo(f"Backed up {sum(counts.values())} rows of {len(counts)} tables to {file}.")


def restore_command(
    file: Annotated[Path, typer.Argument(help="A dump made by `travelhub backup`.")],
    verify: Annotated[
        bool, typer.Option("--verify", help="Restore to a scratch database and check it.")
    ] = False,
) -> None:
    """With --verify (the design's monthly restore test): restore into a scratch database,
    compare row counts per table, replay a conversation from the copy, then drop it."""
    if not verify:
        fail(
            "Only `restore FILE --verify` is supported;"
            " restoring over a live database is a manual job."
        )
    settings = load_settings()
    url = _ready(settings)
    try:
        checked = guarded(
            lambda: restore(url, file, progress=lambda line: typer.echo(line, err=True))
        )
    except BackupError as error:
        fail(str(error))
    try:
        if not checked.whole:
            fail(f"The restored copy differs from the backup: {checked.mismatches}.")
        replayed = asyncio.run(_replay_latest(settings, checked.database))
        typer.echo(
            f"Restore verified: {sum(checked.counts.values())} rows in {len(checked.counts)} tables"
            f" match the backup; {replayed}."
        )
    finally:
        drop_database(url, checked.database.rsplit("/", 1)[-1].split("?")[0])


async def _replay_latest(settings: Settings, restored: str) -> str:
    with psycopg.connect(libpq_url(restored), prepare_threshold=None) as db:
        row = db.execute(
            "SELECT s.thread_id::text, s.tenant_id, s.user_id, u.email FROM chat_sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.deleted_at IS NULL"
            " ORDER BY s.created_at DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return "no conversation to replay"
    services = await build_services(
        settings, DatabaseUrls(restored, runtime_url(restored, password=None))
    )
    try:
        owner = Account(row[1], row[2], row[3], row[3], None, False)
        replayed = await replay(services.conversations, owner, row[0])
    finally:
        await services.aclose()
    return (
        f"conversation {row[0]} replayed: {len(replayed.messages)} messages,"
        f" {len(replayed.checkpoints)} checkpoints"
    )
