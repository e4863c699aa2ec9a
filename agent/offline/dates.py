"""Dates as travellers write them: "tomorrow", "next Friday", "15 Jan", "in two weeks"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import FR, MO, SA, SU, TH, TU, WE, relativedelta

MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")],
        start=1,
    )
    for name in names
}  # fmt: skip
WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
         ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
         ("sunday", "sun")]
    )
    for name in names
}  # fmt: skip
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14,
    "a couple of": 2, "couple of": 2,
}  # fmt: skip
_NUMBER = (
    r"(\d{1,2}|a couple of|couple of|an?|one|two|three|four|five|six|seven|eight|nine|ten"
    r"|eleven|twelve|fourteen)"
)
_MONTH = r"(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")"
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"


@dataclass(frozen=True)
class Found:
    """A date found in a text, with where it was."""

    day: date
    start: int
    end: int


def number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word]


def _future(month: int, day: int, today: date, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year if year > 100 else 2000 + year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


_DAYS_OF_WEEK = (MO, TU, WE, TH, FR, SA, SU)


def coming(name: str, today: date) -> date:
    """ "Saturday", "on Saturday", "this Saturday": the first one after today."""
    return today + relativedelta(days=1, weekday=_DAYS_OF_WEEK[WEEKDAYS[name]](+1))


def of_next_week(name: str, today: date) -> date:
    """ "next Saturday": the Saturday of the following week (Monday to Sunday)."""
    return today + relativedelta(days=7 - today.weekday(), weekday=_DAYS_OF_WEEK[WEEKDAYS[name]])


PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), "iso"),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b"), "slashed"),
    (re.compile(rf"\b{_ORDINAL}\s+(?:of\s+)?{_MONTH}(?:,?\s+(\d{{4}}))?\b"), "day_month"),
    (re.compile(rf"\b{_MONTH}\s+{_ORDINAL}(?:,?\s+(\d{{4}}))?\b"), "month_day"),
    (re.compile(r"\bday after tomorrow\b"), "after_tomorrow"),
    (re.compile(r"\btomorrow\b"), "tomorrow"),
    (re.compile(r"\b(?:today|tonight)\b"), "today"),
    (re.compile(rf"\bin\s+{_NUMBER}\s+(day|week|month)s?\b"), "in"),
    (re.compile(r"\bnext week\b"), "next_week"),
    (re.compile(r"\bthis weekend\b|\bthe weekend\b|\bnext weekend\b"), "weekend"),
    (re.compile(rf"\b{_WEEKDAY}\s+after\s+next\b"), "weekday_after_next"),
    (re.compile(rf"\b(next|this|on|coming)?\s*{_WEEKDAY}\b"), "weekday"),
    (re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b"), "the_nth"),
]


def find_dates(text: str, today: date) -> list[Found]:
    """Every date in `text`, in order of appearance (lower-case text expected)."""
    taken: list[tuple[int, int]] = []
    found: list[Found] = []
    for pattern, kind in PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            day = _interpret(kind, match, today)
            if day is not None:
                taken.append((match.start(), match.end()))
                found.append(Found(day, match.start(), match.end()))
    return sorted(found, key=lambda f: f.start)


def _interpret(kind: str, match: re.Match[str], today: date) -> date | None:
    groups = match.groups()
    if kind == "iso":
        try:
            return date(int(groups[0]), int(groups[1]), int(groups[2]))
        except ValueError:
            return None
    if kind == "slashed":  # day first, as most of the world writes it
        year = int(groups[2]) if groups[2] else None
        return _future(int(groups[1]), int(groups[0]), today, year)
    if kind == "day_month":
        return _future(
            MONTHS[groups[1]], int(groups[0]), today, int(groups[2]) if groups[2] else None
        )
    if kind == "month_day":
        return _future(
            MONTHS[groups[0]], int(groups[1]), today, int(groups[2]) if groups[2] else None
        )
    if kind == "after_tomorrow":
        return today + timedelta(days=2)
    if kind == "tomorrow":
        return today + timedelta(days=1)
    if kind == "today":
        return today
    if kind == "in":
        amount, unit = number(groups[0]), groups[1]
        if unit == "month":  # the same day of the month, clipped to its end (31 Jan: 28 Feb)
            return today + relativedelta(months=amount)
        return today + timedelta(days=amount * (7 if unit == "week" else 1))
    if kind == "next_week":
        return today + timedelta(days=7 - today.weekday())
    if kind == "weekend":
        if match.group(0).startswith("next"):
            return of_next_week("saturday", today)
        return coming("saturday", today)
    if kind == "weekday_after_next":
        return of_next_week(groups[0], today) + timedelta(days=7)
    if kind == "weekday":
        qualifier = groups[0]
        if qualifier is None and match.group(0).strip() in ("sat", "sun", "mon", "wed"):
            return None  # too short to trust without "on"/"next"
        return of_next_week(groups[1], today) if qualifier == "next" else coming(groups[1], today)
    if kind == "the_nth":
        day = int(groups[0])
        for months_ahead in range(0, 3):
            month_index = today.month - 1 + months_ahead
            candidate = _future(month_index % 12 + 1, day, today, today.year + month_index // 12)
            if candidate is not None and candidate >= today:
                return candidate
    return None


_STAY = re.compile(rf"\b{_NUMBER}\s+(night|day|week)s?\b")


def stay_length(text: str) -> int | None:
    """Nights of a stay or days of a trip: "for 3 nights", "a week", "5 days"."""
    for match in _STAY.finditer(text):
        if text[: match.start()].endswith("in "):
            continue  # "in two weeks" is when, not how long
        amount, unit = number(match.group(1)), match.group(2)
        return amount * 7 if unit == "week" else amount
    return None
