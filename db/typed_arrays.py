"""One-dimensional arrays whose element type is known, dumped in PostgreSQL's binary format.

A column wrapped in one of these classes says its type, and its dumper writes the array in one
pass, where psycopg's own list dumper inspects each list and dumps item by item (why it
matters: docs/performance.md). Register the dumpers on the connections that send them
(`register_typed_arrays`); wrap each column in the class its SQL casts it to.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any, ClassVar, TypeVar

import psycopg
from psycopg.abc import AdaptContext
from psycopg.adapt import AdaptersMap, Dumper, PyFormat, RecursiveDumper
from psycopg.postgres import types
from psycopg.pq import Format
from psycopg.types.json import Jsonb

_HEADER = struct.Struct(">iiiii")
"""Dimensions (1), whether any element is NULL, element type, length, lower bound (1)."""
_EMPTY = struct.Struct(">iii")
_LENGTH = struct.Struct(">i").pack
_NULL = _LENGTH(-1)
_INT4 = struct.Struct(">i").pack
_UUID_LENGTH = _LENGTH(16)
_INT4_LENGTH = _LENGTH(4)
_T = TypeVar("_T")
JSONB_VERSION = b"\x01"
"""jsonb's binary format: a version byte, then the JSON text."""


class TypedArray(list[_T]):
    """A column of values of one PostgreSQL type, `sql_type` (what its parameter is cast to)."""

    sql_type: ClassVar[str]


class UuidArray(TypedArray[uuid.UUID | None]):
    sql_type = "uuid[]"


class TextArray(TypedArray[str | None]):
    sql_type = "text[]"


class JsonbArray(TypedArray[Any]):
    """JSON text, or psycopg `Jsonb` wrappers."""

    sql_type = "jsonb[]"


class IntArray(TypedArray[int | None]):
    sql_type = "int[]"


class ByteaArray(TypedArray[bytes | None]):
    sql_type = "bytea[]"


def _oids(name: str) -> tuple[int, int]:
    """(array type, element type) of a builtin PostgreSQL type."""
    info = types.get(name)
    if info is None:  # pragma: no cover - psycopg knows every builtin type
        raise LookupError(f"PostgreSQL type {name} is unknown to psycopg.")
    return info.array_oid, info.oid


class _TypedArrayDumper(Dumper):
    format = Format.BINARY
    element_oid: int

    def __init__(self, cls: type, context: AdaptContext | None = None) -> None:
        super().__init__(cls, context)
        self.encoding = self.connection.info.encoding if self.connection else "utf-8"

    def framed(self, values: list[Any]) -> list[bytes]:
        """Each value as the array holds it: its length, then its bytes (or NULL's marker).
        One comprehension per type: a call per value was most of the dumping time."""
        raise NotImplementedError

    def dump(self, obj: list[Any]) -> bytes:
        if not obj:
            return _EMPTY.pack(0, 0, self.element_oid)
        try:
            parts = self.framed(obj)
        except (AttributeError, TypeError, struct.error) as error:
            raise psycopg.DataError(
                f"A value of a {type(obj).__name__} does not fit its type: {error}."
            ) from None
        # A value's frame starts with its length, never -1: only NULL's marker equals it.
        parts.insert(0, _HEADER.pack(1, _NULL in parts, self.element_oid, len(obj), 1))
        return b"".join(parts)


class _UuidArrayDumper(_TypedArrayDumper):
    oid, element_oid = _oids("uuid")

    def framed(self, values: list[uuid.UUID | None]) -> list[bytes]:
        return [_NULL if v is None else _UUID_LENGTH + v.int.to_bytes(16) for v in values]


class _TextArrayDumper(_TypedArrayDumper):
    oid, element_oid = _oids("text")

    def framed(self, values: list[str | None]) -> list[bytes]:
        encoding = self.encoding
        return [
            _NULL if v is None else _LENGTH(len(data := v.encode(encoding))) + data for v in values
        ]


class _JsonbArrayDumper(_TypedArrayDumper, RecursiveDumper):
    oid, element_oid = _oids("jsonb")

    def framed(self, values: list[str | Jsonb | None]) -> list[bytes]:
        encoding = self.encoding
        return [
            _NULL
            if v is None
            else _LENGTH(len(data := JSONB_VERSION + v.encode(encoding))) + data
            if isinstance(v, str)
            else self._wrapped(v)
            for v in values
        ]

    def _wrapped(self, value: Jsonb) -> bytes:
        # A wrapper (LangGraph's checkpoints): dumped as psycopg would, its own `dumps` and all.
        dumper = self._tx.get_dumper(value, PyFormat.BINARY)
        if dumper.oid != self.element_oid:
            raise TypeError(f"{type(value).__name__} is not jsonb")
        data = dumper.dump(value)
        if data is None:
            return _NULL
        return _LENGTH(len(data)) + bytes(data)


class _IntArrayDumper(_TypedArrayDumper):
    oid, element_oid = _oids("int4")

    def framed(self, values: list[int | None]) -> list[bytes]:
        return [_NULL if v is None else _INT4_LENGTH + _INT4(v) for v in values]


class _ByteaArrayDumper(_TypedArrayDumper):
    oid, element_oid = _oids("bytea")

    def framed(self, values: list[bytes | None]) -> list[bytes]:
        return [_NULL if v is None else _LENGTH(len(v)) + bytes(v) for v in values]


_DUMPERS: dict[type[TypedArray[Any]], type[Dumper]] = {
    UuidArray: _UuidArrayDumper,
    TextArray: _TextArrayDumper,
    JsonbArray: _JsonbArrayDumper,
    IntArray: _IntArrayDumper,
    ByteaArray: _ByteaArrayDumper,
}


def register_typed_arrays(adapters: AdaptersMap) -> None:
    """Dump the typed array classes with their own dumpers in this adaptation context."""
    for cls, dumper in _DUMPERS.items():
        adapters.register_dumper(cls, dumper)
