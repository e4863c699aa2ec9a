"""Application keys are UUIDv7 and sort by creation time."""

from __future__ import annotations

import time

from db.ids import new_id


def test_new_ids_are_version_7_and_time_ordered() -> None:
    first = new_id()
    time.sleep(0.002)
    later = [new_id() for _ in range(100)]
    assert all(key.version == 7 for key in [first, *later])
    assert all(first.int >> 80 <= key.int >> 80 for key in later)
    assert len(set(later)) == 100
