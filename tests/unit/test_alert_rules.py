"""The alert rules operators load (deploy/prometheus/alerts.yml) are valid, fire at the
design's thresholds (promtool's unit tests, alerts_test.yml), and read only metrics the app
exposes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from ops.live import HELP, LIVE, Snapshot

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool(*arguments: str) -> str:
    if not Path(PROMTOOL).exists():
        if os.environ.get("CI"):
            pytest.fail(f"promtool is missing at {PROMTOOL}; .ci/run installs it.")
        pytest.skip(f"No promtool at {PROMTOOL}: apt-get install prometheus for this test")
    done = subprocess.run(
        [PROMTOOL, *arguments], cwd=RULES, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_rules_are_valid() -> None:
    assert "SUCCESS: 12 rules found" in promtool("check", "rules", "alerts.yml")


def test_the_rules_fire_at_their_thresholds() -> None:
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")


def test_the_rules_read_only_metrics_the_app_exposes() -> None:
    read = set(re.findall(r"\btravelhub_[a-z_]+", (RULES / "alerts.yml").read_text()))
    kept = LIVE.snapshot
    LIVE.snapshot = Snapshot({name: {(): 1.0} for name in HELP}, 0.0, True)
    try:
        exposed = {sample.name for family in REGISTRY.collect() for sample in family.samples}
        exposed |= {family.name for family in LIVE.collect()}  # families with no sample yet
    finally:
        LIVE.snapshot = kept
    assert read
    assert read <= exposed, read - exposed
