"""The rooms import one way: app.py/web and cli -> agent -> tools -> db, accounts beside tools;
ops (traces and metrics) below them all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"app", "web", "cli", "agent", "accounts", "tools", "db", "migrations", "ops"}
MAY_IMPORT = {
    "app": {"web", "agent", "accounts", "tools", "db", "ops"},
    "web": {"agent", "accounts", "tools", "db", "ops"},
    "cli": {"web", "agent", "accounts", "tools", "db", "ops"},
    "agent": {"accounts", "tools", "db", "ops"},
    "accounts": {"db", "ops"},
    "tools": {"db", "ops"},
    "db": {"ops"},
    "ops": set(),
    "migrations": {"db"},
}
WEB_FRAMEWORKS = {"chainlit", "fastapi", "starlette"}
"""Only app.py and web/ speak to the browser."""


def _modules(room: str) -> list[Path]:
    if room == "app":
        return [ROOT / "app.py"]
    return sorted((ROOT / room).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    """The top-level packages `path` imports, wherever the import statement stands."""
    tops: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


@pytest.mark.parametrize("room", sorted(MAY_IMPORT))
def test_a_room_imports_only_the_rooms_below_it(room: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {top}"
        for path in _modules(room)
        for top in _imported(path) & OURS
        if top != room and top not in MAY_IMPORT[room]
    }
    assert not wrong, sorted(wrong)


@pytest.mark.parametrize("room", sorted(MAY_IMPORT.keys() - {"app", "web"}))
def test_only_the_web_face_imports_web_frameworks(room: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {top}"
        for path in _modules(room)
        for top in _imported(path) & WEB_FRAMEWORKS
    }
    assert not wrong, sorted(wrong)


@pytest.mark.parametrize("room", ["agent", "accounts", "tools", "db", "ops", "migrations"])
def test_no_lower_room_loads_a_higher_one_by_path(room: str) -> None:
    wrong = [
        str(path.relative_to(ROOT))
        for path in _modules(room)
        if any(f'"{name}' in path.read_text() for name in ("app.py", "web/", "cli/"))
    ]
    assert not wrong


def test_every_test_of_a_layer_carries_its_marker() -> None:
    """`pytest -m faults` (or hostile, e2e) runs exactly that layer."""
    unmarked = [
        str(path.relative_to(ROOT))
        for layer in ("faults", "hostile", "e2e")
        for path in sorted((ROOT / "tests" / layer).glob("test_*.py"))
        if f"pytest.mark.{layer}" not in path.read_text()
    ]
    assert not unmarked
