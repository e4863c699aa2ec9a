"""Fixtures of the fault tests: a PostgreSQL cluster they may restart, a Redis they may stop,
and a Duffel they may make misbehave; the shared server's fixtures serve the rest."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from db import migrate
from tests.faults.cluster import PrivateCluster
from tests.support.duffel_stub import DuffelStub
from tests.support.redis_server import RedisServer

TEMPLATE = "th_faults_template"


@pytest.fixture(scope="session")
def cluster() -> Iterator[PrivateCluster]:
    """A cluster of this run's own, with a migrated template database to copy."""
    private = PrivateCluster()
    try:
        private.start()
        migrate.upgrade(private.create_database(TEMPLATE))
        yield private
    finally:
        private.remove()


@pytest.fixture
def cluster_database(cluster: PrivateCluster) -> str:
    """Owner URL of a freshly migrated database on the private cluster."""
    return cluster.create_database(f"th_faults_{uuid.uuid4().hex[:12]}", template=TEMPLATE)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def duffel() -> Iterator[DuffelStub]:
    stub = DuffelStub()
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()
