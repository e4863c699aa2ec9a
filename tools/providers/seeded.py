"""Deterministic randomness for the offline inventory: the same words, the same numbers."""

from __future__ import annotations

import hashlib
import random


def rng(*parts: object) -> random.Random:
    """A random generator seeded by `parts`, identical on every machine and every run."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def token(*parts: object, length: int = 20) -> str:
    """A stable identifier derived from `parts`."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:length]
