"""Places travellers name: airports and cities, by IATA code or by name (typos forgiven)."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from math import asin, cos, radians, sin, sqrt
from zoneinfo import ZoneInfo

import airportsdata
from rapidfuzz import fuzz, process

from tools.errors import InvalidSearch

# IATA metropolitan-area codes: one code for every airport of a city. Only codes that are
# not also an airport's own code are listed, so a code always means one thing.
METRO_AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "LON": ("London", ("LHR", "LGW", "STN", "LTN", "LCY", "SEN")),
    "NYC": ("New York", ("JFK", "EWR", "LGA")),
    "PAR": ("Paris", ("CDG", "ORY")),
    "TYO": ("Tokyo", ("HND", "NRT")),
    "MIL": ("Milan", ("MXP", "LIN", "BGY")),
    "ROM": ("Rome", ("FCO", "CIA")),
    "CHI": ("Chicago", ("ORD", "MDW")),
    "WAS": ("Washington", ("IAD", "DCA", "BWI")),
    "MOW": ("Moscow", ("SVO", "DME", "VKO")),
    "STO": ("Stockholm", ("ARN", "BMA")),
    "BUE": ("Buenos Aires", ("EZE", "AEP")),
    "SAO": ("Sao Paulo", ("GRU", "CGH", "VCP")),
    "RIO": ("Rio de Janeiro", ("GIG", "SDU")),
    "YTO": ("Toronto", ("YYZ", "YTZ")),
    "SEL": ("Seoul", ("ICN", "GMP")),
    "OSA": ("Osaka", ("KIX", "ITM")),
    "BJS": ("Beijing", ("PEK", "PKX")),
    "JKT": ("Jakarta", ("CGK", "HLP")),
    "BER": ("Berlin", ("BER",)),
}

# City names travellers use -> the airport they mean, where the data alone gets it wrong: the
# main airport of cities with several (and no metro code), English names of cities the data
# spells locally (Sevilla, Venezia), and names a smaller town abroad shares (Florence, SC).
MAIN_AIRPORTS: dict[str, str] = {
    "seville": "SVQ",
    "venice": "VCE",
    "naples": "NAP",
    "florence": "FLR",
    "turin": "TRN",
    "genoa": "GOA",
    "gothenburg": "GOT",
    "bucharest": "OTP",
    "malta": "MLA",
    "bali": "DPS",
    "marrakesh": "RAK",
    "kyiv": "KBP",
    "kiev": "KBP",
    "cracow": "KRK",
    "belgrade": "BEG",
    "the hague": "RTM",
    "lisboa": "LIS",
    "munchen": "MUC",
    "wien": "VIE",
    "praha": "PRG",
    "warszawa": "WAW",
    "sevilla": "SVQ",
    "venezia": "VCE",
    "napoli": "NAP",
    "firenze": "FLR",
    "bangkok": "BKK",
    "dubai": "DXB",
    "istanbul": "IST",
    "shanghai": "PVG",
    "houston": "IAH",
    "dallas": "DFW",
    "sydney": "SYD",
    "melbourne": "MEL",
    "los angeles": "LAX",
    "montreal": "YUL",
    "kuala lumpur": "KUL",
    "taipei": "TPE",
}


@dataclass(frozen=True)
class Airport:
    code: str
    name: str
    city: str
    country: str
    latitude: float
    longitude: float
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return zone_info(self.timezone)


@dataclass(frozen=True)
class Place:
    """What a traveller meant: one airport, or a city with one or more airports."""

    code: str
    name: str
    airports: tuple[Airport, ...]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def country(self) -> str:
        return self.airports[0].country

    @property
    def latitude(self) -> float:
        return sum(a.latitude for a in self.airports) / len(self.airports)

    @property
    def longitude(self) -> float:
        return sum(a.longitude for a in self.airports) / len(self.airports)


_MINOR = (
    "aerodrome",
    "airfield",
    "heliport",
    "seaplane",
    "air base",
    "raf ",
    "airstrip",
    "army",
    "naval",
    "field",
    "strip",
    "glider",
    "private",
)


def one_city(origins: tuple[Airport, ...], destinations: tuple[Airport, ...]) -> str | None:
    """The city both ends share (NRT and HND: Tokyo), if they do: no flight joins them."""
    for origin in origins:
        for destination in destinations:
            if origin.city == destination.city:
                return origin.city
            for city, codes in METRO_AREAS.values():
                if origin.code in codes and destination.code in codes:
                    return city
    return None


def prominence(airport: Airport) -> int:
    """How likely an airport is the one travellers mean; the data has no traffic figures."""
    name = airport.name.casefold()
    score = 3 * ("international" in name) + (airport.city.casefold() in name)
    return score - 4 * any(word in name for word in _MINOR)


@cache
def zone_info(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _key(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a place name."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.casefold().replace("-", " ").split())


def distance_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Great-circle distance (haversine)."""
    dlat, dlon = radians(b_lat - a_lat), radians(b_lon - a_lon)
    h = sin(dlat / 2) ** 2 + cos(radians(a_lat)) * cos(radians(b_lat)) * sin(dlon / 2) ** 2
    return 2 * 6371.0 * asin(sqrt(h))


