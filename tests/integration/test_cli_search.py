"""`travelhub search` from a terminal: tables, JSON, tiers, and bad input as one sentence."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.integration.test_cli import environment, run
from tools.money import format_money

pytestmark = pytest.mark.integration

SOON = (date.today() + timedelta(days=40)).isoformat()
LATER = (date.today() + timedelta(days=44)).isoformat()


def test_flights_as_json_then_from_the_cache(database: str) -> None:
    env = environment(DATABASE_URL=database, REDIS_URL=None)
    first = run("search", "flights", "London", "lis", SOON, "--json", env=env)
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert set(document) == {"tier", "latency_ms", "offers"}
    assert document["tier"] == "provider"
    assert isinstance(document["latency_ms"], float)
    assert document["offers"]
    prices = [float(offer["total_price"]) for offer in document["offers"]]
    assert prices == sorted(prices)
    assert {offer["journeys"][0]["segments"][0]["origin"] for offer in document["offers"]} <= {
        "LHR", "LGW", "STN", "LTN", "LCY", "SEN",
    }  # fmt: skip
    again = json.loads(run("search", "flights", "LON", "LIS", SOON, "--json", env=env).stdout)
    assert again["tier"] == "db"
    assert again["offers"] == document["offers"]


def test_flights_table(database: str) -> None:
    env = environment(DATABASE_URL=database, REDIS_URL=None, COLUMNS="160")
    result = run(
        "search", "flights", "Paris", "New York", SOON, "--return", LATER, "--adults", "2",
        "--cabin", "business", "--currency", "usd", "--limit", "3", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Flights PAR -> NYC" in result.stdout
    assert "served from provider in" in result.stdout
    cached = run(
        "search", "flights", "PAR", "NYC", SOON, "--return", LATER, "--adults", "2",
        "--cabin", "business", "--currency", "USD", "--json", env=env,
    )  # fmt: skip
    cheapest = json.loads(cached.stdout)["offers"][0]
    assert cheapest["currency"] == "USD"
    # The locale's way (en_GB by default): "US$1,234.50".
    assert format_money(Decimal(cheapest["total_price"]), "USD") in result.stdout
    assert re.search(r"US\$\d{1,3}(,\d{3})*\.\d\d\b", result.stdout)


def test_yen_have_no_decimals(database: str) -> None:
    env = environment(DATABASE_URL=database, REDIS_URL=None, COLUMNS="160")
    table = run("search", "flights", "Tokyo", "Osaka", SOON, "--currency", "jpy", env=env)
    assert table.returncode == 0, table.stderr
    prices = re.findall(r"JP¥[\d,]+(?:\.\d+)?", table.stdout)
    assert prices
    assert all("." not in price for price in prices), prices
    document = json.loads(
        run("search", "flights", "TYO", "OSA", SOON, "--currency", "JPY", "--json", env=env).stdout
    )
    assert all(re.fullmatch(r"\d+", offer["total_price"]) for offer in document["offers"])


def test_hotel_prices_follow_the_locale_setting(database: str) -> None:
    env = environment(
        DATABASE_URL=database, REDIS_URL=None, COLUMNS="200", TRAVELHUB_LOCALE="de_DE"
    )
    table = run("search", "hotels", "Lisbon", SOON, LATER, "--limit", "3", env=env)
    assert table.returncode == 0, table.stderr
    cached = run("search", "hotels", "LIS", SOON, LATER, "--json", env=env)
    first = json.loads(cached.stdout)["offers"][0]
    night, total = Decimal(first["nightly_price"]), Decimal(first["total_price"])
    assert format_money(night, "EUR", "de_DE") in table.stdout  # "123,45 €"
    assert format_money(total, "EUR", "de_DE") in table.stdout
    assert format_money(total, "EUR", "de_DE") != format_money(total, "EUR", "en_GB")


def test_an_unknown_locale_is_one_sentence(database: str) -> None:
    env = environment(DATABASE_URL=database, REDIS_URL=None, TRAVELHUB_LOCALE="xx_YY")
    result = run("search", "flights", "LON", "LIS", SOON, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "travelhub: TRAVELHUB_LOCALE: 'xx_YY' is not a locale I know; use one like en_GB,"
        " de_DE or ja_JP."
    )


def test_hotels_json(database: str) -> None:
    env = environment(DATABASE_URL=database, REDIS_URL=None)
    result = run(
        "search", "hotels", "Lisbon", SOON, LATER, "--guests", "2", "--stars", "4", "--json",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["tier"] == "provider"
    assert document["offers"]
    assert all(offer["stars"] >= 4 for offer in document["offers"])
    assert all(offer["city"] == "Lisbon" for offer in document["offers"])


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            ["flights", "Lodnon", "LIS", SOON],
            "No airport matches 'Lodnon'; did you mean London (LON)?",
        ),
        (["flights", "LON", "LIS", "2020-01-01"], "The departure date 01 Jan 2020 is in the past."),
        (["flights", "LON", "LIS", "next friday"], "is not a date; write it as YYYY-MM-DD"),
        (["flights", "LON", "LIS", LATER, "--return", SOON], "is before the departure date"),
        (
            ["flights", "LON", "LIS", SOON, "--adults", "10"],
            "at most 9 travellers at once, not 10.",
        ),
        (["flights", "LON", "LIS", SOON, "--infants", "2"], "2 infants need 2 adults."),
        (["flights", "LON", "LIS", SOON, "--adults", "0"], "at least one traveller."),
        (["hotels", "Paris", LATER, SOON], "must be after the check-in date"),
        (["hotels", "Paris", SOON, SOON], "must be after the check-in date"),
        (["hotels", "Paris", SOON, LATER, "--guests", "0"], "1 to 9 guests."),
        (["flights", "LON", "LIS", SOON, "--currency", "XYZ"], "I cannot price in 'XYZ'"),
        (["flights", "NRT", "HND", SOON], "NRT and HND are both in Tokyo; no flight joins them."),
    ],
)
def test_bad_input_is_one_sentence(database: str, args: list[str], sentence: str) -> None:
    result = run("search", *args, env=environment(DATABASE_URL=database, REDIS_URL=None))
    assert result.returncode == 1
    assert sentence in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
