"""The REST API under schemathesis and hostile requests, in-process (the app's real lifespan
on a test database, no network): no 5xx, every response as the OpenAPI document says, and
garbage ids or missing, forged, expired or stolen-claim tokens get a clear 4xx."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import psycopg
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi

from accounts.directory import Account
from agent.thread_file import read_thread_file
from db.urls import libpq_url
from tests.conftest import app_url
from tests.hostile.conftest import Loop, token_for
from tests.integration.agent_world import stack, traveller

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

REPLAY = "/api/threads/{thread_id}/replay"
EXPORT = "/api/threads/{thread_id}/export"
POSITIVE_EXAMPLES = 120
NEGATIVE_EXAMPLES = 60
HEALTH_EXAMPLES = 5


@dataclass
class Api:
    schema: Any
    threads: dict[str, str]
    """Whose thread: thread id."""
    tokens: dict[str, str | None]
    """Who is asking: the Authorization header sent (None: none)."""
    allowed: dict[str, set[str]]
    """Who is asking: whose threads they may replay."""


def _forged(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, "not-the-secret-" + "x" * 32, algorithm="HS256")


def _unsigned(payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def _tokens(people: dict[str, Account], secret: str, database: str) -> dict[str, str | None]:
    ada = people["ada"]
    claims: dict[str, Any] = {
        "identifier": ada.email,
        "metadata": {"tenant_id": str(ada.tenant_id), "user_id": str(ada.user_id)},
        "exp": int((datetime.now(UTC) + timedelta(hours=1)).timestamp()),
    }
    genuine = token_for(ada, database)
    header, _payload, signature = genuine.split(".")
    as_admin = {**claims, "metadata": {**claims["metadata"], "role": "admin"}}
    tampered = f"{header}.{_unsigned(as_admin).split('.')[1]}.{signature}"
    return {
        **{name: f"Bearer {token_for(person, database)}" for name, person in people.items()},
        "nobody": None,
        "empty": "Bearer ",
        "basic": "Basic YWRhOnNlY3JldA==",
        "garbage": "Bearer not.a.token",
        "forged": f"Bearer {_forged(claims)}",
        "unsigned": f"Bearer {_unsigned({**claims, 'exp': 4102444800})}",
        "tampered": f"Bearer {tampered}",
        "expired": "Bearer "
        + jwt.encode({**claims, "exp": datetime.now(UTC) - timedelta(minutes=1)}, secret),
        "no identifier": "Bearer " + jwt.encode({"metadata": {}, "exp": 4102444800}, secret),
        # Genuine signatures, but their sign-in session is over, or was never kept.
        "signed out": f"Bearer {_signed_out(ada, database)}",
        "sessionless": "Bearer "
        + jwt.encode({**claims, "metadata": {**claims["metadata"], "role": "user"}}, secret),
    }


def _signed_out(traveller: Account, database: str) -> str:
    token = token_for(traveller, database)
    with psycopg.connect(libpq_url(database), autocommit=True) as owner:
        session = jwt.decode(token, options={"verify_signature": False})["metadata"]["session_id"]
        owner.execute("UPDATE user_sessions SET revoked_at = now() WHERE id = %s", (session,))
    return token


@pytest.fixture(scope="module")
def api(module_database: str, web_app: FastAPI, auth_secret: str, loop: Loop) -> Iterator[Api]:
    """Ada and Bob (default tenant; Dora, its admin) and Carol (another tenant, its admin),
    a conversation each; then the app started by schemathesis' in-process client."""
    runtime_url = app_url(module_database)

    async def conversations() -> tuple[dict[str, Account], dict[str, str]]:
        async with stack(module_database, runtime_url) as services:
            people = {
                "ada": await traveller(services, "ada@example.com"),
                "bob": await traveller(services, "bob@example.com"),
            }
            threads = {
                name: (await services.conversations.turn(person, "hello")).thread_id
                for name, person in people.items()
            }
            return people, threads

    people, threads = loop.run(conversations())
    with psycopg.connect(libpq_url(module_database), autocommit=True) as owner:
        other = owner.execute(
            "INSERT INTO tenants (slug, name) VALUES ('other', 'Other') RETURNING id"
        ).fetchone()
        assert other is not None
        for email, tenant in (("dora@example.com", "default"), ("carol@example.com", "other")):
            owner.execute(
                "INSERT INTO users (id, tenant_id, email, role) SELECT gen_random_uuid(), id, %s,"
                " 'admin' FROM tenants WHERE slug = %s",
                (email, tenant),
            )

    async def admins() -> dict[str, Account]:
        async with stack(module_database, runtime_url) as services:
            return {
                "dora": await traveller(services, "dora@example.com"),
                "carol": await _in_tenant(services, "other", "carol@example.com"),
            }

    people.update(loop.run(admins()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", module_database)
        patch.setenv("APP_DATABASE_URL", runtime_url)
        patch.setenv("TRAVELHUB_MAINTENANCE_INTERVAL", "0")
        schema = schemathesis.openapi.from_asgi("/openapi.json", web_app)
        try:
            yield Api(
                schema,
                threads,
                _tokens(people, auth_secret, module_database),
                {"ada": {"ada"}, "bob": {"bob"}, "dora": {"ada", "bob"}, "carol": set()},
            )
        finally:
            asgi.shutdown_lifespans()


async def _in_tenant(services: Any, slug: str, email: str) -> Account:
    from accounts.directory import account_by_email

    return await account_by_email(services.sessions, slug, email, create=False)


def _expected(api: Api, asker: str, thread: str | None) -> set[int]:
    if asker not in api.allowed:
        return {401}
    whose = next((name for name, known in api.threads.items() if known == thread), None)
    if whose is None:
        return {404}
    return {200} if whose in api.allowed[asker] else {403}


def test_the_openapi_document_holds_under_schemathesis(api: Api) -> None:
    """Generated requests (valid and invalid per the schema) with every kind of credential:
    no 5xx, status codes, content types, headers and bodies as documented."""
    replay = api.schema[REPLAY]["GET"]
    health = api.schema["/healthz"]["GET"]
    askers = sorted(api.tokens)
    seen: dict[str, int] = {}

    def send(case: Any, asker: str) -> int:
        header = api.tokens[asker]
        response = case.call_and_validate(headers={"Authorization": header} if header else {})
        seen[asker] = seen.get(asker, 0) + 1
        return int(response.status_code)

    @settings(max_examples=POSITIVE_EXAMPLES, deadline=None, derandomize=True, database=None)
    @given(
        case=replay.as_strategy(GenerationMode.POSITIVE),
        asker=st.sampled_from(askers),
        real=st.sampled_from([None, *sorted(api.threads.values())]),
    )
    def valid_requests(case: Any, asker: str, real: str | None) -> None:
        if real is not None:
            case.path_parameters = {"thread_id": real}
        thread = str(case.path_parameters["thread_id"])
        assert send(case, asker) in _expected(api, asker, thread)

    @settings(
        max_examples=NEGATIVE_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    )
    @given(case=replay.as_strategy(GenerationMode.NEGATIVE), asker=st.sampled_from(askers))
    def invalid_requests(case: Any, asker: str) -> None:
        assert 400 <= send(case, asker) < 500

    @settings(max_examples=HEALTH_EXAMPLES, deadline=None, derandomize=True, database=None)
    @given(case=health.as_strategy(), asker=st.sampled_from(askers))
    def health_checks(case: Any, asker: str) -> None:
        assert send(case, asker) == 200

    valid_requests()
    invalid_requests()
    health_checks()
    print(f"\nschemathesis: {sum(seen.values())} requests by credential {seen}")


GARBAGE_PATHS = [
    "not-a-uuid",
    "00000000-0000-0000-0000-00000000000g",
    "%00",
    "%ff%fe",
    "..%2F..%2Fhealthz",
    "%27%20OR%20%271%27%3D%271",
    "A" * 5_000,
    "00000000-0000-0000-0000-000000000000",
    "{12345678-1234-5678-1234-567812345678}",
    "urn:uuid:12345678-1234-5678-1234-567812345678",
]


@pytest.mark.parametrize("route", [REPLAY, EXPORT])
def test_garbage_ids_and_bad_credentials_get_a_clear_4xx(api: Api, route: str) -> None:
    replay = api.schema[route]["GET"]
    probes = 0
    for asker, header in api.tokens.items():
        headers = {"Authorization": header} if header else {}
        for garbage in GARBAGE_PATHS:
            case = replay.Case(path_parameters={"thread_id": garbage}, headers=headers)
            response = case.call()
            probes += 1
            assert 400 <= response.status_code < 500, (asker, garbage, response.status_code)
            assert response.json()["detail"], response.text
        for whose, thread in api.threads.items():
            case = replay.Case(path_parameters={"thread_id": thread}, headers=headers)
            response = case.call()
            probes += 1
            case.validate_response(response)
            assert response.status_code in _expected(api, asker, thread), (asker, whose)
            if response.status_code == 200:
                assert response.json()["thread_id"] == thread
                if route == EXPORT:  # a file to download, whose owner's password stays home
                    disposition = f'attachment; filename="thread-{thread}.json"'
                    assert response.headers["content-disposition"] == [disposition]
                    exported = read_thread_file(response.content)
                    assert exported.traveller.email == f"{whose}@example.com"
                    assert "hashed_password" not in response.text
            else:
                assert set(response.json()) == {"detail"}
                assert thread not in response.text
    unknown = replay.Case(
        path_parameters={"thread_id": str(uuid.uuid4())},
        headers={"Authorization": str(api.tokens["dora"])},
    ).call()
    probes += 1
    assert unknown.status_code == 404, unknown.text
    # The session cookie of the chat is a credential too, and a forged one is refused alike.
    for asker in ("ada", "forged"):
        header = api.tokens[asker]
        assert header is not None
        case = replay.Case(
            path_parameters={"thread_id": api.threads["ada"]},
            cookies={"access_token": header.removeprefix("Bearer ")},
        )
        response = case.call()
        probes += 1
        assert response.status_code == (200 if asker == "ada" else 401)
    print(f"\nREST: {probes} hostile requests, all 2xx/4xx as expected")


REPLAY_PAGES = ["/replay/{}", "/replay/{}/checkpoints/{}", "/replay/{}/fork"]


def test_the_replay_pages_refuse_garbage_ids_and_bad_credentials(
    api: Api, web_app: FastAPI
) -> None:
    """Every credential against every replay page, with real, unknown and garbage ids: the
    owner or their tenant's admin gets the page; anyone else a 401, 403 or 404 that holds
    nothing of the thread."""
    from fastapi.testclient import TestClient

    probes = 0
    with TestClient(web_app) as client:  # the app's lifespan, as schemathesis runs it
        for asker, header in api.tokens.items():
            headers = {"Authorization": header} if header else {}
            listed = client.get("/replay/", headers=headers)
            probes += 1
            if asker not in api.allowed:
                assert listed.status_code == 401, (asker, listed.status_code)
            for whose, thread in api.threads.items():
                assert (thread in listed.text) == (whose in api.allowed.get(asker, set()))
            for garbage in [*GARBAGE_PATHS, *api.threads.values()]:
                for route in REPLAY_PAGES:
                    path = route.format(garbage, garbage)
                    if route.endswith("fork"):
                        answer = client.post(path, headers=headers, data={"message": "hi"})
                    else:
                        answer = client.get(path, headers=headers)
                    probes += 1
                    allowed = 200 in _expected(api, asker, garbage)
                    expected = _expected(api, asker, garbage) | {404, 405}
                    if route.endswith("fork") and allowed:
                        expected = {403}  # the real thread, without the form's token
                    if "checkpoints" in route and allowed:
                        expected = {404}  # no such checkpoint
                    assert answer.status_code in expected, (asker, path, answer.status_code)
                    if not allowed:
                        assert "@example.com" not in answer.text, (asker, path)
    print(f"\nreplay pages: {probes} hostile requests, none let in")


def test_the_admin_page_shows_a_tenants_figures_to_its_admins_only(
    api: Api, web_app: FastAPI
) -> None:
    """Every credential against /admin: a tenant's admin gets its own tenant's figures, a
    traveller 403 and one sentence, anyone else the sign-in page (or 401 for an ended session);
    nobody's address is on it."""
    from fastapi.testclient import TestClient

    from web.admin_page import NOT_AN_ADMIN

    conversations = {"dora": 2, "carol": 0}  # Ada's and Bob's are the default tenant's
    with TestClient(web_app) as client:  # the app's lifespan, as schemathesis runs it
        for asker, header in api.tokens.items():
            headers = {"Authorization": header} if header else {}
            answer = client.get("/admin", headers=headers, follow_redirects=False)
            if asker in conversations:
                assert answer.status_code == 200, asker
                found = re.search(r'<script id="charts" type="application/json">(.*?)</script>',
                                  answer.text, re.S)  # fmt: skip
                assert found is not None
                assert json.loads(found.group(1))[0]["data"][1][-1] == conversations[asker]
            elif asker in api.allowed:
                assert answer.status_code == 403, asker
                assert NOT_AN_ADMIN in answer.text
            else:
                assert answer.status_code in {303, 401}, (asker, answer.status_code)
                if answer.status_code == 303:
                    assert answer.headers["location"] == "/chat/login"
            if asker not in conversations:
                assert 'id="charts"' not in answer.text, asker
            assert "@example.com" not in answer.text, asker


CALENDAR = "/api/bookings/{reference}/calendar.ics"


def test_a_calendar_file_is_only_for_a_signed_in_travellers_own_booking(api: Api) -> None:
    calendar = api.schema[CALENDAR]["GET"]
    for asker, header in api.tokens.items():
        headers = {"Authorization": header} if header else {}
        for garbage in ["KQ7M2X", *GARBAGE_PATHS]:
            response = calendar.Case(path_parameters={"reference": garbage}, headers=headers).call()
            # (A path that no longer names the route is not found before anyone is asked.)
            refusals = {404} if asker in api.allowed else {401, 404}
            assert response.status_code in refusals, (asker, garbage)
            assert response.json()["detail"], response.text
            assert "BEGIN:VCALENDAR" not in response.text
