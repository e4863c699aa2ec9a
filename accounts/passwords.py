"""Passwords, hashed with Argon2id (argon2-cffi): never stored or logged in clear."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"A password needs at least {MIN_LENGTH} characters.")
    return _HASHER.hash(password)


def password_matches(hashed: str | None, password: str) -> bool:
    """Whether `password` is the one `hashed` was made from (False for no hash at all)."""
    if not hashed:
        return False
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
