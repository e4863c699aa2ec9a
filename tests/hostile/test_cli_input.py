"""`travelhub` given garbage: invalid and UUID-looking ids, other people's threads and
bookings, NUL bytes, undecodable bytes, markup. Every refusal is exit 1 and one sentence on
stderr; nothing is written; a transcript full of markup and escape codes still prints."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from db.urls import libpq_url
from tests import factories
from tests.conftest import app_url

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

LONG = "A" * 10_000
GARBAGE_IDS = [
    "not-a-uuid",
    "",
    "\x00",
    "x\udcff",  # an undecodable byte on the command line arrives as a lone surrogate
    "00000000-0000-0000-0000-00000000000g",
    "' OR '1'='1",
    "../../etc/passwd",
    LONG,
]
GARBAGE_REFERENCES = ["\x00", "x\udcff", "' OR 1=1 --", "%", "_____", LONG, "ABC\x00234"]


@pytest.fixture(scope="module")
def people(module_database: str) -> Iterator[dict[str, Any]]:
    """Ada and Bob in the default tenant, Carol in another: a thread and a booking each."""
    with psycopg.connect(libpq_url(module_database), autocommit=True) as owner:
        default = owner.execute("SELECT id FROM tenants WHERE slug = 'default'").fetchone()
        assert default is not None
        acme = factories.tenant(owner, "acme")
        found: dict[str, Any] = {"database": module_database}
        for name, tenant in (("ada", default[0]), ("bob", default[0]), ("carol", acme)):
            user = factories.user(owner, tenant, email=f"{name}@example.com")
            session = factories.chat_session(owner, tenant, user)
            factories.chat_message(owner, tenant, session)
            reference = factories._reference()
            factories.booking(owner, tenant, user, reference=reference)
            thread = owner.execute(
                "SELECT thread_id FROM chat_sessions WHERE id = %s", (session,)
            ).fetchone()
            assert thread is not None
            found[name] = {"thread": str(thread[0]), "reference": reference, "tenant": tenant}
        yield found


@pytest.fixture
def cli(people: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", people["database"])
    monkeypatch.setenv("APP_DATABASE_URL", app_url(people["database"]))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def _counts(database: str) -> tuple[Any, ...]:
    with psycopg.connect(libpq_url(database)) as owner:
        row = owner.execute(
            "SELECT (SELECT count(*) FROM chat_sessions), (SELECT count(*) FROM chat_messages),"
            " (SELECT count(*) FROM bookings WHERE status = 'confirmed'),"
            " (SELECT count(*) FROM users)"
        ).fetchone()
    assert row is not None
    return tuple(row)


def refused(result: Result) -> str:
    """The one sentence a refused command printed (asserting it refused properly)."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("travelhub: ")
    assert lines[0].endswith((".", "?")), lines[0]
    return lines[0]


def _cases(people: dict[str, Any]) -> list[tuple[list[str], str]]:
    """(arguments, what the sentence must say) for every refusal probed."""
    ada, bob, carol = people["ada"], people["bob"], people["carol"]
    as_ada = ["--user", "ada@example.com"]
    cases: list[tuple[list[str], str]] = []
    for garbage in GARBAGE_IDS:
        cases.append((["chat", *as_ada, "--thread", garbage, "hi"], "is not a conversation id"))
        cases.append((["replay", garbage], "is not a conversation id"))
    for stranger in (bob, carol):  # same tenant, other tenant: the same answer
        cases.append((["chat", *as_ada, "--thread", stranger["thread"], "hi"], "no conversation"))
        cases.append((["bookings", "show", stranger["reference"], *as_ada], "found no booking"))
        cases.append((["bookings", "cancel", stranger["reference"], *as_ada], "found no booking"))
    cases += [
        (["chat", *as_ada, "--thread", carol["thread"], "--tenant", "acme", "hi"], "email"),
        (["chat", "--user", "carol@example.com", "--thread", ada["thread"], "hi"], "email"),
        (["chat", "--user", "carol@example.com", "--tenant", "acme", "--thread", ada["thread"],
          "hi"], "no conversation"),
        (["replay", str(uuid.UUID(int=0))], "no conversation"),
        (["replay", ada["thread"], "--fork", "1f0-not-a-checkpoint", "--message", "hi"],
         "no checkpoint"),
        (["replay", ada["thread"], "--fork", "x"], "go together"),
        (["bookings", "show", bob["reference"], "--tenant", "acme"], "found no booking"),
        (["bookings", "list", "--user", "carol@example.com"], "email"),
        (["bookings", "list", "--user", "ada@example.com", "--tenant", "'; DROP TABLE x; --"],
         "no tenant"),
    ]  # fmt: skip
    for garbage in GARBAGE_REFERENCES:
        cases.append((["bookings", "show", garbage, *as_ada], ""))
        cases.append((["bookings", "cancel", garbage, *as_ada], ""))
    for who in ("", "not-an-email", "a\x00@example.com", "x\udcff@example.com"):
        cases.append((["chat", "--user", who, "hi"], ""))
        cases.append((["bookings", "list", "--user", who], ""))
    for tenant in ("nope", "\x00", "x\udcff"):
        cases.append((["chat", *as_ada, "--tenant", tenant, "hi"], ""))
    cases += [
        (["search", "flights", "\x00", "PAR", "2030-01-01"], "airport"),
        (["search", "flights", "LON", "x\udcff", "2030-01-01"], "airport"),
        (["search", "flights", "LON", "PAR", "2030-02-31"], "not a date"),
        (["search", "hotels", "PAR", "2030-01-03", "2030-01-01"], ""),
        (["users", "create", "--email", "b\x00@example.com", "--password", "long enough"], ""),
        (["users", "create", "--email", "ada@example.com", "--password", "long enough"],
         "already"),
        (["users", "set-password", "--email", "a\x00@example.com", "--password", "long enough"],
         "No account"),
        (["users", "set-password", "--email", "x\udcff@example.com", "--password",
          "long enough"], "No account"),
        (["users", "set-password", "--email", "ada@example.com", "--password", "short"],
         "at least 8"),
    ]  # fmt: skip
    return cases


