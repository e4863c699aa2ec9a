"""Passwords, hashed with Argon2id (argon2-cffi): never stored or logged in clear, and never
hashed or checked on the event loop, which serves every chat of the process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 8
MAX_LENGTH = 128  # as db.models.UserCreate: longer only costs hashing time
WORKER_PREFIX = "argon2"
NICENESS = 10
"""How much nicer than the process the hashing threads are (Linux weighs each thread's CPU by
its nice value): a burst of sign-ins takes the CPU the chats leave, and waits when they need it."""


def _yield_to_the_loop() -> None:
    with contextlib.suppress(OSError, AttributeError):  # no per-thread priority: run as is
        thread = threading.get_native_id()
        nice = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, nice + NICENESS))


_WORKERS = ThreadPoolExecutor(
    max_workers=os.cpu_count() or 1,
    thread_name_prefix=WORKER_PREFIX,
    initializer=_yield_to_the_loop,
)
"""Argon2 is CPU work by design: at most one hash per core at a time, beside the event loop."""


def password_problem(password: str) -> str | None:
    """Why `password` may not be used, in one sentence; None when it may."""
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"A password may have at most {MAX_LENGTH} characters."
    return None


def hash_password(password: str) -> str:
    if problem := password_problem(password):
        raise ValueError(problem)
    return _HASHER.hash(password)


@dataclass(frozen=True)
class Verdict:
    matches: bool
    rehashed: str | None = None
    """A new hash of the password when the stored one has outdated parameters."""


@cache
def _nobody() -> str:
    """A hash no account has: checked when there is no hash, so that an unknown address costs
    the same work as a wrong password."""
    return _HASHER.hash(os.urandom(16).hex())


def _check(hashed: str | None, password: str) -> Verdict:
    try:
        matched = _HASHER.verify(hashed or _nobody(), password) and bool(hashed)
    except (VerificationError, InvalidHashError):
        return Verdict(False)
    if matched and hashed and _HASHER.check_needs_rehash(hashed):
        return Verdict(True, _HASHER.hash(password))
    return Verdict(matched)


async def hashed_off_loop(password: str) -> str:
    """`hash_password`, in the hashing workers."""
    return await asyncio.get_running_loop().run_in_executor(_WORKERS, hash_password, password)


async def checked_off_loop(hashed: str | None, password: str) -> Verdict:
    """Whether `password` matches `hashed` (and its upgraded hash, if due), in the hashing
    workers; no hash (no account) costs a full check too."""
    return await asyncio.get_running_loop().run_in_executor(_WORKERS, _check, hashed, password)
