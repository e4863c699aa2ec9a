"""The shipped scenario suite: every conversation passes, judged on the final database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.evaluation import evaluate, load
from tests.integration.agent_world import stack
from tests.integration.test_cli import environment, run

pytestmark = pytest.mark.integration

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_there_are_enough_scenarios_of_every_kind() -> None:
    names = " ".join(scenario.name.lower() for _path, scenario in load(SCENARIOS))
    assert len(load(SCENARIOS)) >= 25
    for topic in (
        "flight",
        "hotel",
        "trip",
        "decline",
        "cancel",
        "price",
        "misspelt",
        "past",
        "follow-up",
    ):
        assert topic in names, topic


async def test_every_scenario_passes(database: str, runtime_database: str) -> None:
    async with stack(database, runtime_database) as services:
        verdicts = await evaluate(services, SCENARIOS)
    failures = {path.name: verdict.failures for path, verdict in verdicts if not verdict.passed}
    assert failures == {}


def test_a_broken_scenario_file_is_one_sentence(database: str, tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("name: a: b\nturns: [")
    result = run("eval", str(tmp_path), env=environment(DATABASE_URL=database, REDIS_URL=None))
    assert result.returncode == 1
    assert result.stderr.strip() == "travelhub: broken.yaml is not valid YAML at line 1."
    (tmp_path / "broken.yaml").write_text("name: no turns\n")
    result = run("eval", str(tmp_path), env=environment(DATABASE_URL=database, REDIS_URL=None))
    assert result.stderr.strip() == "travelhub: broken.yaml: turns: Field required."
    (tmp_path / "broken.yaml").write_text("name: x\nturns: [{say: hi, expect_pattern: ['(']}]\n")
    result = run("eval", str(tmp_path), env=environment(DATABASE_URL=database, REDIS_URL=None))
    assert result.stderr.strip() == (
        "travelhub: broken.yaml: turns.0.expect_pattern.0: Input should be a valid regular"
        " expression."
    )


async def test_patterns_judge_how_prices_are_written(
    database: str, runtime_database: str, tmp_path: Path
) -> None:
    (tmp_path / "yen.yaml").write_text(
        "name: yen written with decimals would fail\n"
        "currency: JPY\n"
        "turns:\n"
        "  - say: Flights from Osaka to Tokyo in three weeks\n"
        "    expect_pattern: ['JP¥[\\d,]+\\.\\d']\n"
        "    reject_pattern: ['JP¥[\\d,]+']\n"
    )
    async with stack(database, runtime_database) as services:
        ((_path, verdict),) = await evaluate(services, tmp_path)
    does_not_match, says = verdict.failures
    assert does_not_match.startswith(
        "turn 1 ('Flights from Osaka to Tokyo in three weeks'): reply does not match"
    )
    assert re.fullmatch(r"turn 1 \(.*\): reply says 'JP¥\d{1,3}(,\d{3})*'", says)
