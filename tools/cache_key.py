"""Search cache keys: SHA-256 of the canonical JSON of a normalised query."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel

SearchKind = Literal["flight", "hotel"]
CACHE_SCHEMA_VERSION = 1
"""Bump when the shape of cached results changes: old entries then simply miss."""


def canonical_json(value: Any) -> str:
    """One spelling per meaning: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(kind: SearchKind, provider: str, query: BaseModel) -> str:
    """The key of `query` sent to `provider`.

    The query models already normalise (upper-case codes, ISO dates, every default explicit),
    so two spellings of one search dump to the same JSON; the schema version, kind and
    provider are part of the key so that nothing else can collide with it.
    """
    document = {
        "v": CACHE_SCHEMA_VERSION,
        "kind": kind,
        "provider": provider,
        "query": query.model_dump(mode="json"),
    }
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()
