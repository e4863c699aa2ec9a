"""The currencies the product prices in, and the offline world's fixed reference rates from EUR."""

from __future__ import annotations

from decimal import Decimal

from tools.errors import InvalidSearch
from tools.money import quantize

# Reference rates (units per euro), fixed so the offline inventory stays deterministic.
EUR_RATES: dict[str, Decimal] = {
    "EUR": Decimal("1"),
    "USD": Decimal("1.08"),
    "GBP": Decimal("0.85"),
    "CHF": Decimal("0.95"),
    "JPY": Decimal("162"),
    "CAD": Decimal("1.47"),
    "AUD": Decimal("1.65"),
    "SEK": Decimal("11.4"),
    "NOK": Decimal("11.6"),
    "DKK": Decimal("7.46"),
    "PLN": Decimal("4.3"),
    "CZK": Decimal("25.1"),
    "INR": Decimal("90"),
    "SGD": Decimal("1.45"),
    "AED": Decimal("3.97"),
    "BRL": Decimal("5.9"),
    "MXN": Decimal("18.5"),
    "CNY": Decimal("7.8"),
    "HKD": Decimal("8.4"),
    "ZAR": Decimal("20"),
}


def supported(currency: str) -> str:
    """The currency code, upper-case, if the offline world can price in it."""
    code = currency.upper()
    if code not in EUR_RATES:
        known = ", ".join(sorted(EUR_RATES))
        raise InvalidSearch(f"I cannot price in {currency!r}; choose one of {known}.")
    return code


def from_eur(amount_eur: float | Decimal, currency: str) -> Decimal:
    """A euro amount in `currency`, rounded to its minor unit (none for JPY)."""
    code = supported(currency)
    return quantize(Decimal(str(amount_eur)) * EUR_RATES[code], code)
