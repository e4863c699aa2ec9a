"""Which turns run now: at most so many at once, each within its deadline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


class DeadlinePassed(Exception):
    """The turn was stopped at its deadline."""


@dataclass
class Admission:
    """Admits turns: beyond `max_concurrent` they wait before they start, holding nothing, and
    a turn (its wait included) still running after `deadline_seconds` is stopped."""

    deadline_seconds: float | None = None
    """None: never stopped."""
    max_concurrent: int | None = None
    """None: no limit. A turn admitted runs at the machine's pace instead of every turn
    crawling while holding pooled connections until some wait past their pool's timeout."""
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    _running: int = field(default=0, init=False, repr=False)
    _idle: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_concurrent is not None:
            self._slots = asyncio.Semaphore(self.max_concurrent)

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Run a turn inside this: it raises `DeadlinePassed` when the turn (its wait for a
        slot included) outlives its deadline."""
        deadline = asyncio.timeout(self.deadline_seconds)
        self._running += 1
        self._idle.clear()
        try:
            async with deadline, self._slots or contextlib.nullcontext():
                yield
        except TimeoutError:
            if deadline.expired():
                raise DeadlinePassed from None
            raise
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def wait_until_idle(self, within: float | None) -> bool:
        """Wait until no turn is running, `within` seconds at most; whether none is."""
        if self._running == 0:
            return True
        try:
            async with asyncio.timeout(within):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True
