"""`travelhub eval DIR`: the scenario suite against the real agent and database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from agent.evaluation import ScenarioError, Verdict, evaluate
from cli.support import fail, guarded, load_settings, open_services


def eval_command(
    folder: Annotated[Path, typer.Argument(help="Folder of scenario files (*.yaml).")],
) -> None:
    """Run every scenario on a fresh traveller; print each verdict and the pass rate."""
    if not folder.is_dir():
        fail(f"{folder} is not a folder of scenarios.")
    settings = load_settings()

    async def go() -> list[tuple[Path, Verdict]]:
        async with open_services(settings) as services:
            return await evaluate(services, folder)

    def run() -> list[tuple[Path, Verdict]]:
        try:
            return asyncio.run(go())
        except ScenarioError as error:
            fail(str(error))

    verdicts = guarded(run)
    for path, verdict in verdicts:
        typer.echo(f"{'PASS' if verdict.passed else 'FAIL'}  {path.name}: {verdict.scenario}")
        for failure in verdict.failures:
            typer.echo(f"      {failure}")
    passed = sum(verdict.passed for _path, verdict in verdicts)
    typer.echo(f"\n{passed}/{len(verdicts)} scenarios passed ({100 * passed / len(verdicts):.0f}%)")
    if passed != len(verdicts):
        raise typer.Exit(code=1)
