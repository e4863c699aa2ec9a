"""A thread file carries a conversation to another database: exported, imported into a fresh
one, it replays there with the same transcript and checkpoint timeline, and forks from the
recording without ordering anything; a broken file is refused in one sentence."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from accounts.directory import OAuthIdentity, authenticate, sign_in_with
from accounts.token_cipher import TokenCipher
from agent.thread_file import FORMAT
from cli.main import app
from db.urls import libpq_url
from tests.conftest import app_url, create_database, drop_database
from tests.integration.agent_world import stack, traveller

pytestmark = pytest.mark.integration
SEARCH = "Flights from Madrid to Lisbon in 3 weeks"


@pytest.fixture
async def recorded(database: str, runtime_database: str) -> dict[str, Any]:
    """A search edited into another, a booking question and a booking, on one thread."""
    async with stack(database, runtime_database) as services:
        ada = await traveller(services)
        edited = str(uuid.uuid4())
        first = await services.conversations.turn(
            ada, "Flights from Madrid to Paris in 3 weeks", ui_id=edited
        )
        thread = first.thread_id
        for text, ui_id in ((SEARCH, edited), ("book the cheapest", None), ("yes", None)):
            await services.conversations.turn(
                ada, text, thread_id=thread, ui_id=ui_id or str(uuid.uuid4())
            )
    return {"thread": thread, "database": database}


@pytest.fixture
def elsewhere(server_url: str, template_database: str) -> Iterator[str]:
    """A developer's database: freshly migrated, nothing in it."""
    name = f"th_test_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name, template=template_database)
    yield url
    drop_database(server_url, name)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def on(monkeypatch: pytest.MonkeyPatch, database: str) -> None:
    """Point the command line at `database`."""
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("APP_DATABASE_URL", app_url(database))


