"""`travelhub replay`: a conversation's transcript beside its checkpoints, and forks of it."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from accounts.directory import Account
from agent.replay import Replay, ReplayError, fork, replay
from cli.support import fail, guarded, load_settings, open_services, shown
from db.threads import thread_owner
from tools.errors import TravelError


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
