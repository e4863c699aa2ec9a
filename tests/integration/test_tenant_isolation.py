"""Randomised isolation: many tenants, many rows of every kind, zero cross-tenant reads."""

from __future__ import annotations

import random
from typing import Any

import pytest
from psycopg import sql

from db.models import TENANT_SCOPED_TABLES
from tests import factories

pytestmark = pytest.mark.integration


def test_many_tenants_never_see_each_others_rows(owner: Any, app_connection: Any) -> None:
    chance = random.Random(20261128)
    tenants = [factories.tenant(owner) for _ in range(12)]
    owned: dict[str, dict[Any, set[Any]]] = {table: {} for table in TENANT_SCOPED_TABLES}
    for _ in range(40):
        tenant = chance.choice(tenants)
        ids = factories.full_tenant_rows(owner, tenant)
        for table, row_id in ids.items():
            owned[table].setdefault(tenant, set()).add(row_id)
    for tenant in tenants:
        with app_connection.transaction():
            app_connection.execute(
                "SELECT set_config('app.current_tenant_id', %s, true)", (str(tenant),)
            )
            for table in TENANT_SCOPED_TABLES:
                seen = {
                    row[0]
                    for row in app_connection.execute(
                        sql.SQL("SELECT id FROM {}").format(sql.Identifier(table))
                    )
                }
                assert seen == owned[table].get(tenant, set()), (table, tenant)