def invoke(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, (result.stderr, result.exception)
    return result.stdout


def replayed(cli: CliRunner, thread: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(invoke(cli, "replay", thread, "--json"))
    return document


def counts(database: str) -> tuple[Any, ...]:
    with psycopg.connect(libpq_url(database)) as owner:
        row = owner.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM chat_sessions),"
            " (SELECT count(*) FROM chat_messages), (SELECT count(*) FROM checkpoints),"
            " (SELECT count(*) FROM checkpoint_blobs), (SELECT count(*) FROM bookings),"
            " (SELECT count(*) FROM analytics_events WHERE event_type = 'search_performed')"
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_an_imported_thread_replays_and_forks_as_the_original(
    recorded: dict[str, Any],
    elsewhere: str,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    thread, file = recorded["thread"], tmp_path / "thread.json"
    on(monkeypatch, recorded["database"])
    original = replayed(cli, thread)
    said = invoke(cli, "replay", "export", thread, "-o", str(file))
    assert said.strip() == f"Wrote conversation {thread} to {file}."
    document = json.loads(file.read_text())
    assert document["format"] == FORMAT
    assert document["traveller"] == {
        "email": "ada@example.com", "full_name": None, "locale": None, "preferred_currency": None
    }  # fmt: skip
    assert sum(1 for m in document["messages"] if m["superseded_at"]) == 4  # the edited turn
    assert [s["arguments"]["destination"] for s in document["tool_records"]["searches"]] == ["LIS"]
    [booking] = document["tool_records"]["bookings"]
    assert booking["status"] == "confirmed"
    assert booking["items"][0]["flight"]["destination"] == "LIS"
    assert "ada@example.com" not in json.dumps(document["tool_records"])  # no contact details
    assert "hashed_password" not in file.read_text()

    on(monkeypatch, elsewhere)
    imported = cli.invoke(app, ["replay", "import", str(file)])
    assert imported.exit_code == 0, imported.stderr
    assert imported.stdout.strip() == thread  # the id was free here: kept
    assert "ada@example.com, a new traveller who cannot sign in" in imported.stderr
    assert replayed(cli, thread) == original

    # A fork of the imported thread: the search is answered from the recording, and the
    # booking it confirms is simulated.
    # The checkpoint right after the (edited) search was answered: the Lisbon one.
    answered = [c for c in original["checkpoints"] if c["next"] == [] and c["messages"] == 4]
    after_search = answered[-1]
    before = counts(elsewhere)
    fork_from = ["replay", thread, "--fork", after_search["checkpoint_id"], "--json"]
    forked = json.loads(invoke(cli, *fork_from, "--message", SEARCH))
    assert "flights Madrid (MAD) to Lisbon (LIS)" in forked["reply"]
    asked = json.loads(
        invoke(
            cli,
            "chat",
            "--user",
            "ada@example.com",
            "--thread",
            forked["thread_id"],
            "--json",
            "book option 1",
        )
    )
    assert asked["awaiting_confirmation"] is True
    confirmed = json.loads(
        invoke(
            cli,
            "chat",
            "--user",
            "ada@example.com",
            "--thread",
            forked["thread_id"],
            "--json",
            "yes",
        )
    )
    assert confirmed["reply"] == "Sandbox replay: the booking was simulated; no order was placed."
    after = counts(elsewhere)
    assert after[5:] == before[5:]  # no booking, no search of the inventory


def test_an_id_taken_here_gets_a_new_one_and_the_traveller_is_reused(
    recorded: dict[str, Any], cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    thread, file = recorded["thread"], tmp_path / "thread.json"
    on(monkeypatch, recorded["database"])
    file.write_text(invoke(cli, "replay", "export", thread))
    users = counts(recorded["database"])[0]
    imported = cli.invoke(app, ["replay", "import", str(file), "--tenant", "default"])
    assert imported.exit_code == 0, imported.stderr
    copy = imported.stdout.strip()
    assert copy != thread
    assert f"as {copy}, its id being taken in this database" in imported.stderr
    assert counts(recorded["database"])[0] == users  # ada, found by her address
    original, again = replayed(cli, thread), replayed(cli, copy)
    assert again == {**original, "thread_id": copy}
    with psycopg.connect(libpq_url(recorded["database"])) as owner:
        supersedes = owner.execute(
            "SELECT m.attributes->>'supersedes', (SELECT s2.thread_id FROM chat_messages m2"
            " JOIN chat_sessions s2 ON s2.id = m2.session_id"
            " WHERE m2.id::text = m.attributes->>'supersedes')"
            " FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id"
            " WHERE s.thread_id = %s AND m.attributes ? 'supersedes'",
            (uuid.UUID(copy),),
        ).fetchall()
    assert [str(row[1]) for row in supersedes] == [copy]  # the edit names the copy's message


def test_an_imported_traveller_cannot_sign_in(
    recorded: dict[str, Any],
    elsewhere: str,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    file = tmp_path / "thread.json"
    on(monkeypatch, recorded["database"])
    file.write_text(invoke(cli, "replay", "export", recorded["thread"]))
    on(monkeypatch, elsewhere)
    invoke(cli, "replay", "import", str(file))

    async def sign_ins() -> tuple[Any, Any]:
        async with stack(elsewhere, app_url(elsewhere)) as services:
            provider = OAuthIdentity("github", "7", "ada@example.com", True, "Ada", "token")
            cipher = TokenCipher([Fernet.generate_key().decode()])
            return (
                await authenticate(services.sessions, "ada@example.com", ""),
                await sign_in_with(services.sessions, cipher, provider, default_tenant="default"),
            )

    assert asyncio.run(sign_ins()) == (None, None)
    with psycopg.connect(libpq_url(elsewhere)) as owner:
        assert owner.execute("SELECT status, hashed_password FROM users").fetchall() == [
            ("suspended", None)
        ]
        assert owner.execute("SELECT count(*) FROM oauth_accounts").fetchone() == (0,)


def _broken(document: dict[str, Any]) -> dict[str, str]:
    """Files that are not thread files, each with what its refusal says."""
    missing = {k: v for k, v in document.items() if k != "checkpoints"}
    twice = {**document, "checkpoints": document["checkpoints"] * 2}
    return {
        "not json {": "not JSON",
        json.dumps([1, 2]): "not a thread file",
        json.dumps({**document, "format": "travelhub-thread/9"}): "this version reads",
        json.dumps(missing): "broken at checkpoints: Field required.",
        json.dumps({**document, "thread_id": "nope"}): "broken at thread_id",
        json.dumps({**document, "checkpoint_schema": 999}): "checkpoint migration 999",
        # Written half-way (its messages), then refused: nothing of it stays.
        json.dumps(twice): "the database refused the command",
    }


def test_a_broken_file_is_one_sentence_and_writes_nothing(
    recorded: dict[str, Any],
    elsewhere: str,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    on(monkeypatch, recorded["database"])
    document = json.loads(invoke(cli, "replay", "export", recorded["thread"]))
    on(monkeypatch, elsewhere)
    before = counts(elsewhere)
    cases = [(tmp_path / "absent.json", "cannot read")]
    for number, (text, sentence) in enumerate(_broken(document).items()):
        path = tmp_path / f"broken-{number}.json"
        path.write_text(text)
        cases.append((path, sentence))
    for path, sentence in cases:
        result = cli.invoke(app, ["replay", "import", str(path)])
        assert result.exit_code == 1, (path.read_text()[:40], result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("travelhub: ")
        assert sentence in lines[0], lines[0]
        assert "Traceback" not in result.stderr
    assert counts(elsewhere) == before
    exported = cli.invoke(app, ["replay", "export", str(uuid.UUID(int=0))])
    assert exported.exit_code == 1
    assert exported.stderr.strip() == f"travelhub: There is no conversation {uuid.UUID(int=0)}."
