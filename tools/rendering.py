"""Offers and bookings as a traveller reads them in the chat: compact Markdown."""

from __future__ import annotations

from decimal import Decimal

from tools.cancellation import Cancellation
from tools.itinerary import BookingSummary
from tools.money import format_money
from tools.offers import FlightOffer, HotelOffer, Offer

SHOWN = 5


def duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}"


def _line(text: str) -> str:
    """Text kept on its one Markdown line (a name from a provider may hold a line break)."""
    return " ".join(text.split())


def flight_list(offers: list[FlightOffer], *, shown: int = SHOWN) -> str:
    """The offers shown, one numbered line each: the model reads them, the cards show them."""
    lines = []
    for number, offer in enumerate(offers[:shown], start=1):
        legs = "; back ".join(
            f"{j.departure:%a %d %b %H:%M} {j.origin} -> {j.destination} {j.arrival:%H:%M}"
            f" ({'direct' if j.stops == 0 else f'{j.stops} stop'}, {duration(j.duration_minutes)})"
            for j in offer.journeys
        )
        price = format_money(offer.total_price, offer.currency)
        lines.append(f"{number}. {price}: {legs}, {_line(offer.carriers)}")
    return "\n".join(lines)


def hotel_list(offers: list[HotelOffer], *, shown: int = SHOWN) -> str:
    """The offers shown, one numbered line each: the model reads them, the cards show them."""
    lines = []
    for number, offer in enumerate(offers[:shown], start=1):
        cancel = offer.free_cancellation_until
        lines.append(
            f"{number}. {_line(offer.name)} ({'★' * (offer.stars or 0) or 'unrated'},"
            f" {offer.distance_km} km from the centre), {_line(offer.room_type)},"
            f" {offer.board.value.replace('_', ' ')}:"
            f" {format_money(offer.nightly_price, offer.currency)} a night,"
            f" {format_money(offer.total_price, offer.currency)} in all,"
            f" {f'free cancellation until {cancel:%d %b}' if cancel else 'non-refundable'}"
        )
    return "\n".join(lines)


def offer_line(offer: Offer) -> str:
    """One offer in one line, for confirmations."""
    if isinstance(offer, FlightOffer):
        legs = "; ".join(
            f"{j.origin} {j.departure:%a %d %b %H:%M} -> {j.destination} {j.arrival:%H:%M}"
            f" ({'direct' if j.stops == 0 else f'{j.stops} stop'}, {duration(j.duration_minutes)})"
            for j in offer.journeys
        )
        conditions = offer.conditions
        terms = (
            "refundable"
            + (f" less a {format_money(conditions.cancellation_fee, offer.currency)} fee"
               if conditions.cancellation_fee else "")
            if conditions.refundable
            else "non-refundable"
        )  # fmt: skip
        return (
            f"Flight {legs}, {offer.carriers}, {offer.cabin.value.replace('_', ' ')},"
            f" {offer.passengers} passenger(s): {format_money(offer.total_price, offer.currency)}"
            f" ({terms})"
        )
    cancel = offer.free_cancellation_until
    terms = f"free cancellation until {cancel:%d %b %H:%M}" if cancel else "non-refundable"
    return (
        f"{offer.name} ({offer.city}), {offer.check_in:%a %d %b} -> {offer.check_out:%a %d %b},"
        f" {offer.nights} night(s), {offer.room_type}, {offer.board.value.replace('_', ' ')}:"
        f" {format_money(offer.total_price, offer.currency)} ({terms})"
    )


def booking_question(offers: list[Offer], traveller: str) -> str:
    total = sum((offer.total_price for offer in offers), Decimal(0))
    lines = [f"- {offer_line(offer)}" for offer in offers]
    return "\n".join(
        [
            f"Please confirm this booking for {traveller}:",
            *lines,
            f"Total: **{format_money(total, offers[0].currency)}**. Shall I book it? (yes / no)",
        ]
    )


def itinerary(summary: BookingSummary) -> str:
    lines = [f"**Booking {summary.reference}** ({summary.status_words})"]
    for item in summary.items:
        lines.append(f"- **{item.title}** ({format_money(item.amount, item.currency)})")
        lines.extend(f"  - {line}" for line in item.lines)
    lines.append("")  # ends the list: the total is a paragraph of its own
    lines.append(f"Total: {format_money(summary.total_amount, summary.currency)}")
    if summary.refund_amount is not None:
        lines.append(f"Refunded: {format_money(summary.refund_amount, summary.currency)}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text inside a Markdown table cell: a "|" in it (a hotel's name) is not a column."""
    return _line(text).replace("\\", "\\\\").replace("|", "\\|")


def bookings_table(summaries: list[BookingSummary]) -> str:
    if not summaries:
        return "You have no bookings yet."
    rows = ["| Reference | Status | What | Total |", "|---|---|---|---|"]
    for summary in summaries:
        what = _cell(" + ".join(item.title for item in summary.items) or "-")
        rows.append(
            f"| {summary.reference} | {summary.status_words} | {what}"
            f" | {format_money(summary.total_amount, summary.currency)} |"
        )
    return "\n".join(rows)


def cancellation_question(summary: BookingSummary) -> str:
    return "\n".join(
        [
            f"Please confirm you want to cancel booking {summary.reference}:",
            *(f"- {item.title}: {'; '.join(item.lines)}" for item in summary.items),
            "Refunds follow each fare's and rate's conditions. Cancel it? (yes / no)",
        ]
    )


def cancelled(result: Cancellation) -> str:
    return result.message()
