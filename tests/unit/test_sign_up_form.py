"""The sign-up form's rules: one sentence per wrong field, none for a good form."""

from __future__ import annotations

import pytest

from accounts.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from accounts.sign_up import SignUp
from agent.settings import Settings
from cli.main import way_in

GOOD = SignUp("ada@example.com", "Ada Lovelace", "analytical1", "analytical1", consent=True)


def with_(**changes: object) -> SignUp:
    fields = {**GOOD.__dict__, **changes}
    return SignUp(**fields)  # type: ignore[arg-type]


def test_a_good_form_has_no_problems() -> None:
    assert GOOD.problems() == {}
    assert with_(marketing=True).problems() == {}


@pytest.mark.parametrize(
    ("changes", "field", "sentence"),
    [
        ({"email": ""}, "email", "Enter your email address."),
        ({"email": "ada.example.com"}, "email", "That is not an email address: it looks like"),
        ({"email": "ada@exa\x00mple.com"}, "email", "That is not an email address."),
        ({"email": "Bob <ada@example.com>"}, "email", "Write the email address alone"),
        ({"email": "a" * 250 + "@example.com"}, "email", "That is not an email address."),
        ({"name": "   "}, "name", "Tell us your name."),
        ({"name": "x" * 101}, "name", "A name fits in 100 characters."),
        ({"name": "Ada\x07"}, "name", "A name holds letters, not control characters."),
        ({"password": "short", "repeated": "short"}, "password",
         f"A password needs at least {MIN_LENGTH} characters."),
        ({"password": "p" * (MAX_LENGTH + 1), "repeated": "p" * (MAX_LENGTH + 1)}, "password",
         f"A password may have at most {MAX_LENGTH} characters."),
        ({"repeated": "analytical2"}, "repeated", "The two passwords differ"),
        ({"consent": False}, "consent", "Tick the box: we cannot plan trips without your data."),
    ],
)  # fmt: skip
def test_each_mistake_gets_its_own_sentence(
    changes: dict[str, object], field: str, sentence: str
) -> None:
    problems = with_(**changes).problems()
    assert list(problems) == [field]
    assert problems[field].startswith(sentence)
    assert problems[field].endswith(".")


def test_every_mistake_at_once_is_told_at_once() -> None:
    problems = SignUp("", "", "", "", consent=False).problems()
    assert set(problems) == {"email", "name", "password", "consent"}


def test_hashing_keeps_the_same_password_rules() -> None:
    with pytest.raises(ValueError, match="at least"):
        hash_password("short")
    with pytest.raises(ValueError, match="at most"):
        hash_password("p" * (MAX_LENGTH + 1))


def test_signup_is_on_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")  # no .env file
    monkeypatch.delenv("TRAVELHUB_SIGNUP", raising=False)
    assert Settings().signup is True
    monkeypatch.setenv("TRAVELHUB_SIGNUP", "off")
    assert Settings().signup is False


def test_serve_says_how_to_get_in() -> None:
    url = "http://127.0.0.1:8000"
    opened = way_in(Settings(TRAVELHUB_SIGNUP=True), url)  # type: ignore[call-arg]
    assert opened.startswith(f"Open {url} and create an account")
    assert "travelhub users create --email" in opened
    closed = way_in(Settings(TRAVELHUB_SIGNUP=False), url)  # type: ignore[call-arg]
    assert "create an account" not in closed
    assert "travelhub users create --email" in closed
