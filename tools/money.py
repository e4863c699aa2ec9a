"""Money as travellers read it: amounts in their currency's minor units (ISO 4217 exponents:
none for JPY, three for BHD), written the way the configured locale writes money."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision

DEFAULT_LOCALE = "en_GB"
_configured = {"locale": DEFAULT_LOCALE}


class UnknownLocale(ValueError):
    """A locale name babel does not know; the message is one sentence."""


class InexactAmount(ValueError):
    """An amount finer than its currency's minor unit, which nobody can pay."""


def locale_named(name: str) -> str:
    """The locale's canonical name ("en-gb" -> "en_GB"), or UnknownLocale."""
    try:
        return str(Locale.parse(name.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        raise UnknownLocale(
            f"{name!r} is not a locale I know; use one like en_GB, de_DE or ja_JP."
        ) from None


def use_locale(name: str) -> None:
    """Make `name` the locale money is written in when a caller names none."""
    _configured["locale"] = locale_named(name)


def configured_locale() -> str:
    return _configured["locale"]


def minor_units(currency: str) -> int:
    """How many digits follow the decimal point in `currency` (ISO 4217 exponent; 2 if unknown)."""
    return int(get_currency_precision(currency.upper()))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded (half up) to the minor unit of `currency`: 16200 JPY, 12.30 EUR."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def exact(amount: Decimal, currency: str) -> Decimal:
    """A vendor's amount in the minor units of `currency`, refused (InexactAmount) when that
    would change it: a price is never rounded on the way to being paid."""
    quantized = quantize(amount, currency)
    if quantized != amount:
        raise InexactAmount(f"{amount} is finer than {currency.upper()}'s smallest unit")
    return quantized


def format_money(amount: Decimal, currency: str, locale: str | None = None) -> str:
    """`amount` of `currency` as `locale` (default: the configured one) writes it:
    "€1,234.50", "JP¥16,200", "BHD1.234"; in de_DE "1.234,50 €"."""
    code = currency.upper()
    return str(format_currency(quantize(amount, code), code, locale=locale or configured_locale()))
