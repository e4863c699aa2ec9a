"""Passwords off the event loop: every check runs in the hashing workers, an address without a
hash costs a full check, and a hash with outdated parameters is upgraded when it matches."""

from __future__ import annotations

import os
import threading

import pytest
from argon2 import PasswordHasher

from accounts import passwords
from accounts.passwords import (
    NICENESS,
    WORKER_PREFIX,
    checked_off_loop,
    hash_password,
    hashed_off_loop,
)

PASSWORD = "correct horse battery"
OLD = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
"""Weaker parameters than today's: a hash made before they were raised."""


class Watched(PasswordHasher):
    """Argon2 as it is, noting on which thread, and at which nice value, each check ran."""

    def __init__(self) -> None:
        super().__init__()
        self.checked_on: list[str] = []
        self.niceness: list[int] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.checked_on.append(threading.current_thread().name)
        self.niceness.append(niceness())
        return super().verify(hash, password)


def niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Watched:
    watched = Watched()
    monkeypatch.setattr(passwords, "_HASHER", watched)
    return watched


async def test_checks_run_in_the_hashing_workers(hasher: Watched) -> None:
    stored = await hashed_off_loop(PASSWORD)
    assert (await checked_off_loop(stored, PASSWORD)).matches
    assert not (await checked_off_loop(stored, "not the password")).matches
    assert len(hasher.checked_on) == 2
    assert all(name.startswith(WORKER_PREFIX) for name in hasher.checked_on)
    assert threading.current_thread().name not in hasher.checked_on


async def test_checks_leave_the_cpu_to_the_event_loop_first(hasher: Watched) -> None:
    await checked_off_loop(None, PASSWORD)
    assert hasher.niceness == [min(19, niceness() + NICENESS)]


async def test_no_hash_costs_a_full_check_and_never_matches(hasher: Watched) -> None:
    verdict = await checked_off_loop(None, PASSWORD)
    assert not verdict.matches
    assert verdict.rehashed is None
    assert len(hasher.checked_on) == 1  # a check against nobody's hash, like a wrong password


async def test_an_outdated_hash_is_upgraded_when_it_matches() -> None:
    stored = OLD.hash(PASSWORD)
    assert not (await checked_off_loop(stored, "not the password")).rehashed
    verdict = await checked_off_loop(stored, PASSWORD)
    assert verdict.matches
    assert verdict.rehashed is not None
    assert not PasswordHasher().check_needs_rehash(verdict.rehashed)
    assert (await checked_off_loop(verdict.rehashed, PASSWORD)).rehashed is None


def test_hashing_refuses_what_the_rules_refuse() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("short")
