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


def flight_table(offers: list[FlightOffer], *, shown: int = SHOWN) -> str:
    rows = [
        "| # | Price | Departs | Arrives | Route | Stops | Time | Airline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for number, offer in enumerate(offers[:shown], start=1):
        going = offer.journeys[0]
        route = " / ".join(
            "-".join([j.origin, *(s.destination for s in j.segments)]) for j in offer.journeys
        )
        stops = "direct" if offer.stops == 0 else f"{offer.stops} stop"
        rows.append(
            f"| {number} | {format_money(offer.total_price, offer.currency)}"
            f" | {going.departure:%a %d %b %H:%M}"
            f" | {going.arrival:%H:%M} | {route} | {stops} | {duration(going.duration_minutes)}"
            f" | {offer.carriers} |"
        )
    return "\n".join(rows)


def hotel_table(offers: list[HotelOffer], *, shown: int = SHOWN) -> str:
    rows = [
        "| # | Hotel | Stars | Centre | Room | Board | Per night | Total | Free cancellation |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for number, offer in enumerate(offers[:shown], start=1):
        cancel = offer.free_cancellation_until
        rows.append(
            f"| {number} | {offer.name} | {'★' * (offer.stars or 0)} | {offer.distance_km} km"
            f" | {offer.room_type} | {offer.board.value.replace('_', ' ')}"
            f" | {format_money(offer.nightly_price, offer.currency)}"
            f" | {format_money(offer.total_price, offer.currency)}"
            f" | {f'until {cancel:%d %b}' if cancel else 'no'} |"
        )
    return "\n".join(rows)


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


def bookings_table(summaries: list[BookingSummary]) -> str:
    if not summaries:
        return "You have no bookings yet."
    rows = ["| Reference | Status | What | Total |", "|---|---|---|---|"]
    for summary in summaries:
        what = " + ".join(item.title for item in summary.items) or "-"
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
