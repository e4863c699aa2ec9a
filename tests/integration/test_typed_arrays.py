"""Typed arrays (db/typed_arrays.py) reach PostgreSQL exactly as psycopg's own lists do."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.adapt import PyFormat
from psycopg.types.json import Json, Jsonb

from db.engine import create_checkpoint_pool
from db.typed_arrays import (
    ByteaArray,
    IntArray,
    JsonbArray,
    TextArray,
    UuidArray,
    register_typed_arrays,
)
from db.urls import libpq_url

pytestmark = pytest.mark.integration

COLUMNS: list[tuple[str, type[list[Any]], list[Any]]] = [
    ("uuid", UuidArray, [uuid.uuid4(), None, uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]),
    ("text", TextArray, ["plain", "", None, "Zürich → 東京 🌍", 'a " \\ {}', "NULL"]),
    (
        "jsonb",
        JsonbArray,
        [
            json.dumps({"city": "São Paulo", "n": [1, 2.5, None]}),
            None,
            Jsonb({"checkpoint": {"v": 4, "channels": ["messages"]}}),
            '"a string"',
        ],
    ),
    ("int", IntArray, [0, None, -(2**31), 2**31 - 1, 1200]),
    ("bytea", ByteaArray, [b"\x00\xff\x00", None, b"", bytes(range(256)) * 40]),
]


@pytest.fixture
def connection(server_url: str) -> Any:
    with psycopg.connect(libpq_url(server_url), autocommit=True) as typed:
        register_typed_arrays(typed.adapters)
        yield typed


def _plain(kind: type[list[Any]], values: list[Any]) -> list[Any]:
    """The same values as psycopg's own list dumper takes them (one type per list)."""
    if kind is JsonbArray:
        return [Jsonb(json.loads(value)) if isinstance(value, str) else value for value in values]
    return list(values)


@pytest.mark.parametrize(("sql_type", "kind", "values"), COLUMNS, ids=[c[0] for c in COLUMNS])
def test_each_typed_array_arrives_as_psycopgs_own_list_would(
    connection: psycopg.Connection[Any], sql_type: str, kind: type[list[Any]], values: list[Any]
) -> None:
    cast = f"%b::{sql_type}[]"
    typed, plain, length, has_null = connection.execute(
        f"SELECT {cast}, {cast}, cardinality({cast}), array_position({cast}, NULL) IS NOT NULL",
        (kind(values), _plain(kind, values), kind(values), kind(values)),
    ).fetchone() or (None, None, None, None)
    assert typed == plain
    assert length == len(values)
    assert has_null is (None in values)
    assert connection.adapters.get_dumper(kind, PyFormat.BINARY).__module__ == "db.typed_arrays"


@pytest.mark.parametrize(
    ("sql_type", "kind"), [c[:2] for c in COLUMNS], ids=[c[0] for c in COLUMNS]
)
def test_an_empty_typed_array_is_an_empty_array_of_its_type(
    connection: psycopg.Connection[Any], sql_type: str, kind: type[list[Any]]
) -> None:
    cast = f"%b::{sql_type}[]"
    row = connection.execute(
        f"SELECT {cast}, pg_typeof({cast})::text, cardinality({cast})", (kind(), kind(), kind())
    ).fetchone()
    assert row == ([], f"{'integer' if sql_type == 'int' else sql_type}[]", 0)


def test_unnest_lines_typed_columns_up_row_by_row(connection: psycopg.Connection[Any]) -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    rows = connection.execute(
        "SELECT * FROM unnest(%b::uuid[], %b::text[], %b::int[], %b::jsonb[]) ORDER BY 3",
        (
            UuidArray(ids),
            TextArray(["a", None, "c"]),
            IntArray([1, 2, 3]),
            JsonbArray(['{"k": 1}', None, Jsonb([3])]),
        ),
    ).fetchall()
    assert rows == [(ids[0], "a", 1, {"k": 1}), (ids[1], None, 2, None), (ids[2], "c", 3, [3])]


@pytest.mark.parametrize(
    "column",
    [
        UuidArray([uuid.uuid4(), "not a uuid"]),  # type: ignore[list-item]
        IntArray([1, 2**31]),
        IntArray([1.5]),  # type: ignore[list-item]
        TextArray([b"bytes"]),  # type: ignore[list-item]
        JsonbArray([Json({"json, not jsonb": 1})]),
    ],
    ids=["uuid", "int4 range", "float", "bytes as text", "json wrapper"],
)
def test_a_value_its_column_cannot_hold_is_a_data_error_before_anything_is_sent(
    connection: psycopg.Connection[Any], column: list[Any]
) -> None:
    with pytest.raises(psycopg.DataError, match="does not fit its type"):
        connection.execute("SELECT %b", (column,))
    assert connection.execute("SELECT 1").fetchone() == (1,)  # the connection is still fine


async def test_the_chat_logs_pool_dumps_typed_arrays_itself(runtime_database: str) -> None:
    pool = create_checkpoint_pool(runtime_database, min_size=1, max_size=1)
    await pool.open(wait=True)
    try:
        async with pool.connection() as pooled:
            dumper = pooled.adapters.get_dumper(TextArray, PyFormat.BINARY)
            assert dumper.__module__ == "db.typed_arrays"
            # and lists it was not told about are still psycopg's
            assert pooled.adapters.get_dumper(list, PyFormat.BINARY).__module__.startswith(
                "psycopg"
            )
    finally:
        await pool.close()