class Gazetteer:
    """Every airport with an IATA code (the `airportsdata` package) and the cities they serve."""

    def __init__(self) -> None:
        self.airports: dict[str, Airport] = {
            code: Airport(
                code=code,
                name=row["name"],
                city=row["city"] or row["name"],
                country=row["country"],
                latitude=float(row["lat"]),
                longitude=float(row["lon"]),
                timezone=row["tz"],
            )
            for code, row in airportsdata.load("IATA").items()
            if row["tz"]
        }
        self.cities: dict[str, Place] = {}
        self._by_name: dict[str, Place] = {}
        for code, (name, members) in METRO_AREAS.items():
            place = Place(code, name, tuple(self.airports[m] for m in members))
            self.cities[code] = place
            self._by_name[_key(name)] = place
        grouped: dict[str, list[Airport]] = defaultdict(list)
        for airport in self.airports.values():
            grouped[_key(airport.city)].append(airport)
        for name_key, airports in grouped.items():
            if name_key not in self._by_name and name_key not in MAIN_AIRPORTS:
                self._by_name[name_key] = self._city_of(airports)
        for name_key, code in MAIN_AIRPORTS.items():
            main = self.airports[code]
            self._by_name[name_key] = Place(main.code, name_key.title(), (main,))
        self._names = list(self._by_name)
        # Unknown names are looked up in every airport's name: normalise those names once.
        self._airport_names = [(f" {_key(a.name)} ", a) for a in self.airports.values()]

    @staticmethod
    def _city_of(airports: list[Airport]) -> Place:
        # A name shared across countries (Paris, France and Paris, Texas) means the country
        # whose airports look most significant; within it, the city means its main airport,
        # not every airstrip near it.
        by_country: dict[str, list[Airport]] = defaultdict(list)
        for airport in airports:
            by_country[airport.country].append(airport)
        chosen = max(by_country.values(), key=lambda group: sum(map(prominence, group)))
        main = max(chosen, key=lambda a: (prominence(a), -len(a.name), a.code))
        return Place(main.code, main.city, (main,))

    def airport(self, code: str) -> Airport:
        try:
            return self.airports[code.upper()]
        except KeyError:
            raise InvalidSearch(f"No airport has the code {code.upper()!r}.") from None

    def expand(self, code: str) -> tuple[Airport, ...]:
        """The airports a code covers: a metro code's members, or the airport itself."""
        code = code.upper()
        if code in self.cities:
            return self.cities[code].airports
        return (self.airport(code),)

    def resolve(self, text: str) -> Place:
        """The place a traveller means by `text`: an IATA code or a city or airport name."""
        cleaned = text.strip()
        if not cleaned:
            raise InvalidSearch("Tell me a city or an airport.")
        upper = cleaned.upper()
        if len(cleaned) == 3 and cleaned.isalpha():
            if upper in self.cities:
                return self.cities[upper]
            if upper in self.airports:
                airport = self.airports[upper]
                return Place(airport.code, airport.city, (airport,))
        key = _key(cleaned)
        found = self._by_name.get(key) or self._by_prefix(key) or self._by_airport_name(key)
        if found is not None:
            return found
        suggestions = self.suggest(cleaned)
        hint = f"; did you mean {suggestions[0]}?" if suggestions else "."
        raise InvalidSearch(f"No airport matches {cleaned!r}{hint}", suggestions=suggestions)

    def _by_prefix(self, key: str) -> Place | None:
        # "Frankfurt" for "Frankfurt am Main", "Delhi" for "New Delhi".
        candidates = [
            place
            for name, place in self._by_name.items()
            if name.startswith(key + " ") or name.endswith(" " + key)
        ]
        return max(candidates, key=self._significance, default=None)

    def _by_airport_name(self, key: str) -> Place | None:
        # "Heathrow", "Charles de Gaulle", "Schiphol".
        if len(key) < 4:
            return None
        padded = f" {key} "
        candidates = [
            Place(a.code, a.city, (a,)) for name, a in self._airport_names if padded in name
        ]
        return max(candidates, key=self._significance, default=None)

    def suggest(self, text: str, *, limit: int = 3) -> list[str]:
        """Labels of the places whose names are closest to `text`."""
        matches = process.extract(_key(text), self._names, scorer=fuzz.ratio, limit=limit * 4)
        labels: list[str] = []
        for name, score, _index in sorted(
            matches, key=lambda m: (-m[1], -self._significance(self._by_name[m[0]]))
        ):
            label = self._by_name[name].label
            if score >= 60 and label not in labels:
                labels.append(label)
        return labels[:limit]

    def _significance(self, place: Place) -> int:
        return 10 * (place.code in self.cities) + sum(map(prominence, place.airports))


@cache
def gazetteer() -> Gazetteer:
    """The shared gazetteer (loading it takes a few hundred milliseconds, once)."""
    return Gazetteer()
