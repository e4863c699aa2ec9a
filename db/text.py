"""Text as PostgreSQL can store it."""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
# A Python string holds code points, so any surrogate in it stands alone: not encodable as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with what PostgreSQL refuses (NUL, lone surrogates) replaced by U+FFFD.

    Anything a traveller types must be kept as typed, bar these, rather than fail a turn.
    """
    return _UNSTORABLE.sub(REPLACEMENT, text)
