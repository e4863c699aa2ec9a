"""The chat settings panel: its widgets (currency, cabin, travellers) and the values a thread
may keep, so that a resumed thread shows and uses the settings it was left with."""

from __future__ import annotations

import math
from typing import Any

import chainlit as cl
from chainlit.input_widget import Select, Slider

CURRENCIES = ["EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD"]
CABINS = ["economy", "premium_economy", "business", "first"]
MOST_TRAVELLERS = 9
DEFAULTS: dict[str, Any] = {"currency": "EUR", "cabin": "economy", "travellers": 1}


def _travellers(value: Any) -> int | None:
    """A whole number of travellers the panel offers, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value != int(value):
        return None
    count = int(value)
    return count if 1 <= count <= MOST_TRAVELLERS else None


def valid_settings(stored: Any) -> dict[str, Any]:
    """The settings the panel offers, taken from `stored` (what the browser sent or a thread
    kept); anything else, or anything missing, is the default."""
    given = stored if isinstance(stored, dict) else {}
    travellers = _travellers(given.get("travellers"))
    return {
        "currency": given.get("currency") if given.get("currency") in CURRENCIES else "EUR",
        "cabin": given.get("cabin") if given.get("cabin") in CABINS else "economy",
        "travellers": travellers if travellers is not None else DEFAULTS["travellers"],
    }


def settings_panel(values: dict[str, Any]) -> cl.ChatSettings:
    """The panel's widgets, showing `values` (see `valid_settings`)."""
    return cl.ChatSettings(
        [
            Select(id="currency", label="Currency", values=CURRENCIES,
                   initial_value=values["currency"]),
            Select(id="cabin", label="Default cabin", values=CABINS,
                   initial_value=values["cabin"]),
            Slider(id="travellers", label="Travellers", initial=values["travellers"],
                   min=1, max=MOST_TRAVELLERS, step=1),
        ]
    )  # fmt: skip
