"""Connection strings are rewritten without losing or leaking anything."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from db.urls import (
    DatabaseUrlError,
    libpq_url,
    redacted,
    runtime_url,
    sqlalchemy_url,
    with_database,
)

EMBEDDED = "postgresql://postgres:@/travelhub?host=/tmp/socket dir"


def test_runtime_url_keeps_server_and_database_and_swaps_the_login() -> None:
    url = runtime_url("postgresql://owner:s3cret@db.internal:6432/travel", password="app-pw")
    assert url == "postgresql://travelhub_app:app-pw@db.internal:6432/travel"
    assert runtime_url("postgresql://owner:s3cret@db/travel", password=None) == (
        "postgresql://travelhub_app@db/travel"
    )


def test_unix_socket_urls_survive_every_rewrite() -> None:
    options = conninfo_to_dict(libpq_url(sqlalchemy_url(EMBEDDED)))
    assert options == {"user": "postgres", "host": "/tmp/socket dir", "dbname": "travelhub"}
    moved = conninfo_to_dict(libpq_url(with_database(EMBEDDED, "postgres")))
    assert moved["dbname"] == "postgres"
    assert moved["host"] == "/tmp/socket dir"


def test_driver_suffixes() -> None:
    assert sqlalchemy_url("postgresql://u@h/d").startswith("postgresql+psycopg://")
    assert conninfo_to_dict(libpq_url("postgresql+psycopg://u:p@h:5433/d")) == {
        "user": "u", "password": "p", "host": "h", "port": "5433", "dbname": "d",
    }  # fmt: skip
    assert sqlalchemy_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"


def test_redacted_hides_the_password_and_reads_well() -> None:
    assert redacted("postgresql://owner:s3cret@db/travel") == "travel on db:5432 as owner"
    assert redacted(EMBEDDED) == "travelhub on /tmp/socket dir as postgres"


@pytest.mark.parametrize("url", ["sqlite:///travel.db", "mysql://u@h/d", "::not a url::"])
def test_non_postgresql_urls_are_refused_with_a_sentence(url: str) -> None:
    with pytest.raises(DatabaseUrlError, match=r"^DATABASE_URL .*\.$"):
        sqlalchemy_url(url)
