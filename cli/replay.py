"""`travelhub replay`: a conversation's transcript beside its checkpoints, forks of it, and
the thread file that carries it to another database (`export`, `import`)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from accounts.directory import Account
from agent.replay import Replay, ReplayError, fork, replay
from agent.thread_export import ThreadNotFound, export_thread
from agent.thread_file import BadThreadFile, read_thread_file
from agent.thread_import import ImportedThread, import_thread
from cli.support import fail, guarded, load_settings, open_services, shown
from db.threads import thread_owner
from tools.errors import TravelError


class ReplayGroup(TyperGroup):
    """`replay THREAD ...` stays `replay show THREAD ...`: what is not a subcommand's name
    is the thread of the default one."""

    default_command = "show"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


replay_app = typer.Typer(
    cls=ReplayGroup,
    no_args_is_help=True,
    help="Replay a conversation (`replay THREAD` is `replay show THREAD`), export it to a"
    " thread file, or import one.",
)


@replay_app.command("show")
def replay_command(
    thread_id: Annotated[str, typer.Argument(help="The conversation's thread id.")],
    fork_from: Annotated[
        str | None, typer.Option("--fork", help="Checkpoint id to branch from.")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", help="What to say in the fork.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Replay THREAD_ID; with --fork CHECKPOINT_ID --message TEXT, branch it in a sandbox."""
    try:
        thread = uuid.UUID(thread_id)
    except ValueError:
        fail(f"{thread_id!r} is not a conversation id (a UUID).")
    if (fork_from is None) != (message is None):
        fail("--fork and --message go together: a checkpoint id and what to say from it.")
    settings = load_settings()

    async def go() -> Replay:
        async with open_services(settings) as services:
            found = thread_owner(services.urls.owner, thread)
            if found is None:
                raise ReplayError(f"There is no conversation {thread}.")
            owner = Account(
                tenant_id=found["tenant_id"],
                user_id=found["user_id"],
                email=found["email"],
                name=found["full_name"] or found["email"].split("@")[0],
                phone=found["phone"],
                is_admin=found["role"] == "admin",
            )
            if fork_from is not None and message is not None:
                return await fork(services.conversations, owner, str(thread), fork_from, message)
            return await replay(services.conversations, owner, str(thread))

    def run() -> Replay:
        try:
            return asyncio.run(go())
        except (ReplayError, TravelError) as error:
            fail(getattr(error, "message", None) or str(error).strip("'\""))

    result = guarded(run)
    if as_json:
        typer.echo(json.dumps(result.document(), default=str))
        return
    _print(result)


def _print(result: Replay) -> None:
    console = Console()
    transcript = Table(title=f"Conversation {result.thread_id}")
    for column in ("When", "Who", "What"):
        transcript.add_column(column)
    for message in result.messages:
        what = message["content"] or ""
        if message["tool_calls"]:
            calls = ", ".join(
                f"{c['name']}({json.dumps(c['args'])})" for c in message["tool_calls"]
            )
            what = f"{what}\n-> {calls}".strip()
        who = message["role"] + (f" ({message['tool_name']})" if message["tool_name"] else "")
        if message["superseded_at"]:
            who += " [superseded]"  # an edit replaced it: not on the current branch
        transcript.add_row(message["created_at"][11:19], shown(who), shown(what[:600]))
    console.print(transcript)
    timeline = Table(title="Checkpoints")
    for column in ("Checkpoint", "Parent", "Step", "Source", "Next", "Messages"):
        timeline.add_column(column)
    for checkpoint in result.checkpoints:
        timeline.add_row(
            shown(checkpoint["checkpoint_id"]),
            shown(checkpoint["parent_checkpoint_id"] or "-"),
            shown(checkpoint["step"]),
            shown(checkpoint["source"]),
            shown(", ".join(checkpoint["next"]) or "-"),
            shown(checkpoint["messages"]),
        )
    console.print(timeline)
    if result.reply is not None:
        console.print("\nFork reply:")
        console.print(shown(result.reply))


def _tenant_of(services: Any, thread: uuid.UUID) -> uuid.UUID:
    """The thread's tenant, looked up across tenants as the operator may."""
    found = thread_owner(services.urls.owner, thread)
    if found is None:
        raise ThreadNotFound(f"There is no conversation {thread}.")
    tenant: uuid.UUID = found["tenant_id"]
    return tenant


@replay_app.command("export")
def export_command(
    thread_id: Annotated[str, typer.Argument(help="The conversation's thread id.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the thread file here (default: stdout)."),
    ] = None,
) -> None:
    """Export THREAD_ID (transcript, checkpoints, tool records) as one JSON thread file."""
    try:
        thread = uuid.UUID(thread_id)
    except ValueError:
        fail(f"{thread_id!r} is not a conversation id (a UUID).")
    settings = load_settings()

    async def go() -> str:
        async with open_services(settings) as services:
            tenant = _tenant_of(services, thread)
            return (await export_thread(services.conversations, tenant, thread)).dumps()

    document = guarded(lambda: asyncio.run(go()))
    if output is None:
        typer.echo(document)
        return
    try:
        output.write_text(document + "\n", encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {output} ({error.strerror or error}).")
    typer.echo(f"Wrote conversation {thread} to {output}.")


@replay_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A thread file from `replay export`.")],
    tenant: Annotated[
        str, typer.Option("--tenant", help="The tenant to load it into (its slug).")
    ] = "default",
) -> None:
    """Load a thread file into this database; prints the thread id to replay it by."""
    try:
        text = file.read_bytes()
    except OSError as error:
        fail(f"cannot read {file} ({error.strerror or error}).")
    try:
        thread = read_thread_file(text)
    except BadThreadFile as error:
        fail(str(error))
    settings = load_settings()

    async def go() -> ImportedThread:
        async with open_services(settings) as services:
            return await import_thread(services.sessions, thread, tenant_slug=tenant)

    def run() -> ImportedThread:
        try:
            return asyncio.run(go())
        except BadThreadFile as error:
            fail(str(error))

    imported = guarded(run)
    notes = [f"Imported conversation {imported.original_id} into tenant {tenant!r}"]
    if imported.renamed:
        notes.append(f"as {imported.thread_id}, its id being taken in this database")
    if imported.created_traveller:
        notes.append(f"for {imported.email}, a new traveller who cannot sign in")
    typer.echo(", ".join(notes) + ".", err=True)
    typer.echo(str(imported.thread_id))
