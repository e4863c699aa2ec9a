"""The status life cycle, explored by hypothesis: code and database agree on every step."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from hypothesis.strategies import sampled_from

from db.models.enums import BookingStatus
from tests import factories
from tools.booking_status import InvalidTransition, check_transition

pytestmark = pytest.mark.integration


def test_status_changes_follow_the_life_cycle(owner: Any) -> None:
    tenant = factories.tenant(owner)
    user = factories.user(owner, tenant)

    class Lifecycle(RuleBasedStateMachine):
        """Random status changes on one booking; the code's verdict is the database's."""

        @initialize()
        def new_booking(self) -> None:
            self.status = BookingStatus.PENDING
            self.booking = factories.booking(
                owner, tenant, user, reference=factories._reference(), status="pending"
            )

        @rule(wanted=sampled_from(list(BookingStatus)))
        def move(self, wanted: BookingStatus) -> None:
            try:
                check_transition(self.status, wanted)
                allowed = True
            except InvalidTransition:
                allowed = False
            stamps = "confirmed_at = now(), cancelled_at = now()"
            try:
                owner.execute(
                    f"UPDATE bookings SET status = %s, {stamps} WHERE id = %s",
                    (wanted.value, self.booking),
                )
                refused_by = None
            except psycopg.errors.CheckViolation as error:
                refused_by = error.diag.constraint_name
            accepted = refused_by is None
            assert refused_by in (None, "ck_bookings_status_transition")
            if wanted is self.status:
                return  # staying put is no transition: the database lets it be
            assert accepted == allowed, f"{self.status} -> {wanted}"
            if accepted:
                self.status = wanted

    Lifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=8, deadline=None)
    run_state_machine_as_test(Lifecycle)
