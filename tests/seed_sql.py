"""The SQL of the database design document, extracted verbatim by section."""

from __future__ import annotations

import re
from pathlib import Path

DESIGN = Path(__file__).resolve().parent.parent / "docs" / "database-design.md"
_HEADING = re.compile(r"^#{2,4}\s+(\d+\.\d+)\b")


def sql_blocks(section: str) -> list[str]:
    """Every ```sql block under the heading numbered `section` (e.g. "5.3")."""
    blocks: list[str] = []
    current: str | None = None
    inside: list[str] | None = None
    for line in DESIGN.read_text(encoding="utf-8").splitlines():
        if inside is not None:
            if line.strip() == "```":
                blocks.append("\n".join(inside)) if current == section else None
                inside = None
            else:
                inside.append(line)
            continue
        match = _HEADING.match(line)
        if match:
            current = match.group(1)
        elif line.strip() == "```sql":
            inside = []
    return blocks


def table_queries(section: str) -> dict[str, str]:
    """Metric name -> the query in the last column of the section's table."""
    queries: dict[str, str] = {}
    current: str | None = None
    for line in DESIGN.read_text(encoding="utf-8").splitlines():
        match = _HEADING.match(line)
        if match:
            current = match.group(1)
        elif current == section and line.startswith("|") and "`" in line:
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            queries[cells[0]] = cells[-1].strip("`")
    return queries


def statements(block: str) -> list[str]:
    """The statements of a block, in order, without comment-only fragments."""
    found = []
    for fragment in block.split(";"):
        code = "\n".join(
            line for line in fragment.splitlines() if not line.strip().startswith("--")
        ).strip()
        if code:
            found.append(fragment.strip())
    return found
