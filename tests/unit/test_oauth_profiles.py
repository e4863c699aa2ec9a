"""The address each sign-in provider vouches for: GitHub's primary verified one (never the
public profile address or the login), the others' `email` with their `email_verified` claim."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.oauth_profiles import vouched_email


def github(*emails: dict[str, Any], **profile: Any) -> dict[str, Any]:
    return {"login": "octocat", "id": 1, **profile, "emails": list(emails)}


def test_github_gives_its_primary_verified_address() -> None:
    profile = github(
        {"email": "old@example.com", "primary": False, "verified": True},
        {"email": "main@example.com", "primary": True, "verified": True},
        email="public@example.com",
    )
    assert vouched_email("github", profile) == ("main@example.com", True)


def test_github_without_a_verified_primary_takes_another_verified_one() -> None:
    profile = github(
        {"email": "main@example.com", "primary": True, "verified": False},
        {"email": "work@example.com", "primary": False, "verified": True},
    )
    assert vouched_email("github", profile) == ("work@example.com", True)


@pytest.mark.parametrize(
    "profile",
    [
        github({"email": "main@example.com", "primary": True, "verified": False}),
        github(email="public@example.com"),  # a public profile address proves nothing
        {"login": "octocat"},  # a private address: no emails at all
    ],
    ids=["unverified", "public-only", "none"],
)
def test_github_without_a_verified_address_vouches_for_nobody(profile: dict[str, Any]) -> None:
    assert vouched_email("github", profile) is None


@pytest.mark.parametrize(
    ("claim", "verified"),
    [(True, True), ("true", True), (False, False), ("false", False), (None, False)],
)
def test_google_and_oidc_honour_email_verified(claim: Any, verified: bool) -> None:
    profile = {"sub": "7", "email": " ann@example.com ", "email_verified": claim}
    for provider in ("google", "generic"):
        assert vouched_email(provider, profile) == ("ann@example.com", verified)


def test_no_email_claim_vouches_for_nobody() -> None:
    assert vouched_email("google", {"sub": "7"}) is None
