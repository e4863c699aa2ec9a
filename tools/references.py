"""Booking references travellers can read out on the phone: six characters, no 0/O or 1/I."""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6


def new_reference() -> str:
    """A random reference (32^6, about a billion, so collisions are rare but retried)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(reference: str) -> str:
    """What a traveller typed, as stored: upper-case, spaces gone, O read as 0 never occurs."""
    return reference.strip().upper().replace(" ", "")
