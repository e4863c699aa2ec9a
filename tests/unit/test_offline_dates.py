"""The offline model's dates, against dateutil's calendar arithmetic from many reference days."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import FR, MO, SA, SU, TH, TU, WE, relativedelta
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent.offline.dates import find_dates

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAYS_OF_WEEK = (MO, TU, WE, TH, FR, SA, SU)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Month ends, 29 February, the year's end and plain days alike.
REFERENCE_DAYS = st.one_of(
    st.dates(min_value=date(2026, 1, 1), max_value=date(2032, 12, 31)),
    st.sampled_from(
        [date(2028, 2, 29), date(2027, 1, 31), date(2027, 12, 31), date(2028, 1, 31),
         date(2027, 3, 31), date(2027, 8, 31), date(2026, 12, 4)]
    ),
)  # fmt: skip


def expected_in(amount: int, unit: str, today: date) -> date:
    return today + relativedelta(**{f"{unit}s": amount})


def ordinal(day: int) -> str:
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


KINDS = ("in", "this", "next", "after_next", "on_the", "day_month", "after_tomorrow")


@given(
    kind=st.sampled_from(KINDS),
    today=REFERENCE_DAYS,
    amount=st.integers(min_value=1, max_value=12),
    unit=st.sampled_from(["day", "week", "month"]),
    weekday=st.integers(min_value=0, max_value=6),
    day=st.integers(min_value=1, max_value=28),
    month=st.integers(min_value=1, max_value=12),
)
@example(kind="in", today=date(2027, 1, 31), amount=1, unit="month", weekday=0, day=1, month=1)
@example(kind="next", today=date(2026, 12, 4), amount=1, unit="day", weekday=5, day=1, month=1)
@settings(max_examples=400, deadline=None)
def test_phrases_read_as_the_calendar_has_them(
    kind: str, today: date, amount: int, unit: str, weekday: int, day: int, month: int
) -> None:
    name, every = WEEKDAYS[weekday], DAYS_OF_WEEK[weekday]
    phrase, expected = {
        "in": (
            f"in {amount} {unit}{'s' if amount > 1 else ''}",
            expected_in(amount, unit, today),
        ),
        # The first one after today; "next": the one of the following week (Monday-Sunday).
        "this": (f"this {name}", today + relativedelta(days=1, weekday=every(+1))),
        "next": (
            f"next {name}",
            today + relativedelta(days=7 - today.weekday(), weekday=every(+1)),
        ),
        "after_next": (
            f"{name} after next",
            today + relativedelta(days=14 - today.weekday(), weekday=every(+1)),
        ),
        "on_the": (
            f"on the {ordinal(day)}",
            today + relativedelta(day=day)
            if today.day <= day
            else today + relativedelta(months=1, day=day),
        ),
        "day_month": (
            f"{day} {MONTHS[month - 1]}",
            date(today.year, month, day)
            if date(today.year, month, day) >= today
            else date(today.year + 1, month, day),
        ),
        "after_tomorrow": ("the day after tomorrow", today + timedelta(days=2)),
    }[kind]

    found = find_dates(f"flights to lisbon {phrase} please", today)

    assert [f.day for f in found] == [expected], phrase
