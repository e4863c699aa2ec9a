"""Time-ordered identifiers: UUIDv7 keeps B-tree inserts at the right edge of the index."""

from __future__ import annotations

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A new UUIDv7 (millisecond timestamp first, then randomness)."""
    return uuid7()
