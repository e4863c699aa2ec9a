"""Matching the travellers of a booking to the passengers a provider priced, kind by kind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from tools.errors import ProviderError
from tools.orders import Passenger

Kind = Literal["adult", "child", "infant"]
Slot = TypeVar("Slot")


def pair_travellers(
    slots: list[Slot], travellers: Sequence[Passenger], kind_of: Callable[[Slot], Kind]
) -> list[tuple[Slot, Passenger, int]]:
    """Each priced passenger with the next traveller of the same kind, and that traveller's
    position (from 1) in the booking, which is how a sentence may point at them."""
    wanted = Counter(kind_of(slot) for slot in slots)
    given: Counter[Kind] = Counter(traveller.kind for traveller in travellers)
    if wanted != given:
        raise ProviderError(
            f"This flight was priced for {describe_party(wanted)}, but the booking names"
            f" {describe_party(given)}; please search again for this party."
        )
    queues = {
        kind: [(t, n) for n, t in enumerate(travellers, start=1) if t.kind == kind]
        for kind in wanted
    }
    return [(slot, *queues[kind_of(slot)].pop(0)) for slot in slots]


def describe_party(counts: Counter[Kind]) -> str:
    names = {
        "adult": ("adult", "adults"),
        "child": ("child", "children"),
        "infant": ("infant", "infants"),
    }
    parts = [
        f"{counts[kind]} {names[kind][counts[kind] != 1]}"
        for kind in ("adult", "child", "infant")
        if counts[kind]
    ]
    return " and ".join(parts) or "nobody"