def test_every_refusal_is_one_sentence_and_writes_nothing(
    cli: CliRunner, people: dict[str, Any]
) -> None:
    before = _counts(people["database"])
    cases = _cases(people)
    for arguments, sentence in cases:
        said = refused(cli.invoke(app, arguments))
        assert sentence in said, (arguments, said)
    assert _counts(people["database"]) == before
    print(f"\nCLI: {len(cases)} refusals, each exit 1 and one sentence")


def test_hostile_messages_are_answered_and_stored_as_typed(
    cli: CliRunner, people: dict[str, Any]
) -> None:
    for message in ("a\x00b", "x\udcffy", "[/bold]\x1b[2J"):
        result = cli.invoke(app, ["chat", "--user", "ada@example.com", "--json", message])
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        assert json.loads(result.stdout)["reply"]
    too_long = cli.invoke(app, ["chat", "--user", "ada@example.com", "--json", "x" * 100_000])
    assert too_long.exit_code == 0
    assert json.loads(too_long.stdout)["reply"].startswith("That message is too long for me")
    with psycopg.connect(libpq_url(people["database"])) as owner:
        stored = {
            row[0]
            for row in owner.execute(
                "SELECT m.content FROM chat_messages m JOIN users u ON u.id = ("
                " SELECT user_id FROM chat_sessions WHERE id = m.session_id)"
                " WHERE u.email = 'ada@example.com' AND m.role = 'user'"
            )
        }
    assert {"a\ufffdb", "x\ufffdy", "[/bold]\x1b[2J"} <= stored


def test_a_transcript_of_markup_and_escape_codes_prints_as_text(
    cli: CliRunner, people: dict[str, Any]
) -> None:
    ada = people["ada"]
    with psycopg.connect(libpq_url(people["database"]), autocommit=True) as owner:
        session = owner.execute(
            "SELECT id FROM chat_sessions WHERE thread_id = %s", (ada["thread"],)
        ).fetchone()
        assert session is not None
        factories.chat_message(
            owner, ada["tenant"], session[0], content="[/bold] [red]x[/red] \x1b]0;pwned\x07"
        )
    result = cli.invoke(app, ["replay", ada["thread"]])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "[/bold] [red]x[/red]" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\\x1b]0;pwned\\x07" in result.stdout


def test_undecodable_bytes_on_a_real_command_line_are_one_sentence(
    people: dict[str, Any],
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": people["database"],
        "APP_DATABASE_URL": app_url(people["database"]),
        "LC_ALL": "C.UTF-8",
    }
    undecodable = b"\xff\xfe".decode(errors="surrogateescape")  # sent as the raw bytes
    command = [sys.executable, "-m", "cli", "bookings", "show", undecodable]
    result = subprocess.run(
        [*command, "--user", "ada@example.com"],
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert b"Traceback" not in result.stderr
    assert result.stderr.decode(errors="replace").strip().startswith("travelhub: ")
