"""The offers a turn found, one line each, for the faces that show no cards (a terminal) and
for judging what the traveller saw: the chat shows the same offers as cards."""

from __future__ import annotations

from typing import Any

SEARCHES = ("flights", "hotels")


class OfferLines:
    """A turn listener that keeps the answers of the turn's searches (their offers listed)."""

    def __init__(self) -> None:
        self.lines = ""

    async def token(self, text: str) -> None:
        del text

    async def tool_started(self, name: str, arguments: dict[str, Any]) -> None:
        del name, arguments

    async def tool_finished(self, name: str, content: str, artifact: Any) -> None:
        del name
        found = isinstance(artifact, dict) and artifact.get("kind") in SEARCHES
        if found and artifact.get("offers"):
            self.lines += f"\n{content}"
