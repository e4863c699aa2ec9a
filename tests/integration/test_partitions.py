"""Monthly partitions: made ahead at migration time, and no write is ever lost."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from db.maintenance import month_start
from db.models import PARTITIONED_TABLES
from tests import factories

pytestmark = pytest.mark.integration


def _partitions(owner: Any, parent: str) -> set[str]:
    return {
        row[0]
        for row in owner.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
            (parent,),
        )
    }


@pytest.mark.parametrize("parent", PARTITIONED_TABLES)
def test_current_month_and_three_ahead_exist_with_a_default(owner: Any, parent: str) -> None:
    expected = {f"{parent}_default"} | {
        f"{parent}_y{month:%Y}m{month:%m}"
        for month in (month_start(date.today(), ahead) for ahead in range(4))
    }
    assert expected <= _partitions(owner, parent)


def test_a_message_in_a_month_without_partition_lands_in_default(owner: Any) -> None:
    ids = factories.full_tenant(owner)
    far = datetime(2031, 6, 15, 12, 0, tzinfo=UTC)
    message_id = factories.chat_message(
        owner, ids["tenant_id"], ids["chat_sessions"], created_at=far
    )
    where = owner.execute(
        "SELECT tableoid::regclass::text FROM chat_messages WHERE id = %s", (message_id,)
    ).fetchone()
    assert where == ("chat_messages_default",)


def test_making_a_partition_moves_its_rows_out_of_default(owner: Any) -> None:
    ids = factories.full_tenant(owner)
    session = ids["chat_sessions"]
    far = datetime(2031, 6, 15, 12, 0, tzinfo=UTC)
    stray = factories.chat_message(owner, ids["tenant_id"], session, created_at=far)
    (count_before,) = owner.execute(
        "SELECT message_count FROM chat_sessions WHERE id = %s", (session,)
    ).fetchone()

    made = owner.execute(
        "SELECT ensure_monthly_partition('chat_messages', DATE '2031-06-01')"
    ).fetchone()
    assert made == ("chat_messages_y2031m06",)
    where = owner.execute(
        "SELECT tableoid::regclass::text FROM chat_messages WHERE id = %s", (stray,)
    ).fetchone()
    assert where == ("chat_messages_y2031m06",)
    assert owner.execute(
        "SELECT message_count FROM chat_sessions WHERE id = %s", (session,)
    ).fetchone() == (count_before,)
    # Asking again is a no-op.
    assert owner.execute(
        "SELECT ensure_monthly_partition('chat_messages', DATE '2031-06-20')"
    ).fetchone() == (None,)
