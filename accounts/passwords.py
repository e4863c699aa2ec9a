"""Passwords, hashed with Argon2id (argon2-cffi): never stored or logged in clear."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 8
MAX_LENGTH = 128  # as db.models.UserCreate: longer only costs hashing time


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


def password_matches(hashed: str | None, password: str) -> bool:
    """Whether `password` is the one `hashed` was made from (False for no hash at all)."""
    if not hashed:
        return False
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
