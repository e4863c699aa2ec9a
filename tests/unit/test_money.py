"""Money in each currency's minor units, written as the locale writes it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import get_currency_symbol, get_decimal_symbol, parse_decimal
from hypothesis import given
from hypothesis import strategies as st

from tools.money import (
    InexactAmount,
    UnknownLocale,
    configured_locale,
    exact,
    format_money,
    locale_named,
    minor_units,
    quantize,
    use_locale,
)

CURRENCIES = {"JPY": 0, "EUR": 2, "USD": 2, "GBP": 2, "BHD": 3, "KWD": 3}
LOCALES = ("en_GB", "de_DE", "fr_FR", "ja_JP", "en_US")


def in_minor_units(currency: str) -> st.SearchStrategy[Decimal]:
    """Amounts already in `currency`'s minor units, up to ten million."""
    places = CURRENCIES[currency]
    return st.integers(min_value=0, max_value=10**7 * 10**places).map(
        lambda units: Decimal(units).scaleb(-places)
    )


def amounts() -> st.SearchStrategy[tuple[str, Decimal]]:
    return st.sampled_from(sorted(CURRENCIES)).flatmap(
        lambda code: st.tuples(st.just(code), in_minor_units(code))
    )


def test_minor_units_are_the_iso_4217_exponents() -> None:
    assert {code: minor_units(code) for code in CURRENCIES} == CURRENCIES
    assert minor_units("jpy") == 0


def test_quantize_rounds_half_up_to_the_minor_unit() -> None:
    assert str(quantize(Decimal("16200.00"), "JPY")) == "16200"
    assert str(quantize(Decimal("16200.5"), "JPY")) == "16201"
    assert str(quantize(Decimal("12.345"), "EUR")) == "12.35"
    assert str(quantize(Decimal("12.3"), "EUR")) == "12.30"
    assert str(quantize(Decimal("1.2345"), "BHD")) == "1.235"


@given(amounts())
def test_quantize_never_changes_an_amount_in_minor_units(found: tuple[str, Decimal]) -> None:
    currency, amount = found
    assert quantize(amount, currency) == amount
    assert exact(amount, currency) == amount


def test_a_vendor_amount_finer_than_the_unit_is_refused_not_rounded() -> None:
    assert str(exact(Decimal("16200.00"), "JPY")) == "16200"
    with pytest.raises(InexactAmount, match=r"16200\.5 is finer than JPY's smallest unit"):
        exact(Decimal("16200.5"), "JPY")


def test_each_currency_keeps_its_own_decimals() -> None:
    assert format_money(Decimal("16200.00"), "JPY", "en_GB") == "JP¥16,200"
    assert format_money(Decimal("1234.5"), "EUR", "en_GB") == "€1,234.50"
    assert format_money(Decimal("1.2345"), "BHD", "en_GB") == "BHD1.235"
    assert format_money(Decimal("1234.5"), "EUR", "de_DE") == "1.234,50\xa0€"


@given(amounts(), st.sampled_from(LOCALES))
def test_formatted_money_reads_back_as_the_same_amount(
    found: tuple[str, Decimal], locale: str
) -> None:
    currency, amount = found
    written = format_money(amount, currency, locale)
    number = written.replace(get_currency_symbol(currency, locale), "").strip("\xa0 ")
    _whole, _point, decimals = number.partition(get_decimal_symbol(locale))
    assert len(decimals) == CURRENCIES[currency], written  # JPY none, EUR two, BHD three
    assert parse_decimal(number, locale=locale, strict=True) == amount


def test_the_configured_locale_is_the_default() -> None:
    before = configured_locale()
    try:
        use_locale("de-de")
        assert configured_locale() == "de_DE"
        assert format_money(Decimal("5"), "EUR") == "5,00\xa0€"
    finally:
        use_locale(before)
    assert format_money(Decimal("5"), "EUR") == format_money(Decimal("5"), "EUR", before)


def test_an_unknown_locale_is_one_sentence() -> None:
    assert locale_named("ja-JP") == "ja_JP"
    with pytest.raises(UnknownLocale, match=r"^'xx_YY' is not a locale I know; use one like"):
        locale_named("xx_YY")
