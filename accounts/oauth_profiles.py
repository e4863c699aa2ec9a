"""Which email address a sign-in provider vouches for, read from the profile it returned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def vouched_email(provider: str, profile: Mapping[str, Any]) -> tuple[str, bool] | None:
    """(the address, whether the provider verified it), or None when it names none. GitHub: the
    primary verified address of the `emails` list (a public profile address, or the login
    name, proves nothing); the others: `email` with their `email_verified` claim."""
    if provider == "github":
        verified = [
            entry for entry in profile.get("emails") or []
            if isinstance(entry, Mapping) and entry.get("verified") is True and entry.get("email")
        ]  # fmt: skip
        verified.sort(key=lambda entry: entry.get("primary") is not True)
        return (str(verified[0]["email"]), True) if verified else None
    email = profile.get("email")
    if not isinstance(email, str) or not email.strip():
        return None
    claim = profile.get("email_verified")
    return email.strip(), claim is True or (isinstance(claim, str) and claim.lower() == "true")
