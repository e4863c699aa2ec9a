"""Sign-up: a newcomer's own account, checked field by field, created with their consent."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.directory import Account, AccountExists, Consent, create_account
from accounts.passwords import password_problem
from db.text import storable

EMAIL_MAX = 255  # users.email
NAME_MAX = 100  # users.full_name
_EMAIL = TypeAdapter(EmailStr)
EMAIL_TAKEN = "That email address already has an account: sign in instead."


@dataclass(frozen=True)
class SignUp:
    """What a newcomer typed into the sign-up form."""

    email: str
    name: str
    password: str
    repeated: str
    """The password typed a second time."""
    consent: bool
    """May we process their travel data (required)."""
    marketing: bool = False
    """May we send them offers (optional)."""

    def problems(self) -> dict[str, str]:
        """One sentence per field that is wrong, by the field's name; empty when all is well."""
        found: dict[str, str] = {}
        if problem := _email_problem(self.email):
            found["email"] = problem
        name = self.name.strip()
        if not name:
            found["name"] = "Tell us your name."
        elif len(name) > NAME_MAX:
            found["name"] = f"A name fits in {NAME_MAX} characters."
        elif storable(name) != name or not name.isprintable():
            found["name"] = "A name holds letters, not control characters."
        if problem := password_problem(self.password):
            found["password"] = problem
        elif self.repeated != self.password:
            found["repeated"] = "The two passwords differ: type the same one twice."
        if not self.consent:
            found["consent"] = "Tick the box: we cannot plan trips without your data."
        return found


class SignUpRefused(ValueError):
    """The form had mistakes; `problems` holds one sentence per wrong field."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = problems


def _email_problem(email: str) -> str | None:
    address = email.strip()
    if not address:
        return "Enter your email address."
    if len(address) > EMAIL_MAX or storable(address) != address:
        return "That is not an email address."
    try:
        understood = str(_EMAIL.validate_python(address))
    except ValidationError:
        return "That is not an email address: it looks like name@example.com."
    if understood.lower() != address.lower():  # "Name <name@example.com>": the address alone
        return "Write the email address alone, like name@example.com."
    return None


async def sign_up(
    sessions: async_sessionmaker[AsyncSession], form: SignUp, *, tenant_slug: str
) -> Account:
    """The newcomer's account in the tenant, their consent recorded; SignUpRefused with one
    sentence per mistake (an address already in use included) and nothing written otherwise."""
    if problems := form.problems():
        raise SignUpRefused(problems)
    try:
        traveller = await create_account(
            sessions,
            tenant_slug=tenant_slug,
            email=form.email,
            password=form.password,
            name=form.name.strip(),
            consent=Consent(marketing=form.marketing),
        )
    except AccountExists:
        raise SignUpRefused({"email": EMAIL_TAKEN}) from None
    return traveller
