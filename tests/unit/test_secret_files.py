"""Development secrets on disk: private from their first byte, made once however many
processes start together, and kept across restarts."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agent.secret_files import kept_secret


def test_a_secret_is_made_once_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "token.key"
    secret, made = kept_secret(path, lambda: "first")
    assert (secret, made) == ("first", True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert kept_secret(path, lambda: "second") == ("first", False)


def test_processes_starting_together_keep_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "auth_secret"
    with ThreadPoolExecutor(max_workers=8) as pool:
        kept = list(pool.map(lambda n: kept_secret(path, lambda: f"secret-{n}"), range(8)))
    assert len({secret for secret, _ in kept}) == 1
    assert sum(made for _, made in kept) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["auth_secret"]  # no draft left behind
